"""The TensorFlow half that runs benchmarks: planning -> pipeline (train, tune, evaluate, record).

planning.py     RunOptions and the Plan resolved from a spec, before any TensorFlow work
pipeline.py     `tfmeta run` as named steps: data, method, training, tuning, evaluation, record
building.py     the run's data and its compiled method, built alike by a run and `tfmeta verify`
training.py     `model.fit` with resume, curves and checkpoints
evaluation.py   test sets, test-time tuning on validation classes, batched evaluation
inner_curves.py the inner-loop analysis of a trained learner: curves against standard optimizers
recording.py    the record of a run
verification.py same/different pair metrics
weights_store.py trained weights by sha256 outside a checkout: the cache, downloads (`tfmeta verify`)
sweep.py        many runs as Ray tasks
freeze.py       frozen episode files from class lists alone
optimizer_track/  meta-training and evaluation of learned optimizers
"""

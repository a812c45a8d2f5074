"""`tfmeta speed`: where the time goes, measured apart from the run pipeline it times.

speed.py            input pipeline, training step and evaluation of every method
fair_speed.py       tfmeta's ProtoNet training step against a plain PyTorch reference, in turns
torch_reference.py  that reference step in PyTorch (`tfmeta[compare]`; nothing else imports torch)
optimizer_speed.py  the LSTM optimizer in a user's own `model.fit`, against Adam
performance.py      the timings as one markdown page (`tfmeta speed --output`, docs/performance.md)
"""

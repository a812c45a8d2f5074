"""The parsing and validation of what a user asks for: benchmark specs, sweeps and optimizer-track specs.

specs.py            benchmark specs: YAML files validated against `benchmark.schema.json`, file:line errors
sweeps.py           sweeps: benchmarks, method variants, settings and seeds, expanded into runs
optimizer_specs.py  optimizer-track specs in `benchmarks/optimizers/`

Like `tfmeta.records`, it imports no TensorFlow, Keras or tensorflow-datasets; it reads the schemas and the
shipped benchmark folders through `tfmeta.records`, whose submission checks read specs in turn.
"""

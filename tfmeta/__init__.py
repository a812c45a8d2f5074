"""tfmeta: a benchmark suite and leaderboard for meta-learning in Keras 3.

Importing the package is cheap: TensorFlow is only imported by the modules that need it. The import
registers tfmeta's Keras classes (`LSTMOptimizer`) with Keras serialization once Keras is loaded, so that
a saved `.keras` model using them loads after `import tfmeta` alone (`tfmeta.registration`).
"""

__version__ = "0.1.0"

from tfmeta import registration as _registration  # noqa: E402

_registration.install()

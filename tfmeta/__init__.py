"""tfmeta: a benchmark suite and leaderboard for meta-learning in Keras 3.

Importing the package is cheap: TensorFlow is only imported by the modules that need it.
"""

__version__ = "0.1.0"

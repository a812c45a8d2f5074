"""Optimizers of the learned-optimizer track, by name: the LSTM optimizer and the standard baselines.

Importing this package imports TensorFlow and Keras.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from tfmeta.core.registries import BASELINES
from tfmeta.optimizers.coordinatewise import CoordinatewiseLSTM
from tfmeta.optimizers.lstm_optimizer import LSTMOptimizer, pretrained_path

__all__ = ["BASELINES", "CoordinatewiseLSTM", "LSTMOptimizer", "OPTIMIZERS", "get", "pretrained_path"]

OPTIMIZERS: dict[str, Callable[..., keras.optimizers.Optimizer]] = {
    "sgd": lambda learning_rate=0.01, **kw: keras.optimizers.SGD(learning_rate, **kw),
    "momentum": lambda learning_rate=0.01, **kw: keras.optimizers.SGD(learning_rate, momentum=0.9, **kw),
    "nag": lambda learning_rate=0.01, **kw: keras.optimizers.SGD(
        learning_rate, momentum=0.9, nesterov=True, **kw
    ),
    "adam": lambda learning_rate=0.001, **kw: keras.optimizers.Adam(learning_rate, **kw),
    "rmsprop": lambda learning_rate=0.001, **kw: keras.optimizers.RMSprop(learning_rate, **kw),
    "adagrad": lambda learning_rate=0.01, **kw: keras.optimizers.Adagrad(learning_rate, **kw),
    "lstm": lambda learning_rate=1.0, **kw: LSTMOptimizer(learning_rate, **kw),
}


def get(name: str, **kwargs) -> keras.optimizers.Optimizer:
    """A new optimizer registered as `name`, built with `kwargs` (`learning_rate`, ...).

    Raises:
        KeyError: naming the valid optimizers.
    """
    if name not in OPTIMIZERS:
        raise KeyError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](**kwargs)

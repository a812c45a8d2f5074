"""Feature extractors shared by the few-shot methods."""

from __future__ import annotations

import keras


def conv4(filters: int = 64, name: str = "conv4", normalization=None) -> keras.Sequential:
    """The Conv-4 embedding of Vinyals et al. 2016 (arXiv 1606.04080) used by most few-shot papers.

    Four blocks of [3x3 convolution with `filters` channels, batch norm, ReLU, 2x2 max-pool], flattened:
    a 64-d output on 28x28 inputs and 1,600-d on 84x84 with 64 filters.

    Args:
        filters: channels of every convolution. Defaults to 64 (MAML and the meta-learner LSTM use 32 on
            miniImageNet).
        name: the model's name. Defaults to "conv4".
        normalization: a callable returning the normalisation layer of each block. Defaults to None,
            `keras.layers.BatchNormalization`.
    """
    normalization = normalization or keras.layers.BatchNormalization
    layers = []
    for _ in range(4):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same"),
            normalization(),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
        ]
    return keras.Sequential([*layers, keras.layers.Flatten()], name=name)


BACKBONES = {"conv4": conv4}

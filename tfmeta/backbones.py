"""Feature extractors shared by the few-shot methods: Conv-4, the Koch net, the relation embedding, and
the episode batch normalisation of the optimization-based learners."""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf


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


def koch_net(filters: int = 64, name: str = "koch") -> keras.Sequential:
    """The deeper twin of Koch et al. 2015, with 'same' padding so that it fits 28x28 inputs.

    Convolutions of 64@10x10, 128@7x7, 128@4x4 (each followed by a 2x2 max-pool) and 256@4x4, then a
    4,096-unit sigmoid layer: 28x28 -> 14 -> 7 -> 3 -> 2,304 -> 4,096 (about 9.8M parameters).
    `filters` scales every width (64 gives the paper's).
    """
    scale = filters / 64
    layers = []
    for channels, kernel in ((64, 10), (128, 7), (128, 4)):
        layers += [
            keras.layers.Conv2D(int(channels * scale), kernel, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
        ]
    layers += [
        keras.layers.Conv2D(int(256 * scale), 4, padding="same", activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(int(4096 * scale), activation="sigmoid"),
    ]
    return keras.Sequential(layers, name=name)


def relation_embedding(
    filters: int = 64, momentum: float = 0.9, name: str = "relation_embedding"
) -> keras.Sequential:
    """The embedding module of Sung et al. 2018: four [3x3 conv, batch norm, ReLU] blocks, the first two
    unpadded and max-pooled, the last two padded and not pooled; 28x28 -> 5x5 feature maps."""
    layers = []
    for block in range(4):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="valid" if block < 2 else "same"),
            keras.layers.BatchNormalization(momentum=momentum),
            keras.layers.ReLU(),
        ]
        if block < 2:
            layers.append(keras.layers.MaxPooling2D(2))
    return keras.Sequential(layers, name=name)


@keras.saving.register_keras_serializable(package="tfmeta")
class EpisodeBatchNormalization(keras.layers.Layer):
    """Batch normalisation with the statistics of the current batch only, differentiable to any order.

    Within `statistics_from_first(model, n)` the statistics come from the batch's first `n` rows only (a
    support set placed before the queries), so each query is normalised without looking at the others.

    Args:
        epsilon: added to the variance. Defaults to 1e-3 (Keras's default).
    """

    reference_rows: int | None = None  # read while a call is traced: see `statistics_from_first`

    def __init__(self, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="beta")

    def call(self, inputs):
        axes = list(range(len(inputs.shape) - 1))
        reference = inputs if self.reference_rows is None else inputs[: self.reference_rows]
        mean = tf.reduce_mean(reference, axes)
        variance = tf.reduce_mean(tf.square(reference - mean), axes)
        return self.gamma * (inputs - mean) * tf.math.rsqrt(variance + self.epsilon) + self.beta

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@contextlib.contextmanager
def statistics_from_first(model: keras.Model, rows: int):
    """Inside the block, every `EpisodeBatchNormalization` of `model` normalises a batch with the
    statistics of its first `rows` rows. The setting is Python state read when a call runs or is traced,
    so the call must happen inside the block (a `tf.function` traced there keeps it)."""
    layers = [layer for layer in _all_layers(model) if isinstance(layer, EpisodeBatchNormalization)]
    for layer in layers:
        layer.reference_rows = rows
    try:
        yield
    finally:
        for layer in layers:
            layer.reference_rows = None


def _all_layers(layer):
    yield layer
    for inner in getattr(layer, "layers", []):
        yield from _all_layers(inner)


BACKBONES = {"conv4": conv4}

"""A method that lives outside tfmeta, reached as `tests.external_method:CosinePrototypes`."""

from __future__ import annotations

import keras
from keras import ops

from tfmeta.methods.base import FewShotMethod


class CosinePrototypes(FewShotMethod):
    """Prototypes in a linear embedding, scored by scaled cosine similarity (test fixture only)."""

    paper = "none: a test fixture"

    def __init__(self, units: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.embed = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(units)])

    def call(self, episode, training=False):
        support, query, way, shot = self.split_episode(episode)
        support_features = self.embed(ops.reshape(support, (way * shot, *support.shape[2:])))
        prototypes = ops.mean(ops.reshape(support_features, (way, shot, -1)), axis=1)
        queries = self.embed(query)

        def unit(x):
            return x / (ops.norm(x, axis=-1, keepdims=True) + 1e-8)

        return 10.0 * ops.matmul(unit(queries), ops.transpose(unit(prototypes)))

    def get_config(self):
        return {**super().get_config(), "units": self.units}

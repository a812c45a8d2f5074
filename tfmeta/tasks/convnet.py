"""A small convnet on N-way Omniglot classification problems."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tfmeta.tasks import omniglot_pool
from tfmeta.tasks.base import Problems, TaskFamily


class OmniglotConvNet(TaskFamily):
    """Two 3x3 stride-2 convolutions with ReLU, global average pooling and a linear head.

    Per-problem weights differ, so the batch of problems is looped over inside `loss`; keep batches
    small.

    Args:
        filters: filters per convolution. Defaults to 8.
        way: classes per problem. Defaults to 5.
        batch: minibatch size per step. Defaults to 32.
        data_dir: Omniglot archives. Defaults to None ($TFMETA_DATA_DIR).
        cache_dir: prepared-data folder. Defaults to None ($TFMETA_CACHE_DIR).
    """

    needs_data = True

    name = "convnet_omniglot"

    def __init__(
        self,
        filters: int = 8,
        way: int = 5,
        batch: int = 32,
        data_dir: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
    ):
        self.filters, self.way, self.batch, self.data_dir, self.cache_dir = (
            filters,
            way,
            batch,
            data_dir,
            cache_dir,
        )

    def sample(self, count: int, seed: int, split: str, steps: int) -> Problems:
        x, y = omniglot_pool.sample_classification(
            count, seed, split, self.way, self.data_dir, self.cache_dir
        )
        index = omniglot_pool.minibatch_indices(count, seed, split, x.shape[1], steps, self.batch)
        rng = np.random.default_rng([seed, 13, len(split)])
        f = self.filters
        shapes = [(3, 3, 1, f), (f,), (3, 3, f, f), (f,), (f, self.way), (self.way,)]
        params = []
        for shape in shapes:
            fan = np.prod(shape[:-1]) if len(shape) > 1 else 1
            scale = np.sqrt(2.0 / fan) if len(shape) > 1 else 0.0
            params.append(tf.constant((rng.standard_normal((count, *shape)) * scale).astype(np.float32)))
        data = {"x": tf.constant(x), "y": tf.constant(y), "index": tf.constant(index)}
        return Problems(params, data)

    def _one(self, p, x, y):
        h = tf.nn.relu(tf.nn.conv2d(x, p[0], 2, "SAME") + p[1])
        h = tf.nn.relu(tf.nn.conv2d(h, p[2], 2, "SAME") + p[3])
        logits = tf.matmul(tf.reduce_mean(h, axis=[1, 2]), p[4]) + p[5]
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))

    def _batched(self, params, x, y):
        count = params[0].shape[0]
        return tf.stack([self._one([p[b] for p in params], x[b], y[b]) for b in range(count)])

    def loss(self, params, data, step):
        index = tf.gather(data["index"], step, axis=1)
        x = tf.gather(data["x"], index, batch_dims=1)
        y = tf.gather(data["y"], index, batch_dims=1)
        return self._batched(params, x, y)

    def eval_loss(self, params, data):
        return self._batched(params, data["x"], data["y"])

    def config(self) -> dict:
        return {
            "name": self.name,
            "dataset": "omniglot/vinyals",
            "filters": self.filters,
            "way": self.way,
            "batch": self.batch,
        }

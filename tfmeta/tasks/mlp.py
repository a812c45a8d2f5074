"""MLP classifiers of images as optimizees (Andrychowicz et al. 2016, section 3.2).

The paper's base problem is an MLP with one hidden layer of 20 sigmoid units trained on minibatches of
128; it tests generalisation to 40 units, two hidden layers and ReLU. Here the images are Omniglot
characters (see `tfmeta.tasks.omniglot_pool`): 100-way problems of 2,000 images, so that, as with
MNIST, 100 steps do not drive the loss to zero, with images average-pooled to 14x14 by default, which
makes the learned optimizer's work (proportional to the number of parameters) four times smaller on
these CPUs.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tfmeta.tasks import mnist_pool, omniglot_pool
from tfmeta.tasks.base import Problems, TaskFamily

ACTIVATIONS = {"sigmoid": tf.sigmoid, "relu": tf.nn.relu}


class OmniglotMLP(TaskFamily):
    """An MLP on `way`-way Omniglot classification, cross-entropy loss.

    Args:
        hidden: units per hidden layer. Defaults to 20.
        layers: hidden layers. Defaults to 1.
        activation: `"sigmoid"` or `"relu"`. Defaults to `"sigmoid"`.
        way: classes per problem (20 images each). Defaults to 100.
        image_size: side of the (average-pooled) images, 28, 14 or 7. Defaults to 14.
        batch: minibatch size per step. Defaults to 128.
        name: registry name. Defaults to `"mlp_omniglot"`.
        dataset: `"omniglot"` (offline) or `"mnist"` (the paper's; downloaded through TensorFlow
            Datasets, 10 classes, `way * 20` images per problem). Defaults to `"omniglot"`.
        data_dir: Omniglot archives. Defaults to None ($TFMETA_DATA_DIR).
        cache_dir: prepared-data folder. Defaults to None ($TFMETA_CACHE_DIR).
    """

    needs_data = True

    def __init__(
        self,
        hidden: int = 20,
        layers: int = 1,
        activation: str = "sigmoid",
        way: int = 100,
        image_size: int = 14,
        batch: int = 128,
        name: str = "mlp_omniglot",
        dataset: str = "omniglot",
        data_dir: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid: {', '.join(ACTIVATIONS)}")
        self.hidden, self.layers, self.activation, self.way, self.batch = (
            hidden,
            layers,
            activation,
            way,
            batch,
        )
        if dataset not in ("omniglot", "mnist"):
            raise ValueError(f"unknown dataset {dataset!r}; valid: omniglot, mnist")
        self.name, self.data_dir, self.cache_dir, self.image_size = name, data_dir, cache_dir, image_size
        self.dataset = dataset

    def _init(self, rng: np.random.Generator, count: int) -> list[tf.Tensor]:
        classes = 10 if self.dataset == "mnist" else self.way
        sizes = [self.image_size**2] + [self.hidden] * self.layers + [classes]
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            params.append(rng.uniform(-limit, limit, (count, fan_in, fan_out)).astype(np.float32))
            params.append(np.zeros((count, fan_out), np.float32))
        return [tf.constant(p) for p in params]

    def sample(self, count: int, seed: int, split: str, steps: int) -> Problems:
        if self.dataset == "mnist":
            x, y = mnist_pool.sample_classification(
                count, seed, split, 20 * self.way, self.cache_dir, self.image_size
            )
        else:
            x, y = omniglot_pool.sample_classification(
                count, seed, split, self.way, self.data_dir, self.cache_dir, self.image_size
            )
        x = x.reshape(count, x.shape[1], -1)
        index = omniglot_pool.minibatch_indices(count, seed, split, x.shape[1], steps, self.batch)
        rng = np.random.default_rng([seed, 11, len(split)])
        data = {"x": tf.constant(x), "y": tf.constant(y), "index": tf.constant(index)}
        return Problems(self._init(rng, count), data)

    def _forward(self, params, x):
        act = ACTIVATIONS[self.activation]
        for layer in range(0, len(params), 2):
            x = tf.einsum("bnd,bdh->bnh", x, params[layer]) + params[layer + 1][:, None, :]
            if layer + 2 < len(params):
                x = act(x)
        return x

    def _cross_entropy(self, params, x, y):
        logits = self._forward(params, x)
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), axis=-1
        )

    def loss(self, params, data, step):
        index = tf.gather(data["index"], step, axis=1)  # [B, batch]
        x = tf.gather(data["x"], index, batch_dims=1)
        y = tf.gather(data["y"], index, batch_dims=1)
        return self._cross_entropy(params, x, y)

    def eval_loss(self, params, data):
        return self._cross_entropy(params, data["x"], data["y"])

    def config(self) -> dict:
        return {
            "name": self.name,
            "dataset": "omniglot/vinyals" if self.dataset == "omniglot" else "mnist",
            "hidden": self.hidden,
            "layers": self.layers,
            "activation": self.activation,
            "way": self.way,
            "image_size": self.image_size,
            "batch": self.batch,
        }

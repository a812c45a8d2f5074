"""Ten-dimensional quadratics f(theta) = ||W theta - y||^2 (Andrychowicz et al. 2016, section 3.1)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfmeta.tasks.base import Problems, TaskFamily, rng_for


class Quadratic(TaskFamily):
    """Random quadratics: W `[d, d]`, y `[d]` and theta_0 with i.i.d. standard normal entries.

    Args:
        dim: the dimension d. Defaults to 10.
    """

    def __init__(self, dim: int = 10):
        self.dim = dim
        self.name = "quadratic" if dim == 10 else f"quadratic_{dim}"

    def sample(self, count: int, seed: int, split: str, steps: int) -> Problems:
        rng = rng_for(seed, split)
        w = rng.standard_normal((count, self.dim, self.dim)).astype(np.float32)
        y = rng.standard_normal((count, self.dim)).astype(np.float32)
        theta = rng.standard_normal((count, self.dim)).astype(np.float32)
        return Problems([tf.constant(theta)], {"w": tf.constant(w), "y": tf.constant(y)})

    def loss(self, params, data, step):
        residual = tf.einsum("bij,bj->bi", data["w"], params[0]) - data["y"]
        return tf.reduce_sum(tf.square(residual), axis=-1)

    def config(self) -> dict:
        return {"name": self.name, "dim": self.dim}

"""A tiny fixed episode for unit tests of the optimization-based learners' inner loops (not data: these
tests pin computations, which any input exercises)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def tiny_episode(way: int, shot: int, query: int, size: int = 16):
    """(episode, query labels): uniform noise images of `size` x `size`, queries in label order."""
    rng = np.random.default_rng(0)
    data = {
        "support_images": tf.constant(rng.uniform(size=(way, shot, size, size, 1)), tf.float32),
        "query_images": tf.constant(rng.uniform(size=(way * query, size, size, 1)), tf.float32),
    }
    return data, tf.repeat(tf.range(way), query)

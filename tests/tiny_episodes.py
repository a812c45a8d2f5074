"""A tiny fixed episode for unit tests of the optimization-based learners' inner loops (not data: these
tests pin computations, which any input exercises)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def tiny_episode(way: int, shot: int, query: int, size: int = 16, seed: int = 0):
    """(episode, query labels): uniform noise images of `size` x `size`, queries in label order."""
    rng = np.random.default_rng(seed)
    data = {
        "support_images": tf.constant(rng.uniform(size=(way, shot, size, size, 1)), tf.float32),
        "query_images": tf.constant(rng.uniform(size=(way * query, size, size, 1)), tf.float32),
    }
    return data, tf.repeat(tf.range(way), query)


def tiny_meta_batch(way: int, shot: int, query: int, tasks: int):
    """(episodes, query labels) of `tasks` different tiny episodes stacked on a leading task axis, as the
    harness batches a training stream for a method with `meta_batch=tasks`, and the episodes one by one."""
    singles = [tiny_episode(way, shot, query, seed=task) for task in range(tasks)]
    episodes = {key: tf.stack([episode[key] for episode, _ in singles]) for key in singles[0][0]}
    return (episodes, tf.stack([labels for _, labels in singles])), singles

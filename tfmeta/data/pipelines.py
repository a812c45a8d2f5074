"""tf.data pipelines of episodes: an endless seeded training stream and the frozen test episodes in order.

Episodes are laid out as described in `tfmeta.data.episodes`. Only the drawing of indices runs in Python
(NumPy's generator, so a seed gives the same episodes as `tfmeta.data.episodes.materialize`, bit for bit);
gathering the images from the class set's uint8 array and scaling them to [0, 1] run inside the graph,
where they neither hold the GIL nor copy float32 episodes through Python.

tf.data's autotuning is switched off: on 2 cores its thread-pool resizing left about half of the training
runs waiting on a timed wall at 102 ms per episode (see docs/performance.md).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfmeta.data.episodes import FrozenEpisodes, sample_indices
from tfmeta.data.splits import ClassSet

PREFETCH = 2


def options() -> tf.data.Options:
    """The options of every episode pipeline: no autotuning, deterministic order."""
    chosen = tf.data.Options()
    chosen.autotune.enabled = False
    chosen.deterministic = True
    return chosen


def gather_episode(images: tf.Tensor, classes, examples, order, shot: int, with_classes: bool = False):
    """An episode and its query labels from index arrays (see `tfmeta.data.episodes.sample_indices`),
    in the graph: the same values as `tfmeta.data.episodes.materialize`.

    Args:
        images: uint8 [classes, examples, height, width, channels].
    """
    way, per_class = examples.shape
    query = per_class - shot
    picked = tf.gather(tf.gather(images, classes), examples, batch_dims=1)  # [way, shot + query, ...]
    picked = tf.cast(picked, tf.float32) / 255.0
    queries = tf.reshape(picked[:, shot:], (way * query, *picked.shape[2:]))
    episode = {"support_images": picked[:, :shot], "query_images": tf.gather(queries, order)}
    if with_classes:
        episode["classes"] = tf.cast(classes, tf.int32)
    labels = tf.gather(tf.repeat(tf.range(way, dtype=tf.int32), query), order)
    return episode, labels


def training_dataset(
    class_set: ClassSet,
    way: int,
    shot: int,
    query: int,
    seed: int | list[int],
    with_classes: bool = False,
    start: int = 0,
) -> tf.data.Dataset:
    """An endless tf.data stream of freshly sampled episodes, reproducible from `seed`.

    Args:
        with_classes: add `episode["classes"]`, int32 [way]: each label's index in `class_set`, for
            methods that pre-train an ordinary classifier over all training classes. The images drawn
            are the same either way.
        start: episodes of the stream to skip, so that a resumed training draws exactly the episodes an
            uninterrupted one would (drawing indices costs microseconds an episode).
    """
    n_classes, n_examples = class_set.images.shape[:2]

    def draw():
        rng = np.random.default_rng(seed)
        for _ in range(start):
            sample_indices(rng, n_classes, n_examples, way, shot, query)
        while True:
            yield tuple(
                a.astype(np.int32) for a in sample_indices(rng, n_classes, n_examples, way, shot, query)
            )

    signature = (
        tf.TensorSpec((way,), tf.int32),
        tf.TensorSpec((way, shot + query), tf.int32),
        tf.TensorSpec((way * query,), tf.int32),
    )
    images = tf.constant(class_set.images)
    indices = tf.data.Dataset.from_generator(draw, output_signature=signature)
    episodes = indices.map(lambda c, e, o: gather_episode(images, c, e, o, shot, with_classes))
    return episodes.prefetch(PREFETCH).with_options(options())


def frozen_dataset(episodes: FrozenEpisodes, class_set: ClassSet) -> tf.data.Dataset:
    """The frozen episodes, in order, as a finite tf.data dataset (no Python generator at all)."""
    images = tf.constant(class_set.images)
    shot = episodes.key.shot
    indices = tf.data.Dataset.from_tensor_slices(
        (
            episodes.classes.astype(np.int32),
            episodes.examples.astype(np.int32),
            episodes.orders.astype(np.int32),
        )
    )
    dataset = indices.map(lambda c, e, o: gather_episode(images, c, e, o, shot))
    return dataset.prefetch(PREFETCH).with_options(options())

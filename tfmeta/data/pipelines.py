"""tf.data pipelines of episodes: an endless seeded training stream and the frozen test episodes in order.

Episodes are laid out as described in `tfmeta.data.episodes`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfmeta.data.episodes import FrozenEpisodes, materialize, sample_indices
from tfmeta.data.splits import ClassSet


def _signature(way: int, shot: int, query: int, image_shape: tuple[int, ...], with_classes: bool = False):
    episode = {
        "support_images": tf.TensorSpec((way, shot, *image_shape), tf.float32),
        "query_images": tf.TensorSpec((way * query, *image_shape), tf.float32),
    }
    if with_classes:
        episode["classes"] = tf.TensorSpec((way,), tf.int32)
    return episode, tf.TensorSpec((way * query,), tf.int32)


def training_dataset(
    class_set: ClassSet, way: int, shot: int, query: int, seed: int | list[int], with_classes: bool = False
):
    """An endless tf.data stream of freshly sampled episodes, reproducible from `seed`.

    Args:
        with_classes: add `episode["classes"]`, int32 [way]: each label's index in `class_set`, for
            methods that pre-train an ordinary classifier over all training classes. The images drawn
            are the same either way.
    """

    def generate():
        rng = np.random.default_rng(seed)
        n_classes, n_examples = class_set.images.shape[:2]
        while True:
            indices = sample_indices(rng, n_classes, n_examples, way, shot, query)
            episode, labels = materialize(class_set, *indices, shot)
            if with_classes:
                episode["classes"] = indices[0].astype(np.int32)
            yield episode, labels

    signature = _signature(way, shot, query, class_set.images.shape[2:], with_classes)
    return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(2)


def frozen_dataset(episodes: FrozenEpisodes, class_set: ClassSet):
    """The frozen episodes, in order, as a finite tf.data dataset."""
    key = episodes.key

    def generate():
        for index in range(len(episodes)):
            yield episodes.episode(class_set, index)

    signature = _signature(key.way, key.shot, key.query, class_set.images.shape[2:])
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(episodes))).prefetch(2)

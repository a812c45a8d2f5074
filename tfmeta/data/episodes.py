"""N-way K-shot episodes: seeded sampling and frozen test sets, drawn and materialised (NumPy only; their
index files are `tfmeta.core.episode_index`, the tf.data pipelines over them `tfmeta.data.pipelines`).

An episode is a dict of arrays plus the query labels:
    support_images: float32 [way, shot, height, width, channels], class-major; the first index is the label.
    query_images:   float32 [way * query, height, width, channels], in shuffled order.
    query_labels:   int32 [way * query], labels in 0..way-1.
Labels are a fresh random assignment of classes in every episode, and the query order is shuffled so that
no method can read a label from a position.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfmeta.core.episode_index import EpisodeIndex, EpisodeKey, query_labels
from tfmeta.data.splits import ClassSet


def sample_indices(
    rng: np.random.Generator, n_classes: int, n_examples: int, way: int, shot: int, query: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws one episode as indices.

    Returns:
        classes [way] (class indices; position = label), examples [way, shot + query] (indices into
        each class's examples; the first `shot` are support), order [way * query] (query permutation).
    """
    if way > n_classes:
        raise ValueError(f"{way}-way episodes need {way} classes; this class set has {n_classes}")
    if shot + query > n_examples:
        raise ValueError(
            f"{shot}-shot {query}-query episodes need {shot + query} examples per class; "
            f"classes here have {n_examples}"
        )
    classes = rng.choice(n_classes, size=way, replace=False)
    examples = np.stack([rng.choice(n_examples, size=shot + query, replace=False) for _ in range(way)])
    return classes, examples, rng.permutation(way * query)


def materialize(
    class_set: ClassSet, classes: np.ndarray, examples: np.ndarray, order: np.ndarray, shot: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Turns index arrays into an episode (see the module docstring) and its query labels."""
    images = class_set.images[classes[:, None], examples].astype(np.float32) / 255.0
    way, per_class = examples.shape
    query = per_class - shot
    query_images = images[:, shot:].reshape(way * query, *images.shape[2:])[order]
    return {"support_images": images[:, :shot], "query_images": query_images}, query_labels(way, order)


class FrozenEpisodes(EpisodeIndex):
    """A fixed set of episodes stored as indices (`EpisodeIndex`), drawn from a class set and
    materialised from it."""

    @classmethod
    def sample(cls, key: EpisodeKey, class_set: ClassSet) -> FrozenEpisodes:
        return cls.draw(key, class_set.names, class_set.images.shape[1])

    @classmethod
    def draw(cls, key: EpisodeKey, names: tuple[str, ...], n_examples: int) -> FrozenEpisodes:
        """The episodes of `key` from a class list and a per-class example count alone (no images)."""
        rng = np.random.default_rng(key.seed)
        drawn = [
            sample_indices(rng, len(names), n_examples, key.way, key.shot, key.query)
            for _ in range(key.count)
        ]
        fingerprint = ClassSet(tuple(names), np.empty(0)).fingerprint  # a function of the names alone
        classes, examples, orders = (np.stack(part) for part in zip(*drawn, strict=True))
        return cls(key, fingerprint, classes, examples, orders)

    def episode(self, class_set: ClassSet, index: int):
        """The `index`-th episode, materialized from `class_set`."""
        return materialize(
            class_set, self.classes[index], self.examples[index], self.orders[index], self.key.shot
        )


def frozen_episodes(key: EpisodeKey, class_set: ClassSet, directory: Path) -> FrozenEpisodes:
    """Loads the frozen episodes for `key` from `directory`, creating the file the first time.

    Raises:
        ValueError: when the stored file was made for another class list.
    """
    path = Path(directory) / key.filename
    if path.exists():
        episodes = FrozenEpisodes.load(path)
        if episodes.key != key or episodes.class_fingerprint != class_set.fingerprint:
            raise ValueError(
                f"{path} was made for different episodes or another class list; delete it to regenerate"
            )
        return episodes
    episodes = FrozenEpisodes.sample(key, class_set)
    episodes.save(path)
    return episodes

"""N-way K-shot episodes: seeded sampling and frozen test sets as compact index files (NumPy only; the
tf.data pipelines over them are in `tfmeta.data.pipelines`).

An episode is a dict of arrays plus the query labels:
    support_images: float32 [way, shot, height, width, channels], class-major; the first index is the label.
    query_images:   float32 [way * query, height, width, channels], in shuffled order.
    query_labels:   int32 [way * query], labels in 0..way-1.
Labels are a fresh random assignment of classes in every episode, and the query order is shuffled so that
no method can read a label from a position.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tfmeta.data.splits import ClassSet

EPISODES_FORMAT = 1


@dataclass(frozen=True)
class EpisodeKey:
    """Everything a frozen episode set is a pure function of (with the class list it indexes)."""

    dataset: str
    split: str
    part: str
    way: int
    shot: int
    query: int
    count: int
    seed: int

    @property
    def filename(self) -> str:
        return (
            f"{self.dataset}-{self.split}-{self.part}-{self.way}w{self.shot}s{self.query}q"
            f"-{self.count}ep-seed{self.seed}.npz"
        )


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


def query_labels(way: int, order: np.ndarray) -> np.ndarray:
    """The labels of an episode's queries after the permutation `order`."""
    return np.repeat(np.arange(way, dtype=np.int32), len(order) // way)[order]


class FrozenEpisodes:
    """A fixed set of episodes stored as indices, identified by the sha256 of its content."""

    def __init__(self, key: EpisodeKey, class_fingerprint: str, classes, examples, orders):
        self.key = key
        self.class_fingerprint = class_fingerprint
        self.classes = np.asarray(classes, dtype=np.int32)
        self.examples = np.asarray(examples, dtype=np.int16)
        self.orders = np.asarray(orders, dtype=np.int16)
        self.hash = self._content_hash()

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

    def _content_hash(self) -> str:
        digest = hashlib.sha256()
        header = {"format": EPISODES_FORMAT, **asdict(self.key), "classes": self.class_fingerprint}
        digest.update(json.dumps(header, sort_keys=True).encode())
        for array in (self.classes, self.examples, self.orders):
            digest.update(array.astype("<i4").tobytes())
        return "sha256:" + digest.hexdigest()

    def save(self, path: Path) -> None:
        """Writes the index file atomically."""
        meta = json.dumps({"key": asdict(self.key), "classes": self.class_fingerprint, "hash": self.hash})
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(
                    f, meta=np.array(meta), classes=self.classes, examples=self.examples, orders=self.orders
                )
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> FrozenEpisodes:
        """Reads an index file and checks that its content still matches its recorded hash."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            episodes = cls(
                EpisodeKey(**meta["key"]), meta["classes"], data["classes"], data["examples"], data["orders"]
            )
        if episodes.hash != meta["hash"]:
            raise ValueError(f"{path} is corrupt: its content hash differs from the one recorded in it")
        return episodes

    def episode(self, class_set: ClassSet, index: int):
        """The `index`-th episode, materialized from `class_set`."""
        return materialize(
            class_set, self.classes[index], self.examples[index], self.orders[index], self.key.shot
        )

    def query_labels(self) -> np.ndarray:
        """int32 [count, way * query]: every episode's query labels, without touching images."""
        return np.stack([query_labels(self.key.way, order) for order in self.orders])

    def __len__(self) -> int:
        return self.key.count


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

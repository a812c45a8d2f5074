"""The key of a frozen episode set and its index file: what an episode set is a pure function of, and the
file that holds it as indices (NumPy only), identified by the sha256 of its content.

The data layer draws and materialises episodes (`tfmeta.data.episodes.FrozenEpisodes`, a subclass); the
records layer checks that a record's episodes are a benchmark's by their index file's hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

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


def query_labels(way: int, order: np.ndarray) -> np.ndarray:
    """The labels of an episode's queries after the permutation `order`."""
    return np.repeat(np.arange(way, dtype=np.int32), len(order) // way)[order]


class EpisodeIndex:
    """A fixed set of episodes stored as indices, identified by the sha256 of its content.

    Attributes:
        classes: int32 [count, way], class indices into the class list (position = label).
        examples: int16 [count, way, shot + query], indices into each class's examples; the first `shot`
            are support.
        orders: int16 [count, way * query], each episode's query permutation.
    """

    def __init__(self, key: EpisodeKey, class_fingerprint: str, classes, examples, orders):
        self.key = key
        self.class_fingerprint = class_fingerprint
        self.classes = np.asarray(classes, dtype=np.int32)
        self.examples = np.asarray(examples, dtype=np.int16)
        self.orders = np.asarray(orders, dtype=np.int16)
        self.hash = self._content_hash()

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
    def load(cls, path: Path):
        """Reads an index file and checks that its content still matches its recorded hash."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            episodes = cls(
                EpisodeKey(**meta["key"]), meta["classes"], data["classes"], data["examples"], data["orders"]
            )
        if episodes.hash != meta["hash"]:
            raise ValueError(f"{path} is corrupt: its content hash differs from the one recorded in it")
        return episodes

    def query_labels(self) -> np.ndarray:
        """int32 [count, way * query]: every episode's query labels, without touching images."""
        return np.stack([query_labels(self.key.way, order) for order in self.orders])

    def __len__(self) -> int:
        return self.key.count

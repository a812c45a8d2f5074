"""Lake et al.'s 20 runs of 20-way within-alphabet one-shot classification (`all_runs.zip`).

Each run `runNN/` holds `training/class01.png .. class20.png` (one drawing of each of 20 characters of one
evaluation alphabet), `test/item01.png .. item20.png` (another drawer's drawing of each) and
`class_labels.txt`, the answer key: lines `runNN/test/itemMM.png runNN/training/classKK.png`. A run is
scored by its error rate, the fraction of test items assigned to the wrong training image.

As an episode (see `tfmeta.data.episodes`), a run is 20-way 1-shot with one query per class: the support
image of label k is `classK+1`, the queries are the test items in file order and their labels come from
the answer key. Images go through the same 28x28 preprocessing as the rest of Omniglot.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfmeta.core.errors import ArchiveError
from tfmeta.core.lake_runs import content_hash, find_archive, zip_members
from tfmeta.data.omniglot.archives import to_28x28

RUNS, WAY = 20, 20
_KEY_LINE = re.compile(r"^(run\d+)/test/item(\d+)\.png\s+(run\d+)/training/class(\d+)\.png$")


@dataclass(frozen=True)
class LakeRuns:
    """The runs as arrays.

    Attributes:
        support: uint8 [runs, way, 28, 28, 1], ink = 255; index k along `way` is `classK+1.png`.
        query: uint8 [runs, way, 28, 28, 1], the test items in file order.
        labels: int32 [runs, way], the answer key as support indices.
        hash: "sha256:..." of the archive's content (PNG bytes and answer keys, by member name), so that
            re-zipped copies of the same runs share it.
    """

    support: np.ndarray
    query: np.ndarray
    labels: np.ndarray
    hash: str

    def __len__(self) -> int:
        return len(self.labels)

    def query_labels(self) -> np.ndarray:
        """int32 [runs, way], the answer keys."""
        return self.labels

    def episode(self, index: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Run `index` as an episode dict (float32 in [0, 1]) and its query labels."""
        return {
            "support_images": self.support[index][:, None].astype(np.float32) / 255.0,
            "query_images": self.query[index].astype(np.float32) / 255.0,
        }, self.labels[index]

    def dataset(self):
        """The runs, in order, as a finite tf.data dataset of (episode, labels)."""
        import tensorflow as tf

        image = tf.TensorSpec((WAY, *self.support.shape[2:]), tf.float32)
        signature = (
            {
                "support_images": tf.TensorSpec((WAY, 1, *self.support.shape[2:]), tf.float32),
                "query_images": image,
            },
            tf.TensorSpec((WAY,), tf.int32),
        )
        dataset = tf.data.Dataset.from_generator(
            lambda: (self.episode(i) for i in range(len(self))), output_signature=signature
        )
        return dataset.apply(tf.data.experimental.assert_cardinality(len(self)))


def load(data_dir: str | os.PathLike | None = None) -> LakeRuns:
    """Reads and checks all 20 runs.

    Raises:
        ArchiveError: when the archive is missing or a run lacks images or answer-key lines.
    """
    path = find_archive(data_dir)
    members = zip_members(path)
    support, query, labels = zip(
        *(_read_run(path, members, f"run{r:02d}") for r in range(1, RUNS + 1)), strict=True
    )
    return LakeRuns(
        np.stack(support)[..., None],
        np.stack(query)[..., None],
        np.stack(labels).astype(np.int32),
        content_hash(members),
    )


def _read_run(path: Path, members: dict[str, bytes], run: str):
    def image(member: str) -> np.ndarray:
        if member not in members:
            raise ArchiveError(f"{path} lacks {member}; the archive is incomplete")
        return to_28x28(members[member])

    key = members.get(f"{run}/class_labels.txt")
    if key is None:
        raise ArchiveError(f"{path} lacks {run}/class_labels.txt; the archive is incomplete")
    answers = {}
    for line in key.decode().splitlines():
        match = _KEY_LINE.match(line.strip())
        if match and match.group(1) == match.group(3) == run:
            answers[int(match.group(2))] = int(match.group(4)) - 1
    if sorted(answers) != list(range(1, WAY + 1)) or sorted(answers.values()) != list(range(WAY)):
        raise ArchiveError(f"{path}: {run}/class_labels.txt does not map items 1-{WAY} onto classes 1-{WAY}")
    support = np.stack([image(f"{run}/training/class{k:02d}.png") for k in range(1, WAY + 1)])
    query = np.stack([image(f"{run}/test/item{k:02d}.png") for k in range(1, WAY + 1)])
    return support, query, np.array([answers[k] for k in range(1, WAY + 1)])

"""The Ravi & Larochelle split of miniImageNet and the images each part expects.

Ravi & Larochelle 2017, "Optimization as a Model for Few-Shot Learning", https://openreview.net/forum?id=rJY0-Kcll,
published the class split with their code (https://github.com/twitter/meta-learning-lstm, MIT licence):
`train.csv` 64 classes, `val.csv` 16, `test.csv` 20, 600 images each, as `filename,label` rows such as
`n0153282900000005.jpg,n01532829`. tfmeta ships these files (`ravi/`), so users bring only images.

A `Subset` selects a few classes and the first images of each. It exists for tests and quick experiments
on small fixtures; a subset is prepared under its own name, never under the full dataset's.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

PARTS = ("train", "val", "test")
CLASSES_PER_PART = {"train": 64, "val": 16, "test": 20}
IMAGES_PER_CLASS = 600
IMAGE_SIZE = 84


@dataclass(frozen=True)
class Subset:
    """A few classes of each part and the first `images_per_class` images (in CSV order) of each.

    Attributes:
        classes: (part, wnids) pairs; every part of `PARTS` needs at least one class of that part.
        images_per_class: how many images of each class, taken from the start of its CSV rows.
    """

    classes: tuple[tuple[str, tuple[str, ...]], ...]
    images_per_class: int

    @classmethod
    def of(cls, classes: dict[str, list[str]], images_per_class: int) -> Subset:
        """Builds a subset from a dict {part: [wnid, ...]}, checking every class against the split."""
        full = {part: part_files(part) for part in PARTS}
        for part in PARTS:
            wanted = classes.get(part) or []
            unknown = [wnid for wnid in wanted if wnid not in full[part]]
            if not wanted or unknown:
                raise ValueError(f"a subset needs classes of the {part} part of the CSV; unknown: {unknown}")
        if not 1 <= images_per_class <= IMAGES_PER_CLASS:
            raise ValueError(f"images_per_class must be in 1..{IMAGES_PER_CLASS}, got {images_per_class}")
        return cls(tuple((part, tuple(sorted(classes[part]))) for part in PARTS), images_per_class)

    @property
    def name(self) -> str:
        """A name that identifies this subset's content, used as the TFDS config name."""
        text = json.dumps([self.classes, self.images_per_class])
        return "subset-" + hashlib.sha256(text.encode()).hexdigest()[:12]


@cache
def part_files(part: str) -> dict[str, tuple[str, ...]]:
    """{wnid: filenames in CSV order} of one part of the Ravi split."""
    if part not in PARTS:
        raise ValueError(f"the ravi split has no part {part!r}; its parts: {', '.join(PARTS)}")
    text = resources.files("tfmeta.data.mini_imagenet").joinpath(f"ravi/{part}.csv").read_text()
    files: dict[str, list[str]] = {}
    for filename, wnid in list(csv.reader(text.splitlines()))[1:]:
        files.setdefault(wnid, []).append(filename)
    return {wnid: tuple(names) for wnid, names in files.items()}


def expected_files(subset: Subset | None = None) -> dict[str, dict[str, tuple[str, ...]]]:
    """{part: {wnid: filenames}} that a preparation needs: the full split, or a subset of it."""
    if subset is None:
        return {part: part_files(part) for part in PARTS}
    return {
        part: {wnid: part_files(part)[wnid][: subset.images_per_class] for wnid in wnids}
        for part, wnids in subset.classes
    }


def imagenet_index(filename: str) -> int:
    """The 1-based position in its ImageNet class that a miniImageNet filename encodes.

    `n0153282900000005.jpg` is the 5th image of class n01532829 (see `sources.imagenet_files`).
    """
    return int(filename[9:17])

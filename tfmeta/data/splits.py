"""Named, fixed class splits: which classes are meta-trained on, validated on and tested on.

- `vinyals`: the class lists of Vinyals et al. 2016 (arXiv 1606.04080) as published with the Prototypical
  Networks code of Snell et al. 2017; every rotation of a character (0, 90, 180, 270 degrees) is a class
  of its own. train 4,112 / val 688 / test 1,692 / trainval 4,800 classes.
- `lake`: Lake et al. 2015's own division: meta-train on the background set (964 characters), test on the
  evaluation set (659 characters); no rotations and no validation classes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import numpy as np

SPLITS = {
    "vinyals": ("train", "val", "test", "trainval"),
    "lake": ("train", "test"),
}


@dataclass(frozen=True)
class ClassSet:
    """The classes of one part of a split.

    Attributes:
        names: class names, sorted; episodes index classes by position in this tuple.
        images: uint8 array [classes, examples, height, width, channels]; for Omniglot ink = 255.
    """

    names: tuple[str, ...]
    images: np.ndarray

    @property
    def fingerprint(self) -> str:
        """sha256 of the class names, so that episode indices can only be read against the same list."""
        return hashlib.sha256("\n".join(self.names).encode()).hexdigest()


def class_names(split: str, part: str, characters: dict[str, np.ndarray] | None = None) -> list[str]:
    """The sorted class names of `part` ("train", "val", "test", "trainval") of a named split."""
    check_split(split, part)
    if split == "vinyals":
        text = resources.files("tfmeta.data.splits_data").joinpath(f"omniglot_vinyals/{part}.txt")
        return sorted(line.strip() for line in text.read_text().splitlines() if line.strip())
    if characters is None:
        raise ValueError("the lake split needs the characters to list its classes")
    from tfmeta.data.omniglot.archives import ARCHIVES

    wanted = "background" if part == "train" else "evaluation"
    alphabets = _alphabets_of(wanted)
    names = sorted(name for name in characters if name.split("/")[0] in alphabets)
    expected = ARCHIVES[wanted][2]
    if len(names) != expected:
        raise ValueError(f"lake/{part}: found {len(names)} characters, expected {expected}")
    return names


def _alphabets_of(archive: str) -> set[str]:
    text = resources.files("tfmeta.data.splits_data").joinpath(f"omniglot_alphabets_{archive}.txt")
    return {line.strip() for line in text.read_text().splitlines() if line.strip()}


def check_split(split: str, part: str) -> None:
    """Raises ValueError listing the valid names when `split` or `part` is unknown."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    if part not in SPLITS[split]:
        raise ValueError(f"split {split!r} has no part {part!r}; its parts: {', '.join(SPLITS[split])}")


def build_class_set(split: str, part: str, characters: dict[str, np.ndarray]) -> ClassSet:
    """Selects and rotates the characters of a split part into a `ClassSet`."""
    names = class_names(split, part, characters)
    images = np.empty((len(names), *next(iter(characters.values())).shape, 1), dtype=np.uint8)
    for i, name in enumerate(names):
        if "/rot" in name:
            character, rotation = name.rsplit("/rot", 1)
            # np.rot90 turns counter-clockwise, as PIL's Image.rotate in the reference code.
            images[i, ..., 0] = np.rot90(characters[character], k=int(rotation) // 90, axes=(1, 2))
        else:
            images[i, ..., 0] = characters[name]
    return ClassSet(tuple(names), images)

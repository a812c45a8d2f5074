"""miniImageNet: preparation through tensorflow-datasets from the user's images, and per-class arrays.

The `ravi` split (Ravi & Larochelle 2017): train 64, val 16, test 20 classes x 600 images, 84x84 RGB;
`trainval` is train and val together (80 classes). Class lists come from the CSVs shipped with tfmeta,
so frozen test episodes can be drawn without the images (`class_names`, `IMAGES_PER_CLASS`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tfmeta.core import locks
from tfmeta.core.data_dirs import DATA_DIR_ENV, cache_dir
from tfmeta.data.mini_imagenet.sources import MiniImagenetError, missing_message
from tfmeta.data.mini_imagenet.split import IMAGES_PER_CLASS, PARTS, Subset, part_files
from tfmeta.data.splits import ClassSet

SPLIT = "ravi"
SPLIT_PARTS = (*PARTS, "trainval")

__all__ = [
    "IMAGES_PER_CLASS",
    "MiniImagenetError",
    "SPLIT",
    "Subset",
    "class_names",
    "load_class_sets",
    "prepare",
]


def class_names(split: str, part: str) -> list[str]:
    """The sorted wnids of one part of the split, read from the shipped CSVs (no images needed)."""
    if split != SPLIT:
        raise ValueError(f"unknown miniImageNet split {split!r}; valid splits: {SPLIT}")
    if part not in SPLIT_PARTS:
        raise ValueError(f"split {SPLIT!r} has no part {part!r}; its parts: {', '.join(SPLIT_PARTS)}")
    parts = ("train", "val") if part == "trainval" else (part,)
    return sorted(wnid for p in parts for wnid in part_files(p))


def prepare(
    data_dir: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
    subset: Subset | None = None,
):
    """Prepares miniImageNet once (decoding and resizing every image); later calls only open the cache.

    Args:
        data_dir: the folder holding the images in one of the forms of `sources`. Defaults to
            $TFMETA_DATA_DIR.
        cache: where prepared data lives. Defaults to `tfmeta.core.data_dirs.cache_dir()`.
        subset: only some classes and images, for tests (see `Subset`). Defaults to None: all 100
            classes x 600 images, which a user's preparation requires.

    Returns:
        The prepared `TfmetaMiniImagenet` builder.

    Raises:
        MiniImagenetError: no form found, or the form found lacks files or classes (all of them named).
    """
    from tfmeta.data.mini_imagenet.mini_imagenet import TfmetaMiniImagenet

    prepared = cache_dir(cache) / "tensorflow_datasets"
    builder = TfmetaMiniImagenet(subset=subset, data_dir=str(prepared))
    if builder.is_prepared():
        return builder
    folder = data_dir or os.environ.get(DATA_DIR_ENV)
    if not folder:
        raise MiniImagenetError(
            f"miniImageNet needs your images: pass --data-dir or set {DATA_DIR_ENV} "
            "(see docs/mini_imagenet.md)"
        )
    root = Path(folder).expanduser()
    if not root.is_dir() or not any(root.iterdir()):
        raise MiniImagenetError(missing_message(root))
    with locks.wait_for(prepared / ".tfmeta_mini_imagenet.lock"):  # one process prepares, the others wait
        builder = TfmetaMiniImagenet(subset=subset, data_dir=str(prepared))
        if not builder.is_prepared():
            _prepare(builder, folder)
    return builder


def _prepare(builder, folder: str | os.PathLike) -> None:
    import tensorflow_datasets as tfds

    # The builder checks every expected file before writing (and names what is missing).
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(folder)))


def load_class_sets(
    split: str,
    parts: set[str],
    data_dir: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
    subset: Subset | None = None,
) -> dict[str, ClassSet]:
    """The class sets of the requested parts, preparing the dataset if needed.

    Returns:
        {part: ClassSet} with names the sorted wnids and images uint8 [classes, images, 84, 84, 3], each
        class's images in filename order (the CSV order), which frozen episodes index.
    """
    for part in parts:
        class_names(split, part)  # validates split and part names
    builder = prepare(data_dir, cache, subset)
    loaded = {p: _read_part(builder, p) for p in sorted({q for part in parts for q in _tfds_parts(part)})}
    return {part: _merge([loaded[p] for p in _tfds_parts(part)]) for part in sorted(parts)}


def _merge(pieces: list[ClassSet]) -> ClassSet:
    """One ClassSet from several, classes sorted by name (no copy for a single piece)."""
    if len(pieces) == 1:
        return pieces[0]
    names = [name for piece in pieces for name in piece.names]
    order = np.argsort(names, kind="stable")
    images = np.concatenate([piece.images for piece in pieces])[order]
    return ClassSet(tuple(names[i] for i in order), images)


def _tfds_parts(part: str) -> tuple[str, ...]:
    return ("train", "val") if part == "trainval" else (part,)


def _read_part(builder, part: str) -> ClassSet:
    """One prepared part as a ClassSet, classes sorted by wnid and each class's images by filename."""
    import tensorflow_datasets as tfds

    data = tfds.as_numpy(builder.as_dataset(split=part, batch_size=-1))
    order = np.lexsort((data["filename"], data["label"]))  # TFDS shuffles; restore (wnid, filename) order
    labels = data["label"][order]
    names = tuple(wnid.decode() for wnid in np.unique(labels))
    per_class = len(labels) // len(names)
    if per_class * len(names) != len(labels):
        raise MiniImagenetError(f"prepared part {part} has classes of unequal sizes; prepare it again")
    images = data["image"][order].reshape(len(names), per_class, *data["image"].shape[1:])
    return ClassSet(names, images)

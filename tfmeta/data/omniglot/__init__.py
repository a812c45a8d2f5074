"""Omniglot: preparation through tensorflow-datasets and per-character image arrays.

Importing this package imports no TensorFlow (the builder is imported when data is prepared), so that
`tfmeta.data.omniglot.lake_runs` and the archive checks serve the TensorFlow-free records layer.
"""

from __future__ import annotations

import os

import numpy as np

from tfmeta.data.locations import CACHE_DIR_ENV, DATA_DIR_ENV, cache_dir
from tfmeta.data.omniglot.archives import ArchiveError, find_archives

__all__ = ["ArchiveError", "DATA_DIR_ENV", "CACHE_DIR_ENV", "cache_dir", "prepare", "load_characters"]


def prepare(archive_dir: str | os.PathLike | None = None, cache: str | os.PathLike | None = None):
    """Prepares Omniglot once (decoding and resizing every PNG); later calls only open the cache.

    Args:
        archive_dir: folder with the official zip archives. Defaults to $TFMETA_DATA_DIR, and to
            downloading the archives when neither is set.
        cache: where prepared data lives. Defaults to `cache_dir()`.

    Returns:
        The prepared `TfmetaOmniglot` builder.
    """
    from tfmeta.data.omniglot.omniglot import TfmetaOmniglot

    builder = TfmetaOmniglot(archive_dir=archive_dir, data_dir=str(cache_dir(cache) / "tensorflow_datasets"))
    if not builder.is_prepared():
        if archive_dir or os.environ.get(DATA_DIR_ENV):
            find_archives(archive_dir or os.environ[DATA_DIR_ENV])  # fail early with the full message
        try:
            builder.download_and_prepare()
        except ArchiveError:
            raise
        except Exception as err:  # network failures come in many types; all need the same advice
            raise ArchiveError(
                f"Could not download Omniglot ({type(err).__name__}: {err}). Offline, set "
                f"{DATA_DIR_ENV} or pass --data-dir with a folder holding images_background.zip and "
                "images_evaluation.zip."
            ) from err
    return builder


def load_characters(
    archive_dir: str | os.PathLike | None = None, cache: str | os.PathLike | None = None
) -> dict[str, np.ndarray]:
    """Every character's 20 drawings.

    Returns:
        A dict from "Alphabet/characterNN" to a uint8 array [20, 28, 28] ordered by drawer, ink = 255.
    """
    import tensorflow_datasets as tfds

    builder = prepare(archive_dir, cache)
    characters: dict[str, list[tuple[int, np.ndarray]]] = {}
    for split in ("background", "evaluation"):
        data = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
        for image, alphabet, character, drawer in zip(
            data["image"], data["alphabet"], data["character"], data["drawer"], strict=True
        ):
            key = f"{alphabet.decode()}/{character.decode()}"
            characters.setdefault(key, []).append((int(drawer), image))
    return {
        key: np.stack([image for _, image in sorted(drawings, key=lambda d: d[0])])
        for key, drawings in sorted(characters.items())
    }

"""Omniglot: preparation through tensorflow-datasets and per-character image arrays.

Importing this package imports no TensorFlow (the builder is imported when data is prepared), so that
`tfmeta.data.omniglot.lake_runs` and the archive checks serve the TensorFlow-free records layer.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from tfmeta.core import locks
from tfmeta.core.data_dirs import CACHE_DIR_ENV, DATA_DIR_ENV, cache_dir
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

    local = archive_dir or os.environ.get(DATA_DIR_ENV)
    data_dir = cache_dir(cache) / "tensorflow_datasets"
    builder = TfmetaOmniglot(archive_dir=archive_dir, data_dir=str(data_dir))
    if builder.is_prepared():
        return builder
    offline = (
        f"Offline, set {DATA_DIR_ENV} or pass --data-dir with a folder holding images_background.zip and "
        "images_evaluation.zip."
    )
    # Checked before anything is written, so a refused input leaves no cache behind.
    if local:
        find_archives(local)  # fail early with the full message
    else:
        from tfmeta.data.omniglot import omniglot

        _check_reachable(omniglot.URL, offline)  # seconds, instead of minutes of download retries
    # Runs of a sweep start together on a fresh cache: one prepares, the others wait and reuse it.
    with locks.wait_for(data_dir / ".tfmeta_omniglot.lock"):
        builder = TfmetaOmniglot(archive_dir=archive_dir, data_dir=str(data_dir))
        if builder.is_prepared():
            return builder
        _prepare(builder, local, offline)
    return builder


def _prepare(builder, local: str | None, offline: str) -> None:
    try:
        builder.download_and_prepare()
    except ArchiveError:
        raise
    except Exception as err:  # network failures come in many types; all need the same advice
        if local:
            raise ArchiveError(
                f"Could not prepare Omniglot from {local} ({type(err).__name__}: {err})"
            ) from err
        raise ArchiveError(f"Could not download Omniglot ({type(err).__name__}: {err}). {offline}") from err
    finally:
        for partial in (Path(builder.data_dir).parents[2] / "downloads").glob("*.tmp.*"):
            if partial.is_dir():
                shutil.rmtree(partial, ignore_errors=True)
            else:
                partial.unlink(missing_ok=True)


def _check_reachable(url: str, advice: str, timeout: float = 5.0) -> None:
    """Raises ArchiveError within `timeout` seconds when the archives' host does not answer."""
    host = urlparse(url).hostname
    try:
        socket.create_connection((host, urlparse(url).port or 443), timeout=timeout).close()
    except OSError as err:
        raise ArchiveError(f"Could not reach {host} to download Omniglot ({err}). {advice}") from err


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

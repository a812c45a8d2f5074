"""Where datasets come from and where their prepared forms are kept (no TensorFlow imported here)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "TFMETA_DATA_DIR"
CACHE_DIR_ENV = "TFMETA_CACHE_DIR"


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder holding prepared datasets: `path`, else $TFMETA_CACHE_DIR, else ~/.cache/tfmeta."""
    return Path(path or os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "tfmeta").expanduser()

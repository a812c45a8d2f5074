"""Which records `tfmeta verify` has reproduced: `verified.json` beside the records of a folder, naming
each verified record by file name and the sha256 of its bytes, so that an edited record is no longer
verified. TensorFlow-free: the app reads it to mark rows."""

from __future__ import annotations

import functools
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from tfmeta.records import store

VERIFIED = "verified.json"  # listed in store.NOT_RECORDS, so record listings pass it by


def record_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(directory: Path) -> dict:
    """The folder's verified table; empty when it is missing or unreadable (every record then shows as
    unverified). Read with the records' own bounds on size, nesting and lengths."""
    path = Path(directory) / VERIFIED
    if not path.is_file():
        return {}
    try:
        return store.parse(store.read_bytes(path), VERIFIED)
    except (OSError, store.RecordError):
        return {}


def status(path: Path) -> str:
    """ "verified" when `tfmeta verify --mark` reproduced this exact file, else "unverified"."""
    table = _cached(str(path.parent), _stamp(path.parent / VERIFIED))
    return "verified" if is_verified(path, table) else "unverified"


@functools.lru_cache(maxsize=16)
def _cached(directory: str, stamp: tuple) -> dict:
    return load(Path(directory))


def _stamp(path: Path) -> tuple:
    try:
        stat = path.stat()
    except OSError:
        return ()
    return (stat.st_size, stat.st_mtime_ns)


def is_verified(path: Path, table: dict) -> bool:
    entry = table.get(path.name)
    return isinstance(entry, dict) and entry.get("record_sha256") == _safe_digest(path)


def mark(path: Path, episodes: int, weights_sha256: str, version: str) -> None:
    """Adds a verified record to its folder's `verified.json` (written atomically)."""
    directory = path.parent
    table = load(directory)
    table[path.name] = {
        "record_sha256": record_digest(path),
        "weights_sha256": weights_sha256,
        "episodes": episodes,
        "verified": datetime.now(UTC).isoformat(timespec="seconds"),
        "tfmeta_version": version,
    }
    store.replace_json(dict(sorted(table.items())), directory / VERIFIED)


def _safe_digest(path: Path) -> str | None:
    try:
        return record_digest(path)
    except OSError:
        return None

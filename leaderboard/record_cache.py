"""Records the app has read and checked before, kept between its runs, so that a restart does not check
every record again: checking the shipped records' schemas and summaries takes seconds, reading a file that
was checked before takes a millisecond.

For each folder, a JSON file under `$TFMETA_CACHE_DIR` (default `~/.cache/tfmeta`), in `leaderboard/`,
holds the records of that folder that passed, each under the sha256 of its file's bytes. A file whose
bytes are there is taken as read before; any other file is read and checked as
`tfmeta.records.store.load_all` does, so an edited or new record is always checked. The cache names the
code that checked its records (a hash of `tfmeta.records` and its schemas), and is dropped when that
changes. Only records that passed are kept: a skipped file is read and reported again on every load.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import tfmeta.records
from tfmeta.data.locations import cache_dir
from tfmeta.records import store

FOLDER = "leaderboard"


@functools.cache
def code_stamp() -> str:
    """A hash of the records layer's sources and schemas and of the JSON-schema library's version: what
    decides whether a record passes."""
    digest = hashlib.sha256(metadata.version("jsonschema").encode())
    package = Path(tfmeta.records.__file__).parent
    for path in sorted(p for p in package.rglob("*") if p.suffix in {".py", ".json"}):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cache_file(directory: Path, validate: Callable[[Any], None]) -> Path:
    """The cache of the records in `directory` that passed `validate`."""
    name = f"{validate.__module__}.{validate.__qualname__}\0{directory.resolve()}"
    return cache_dir() / FOLDER / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.json"


def _read(path: Path) -> dict[str, dict]:
    """The records of a cache file by the sha256 of their bytes; empty when it is missing, unreadable or
    was written by other code."""
    try:
        with store.open_regular(path, "a cache is a JSON file") as f:
            cached = json.loads(f.read())
    except (OSError, ValueError):  # RecordError (not a regular file) and JSONDecodeError are ValueErrors
        return {}
    if not isinstance(cached, dict) or cached.get("code") != code_stamp():
        return {}
    records = cached.get("records")
    return records if isinstance(records, dict) else {}


def _write(path: Path, records: dict[str, dict]) -> None:
    """Replaces the cache file atomically, readable by its owner only; a cache that cannot be written is
    no error (the next load checks the records again)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"code": code_stamp(), "records": records}, f, allow_nan=False)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError:
        pass


def load_all(directory: str | Path, validate: Callable[[Any], None]) -> store.Loaded:
    """What `store.load_all(directory, validate)` returns, without checking again the records whose exact
    bytes passed before."""
    directory = Path(directory)
    path = cache_file(directory, validate)
    known = _read(path)
    records, skipped, passed = [], [], {}
    for file in sorted(directory.glob("*.json")):
        if file.name in store.NOT_RECORDS:
            continue
        try:
            data = store.read_bytes(file)  # a regular file within the size limit, as store.read reads it
            digest = hashlib.sha256(data).hexdigest()
            record = known.get(digest)
            if record is None:
                record = store.parse(data, file.name)
                validate(record)
        except (store.RecordError, OSError) as err:
            skipped.append((file, str(err)))
            continue
        records.append((file, record))
        passed[digest] = record
    if passed.keys() != known.keys():
        _write(path, passed)
    return store.Loaded(records, skipped)

"""Record files of either kind: schema validation, size limit, atomic writes, reading a folder.

Records are JSON data only: nothing in one is executed or unpickled. The checks of each kind live beside
it (`tfmeta.records.few_shot`, `tfmeta.records.optimizer`) and are passed in as `validate`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

MAX_RECORD_BYTES = 20 * 1024 * 1024


class RecordError(ValueError):
    """A record that is malformed or whose summary disagrees with its own per-episode data."""


def schema(name: str) -> dict:
    """A JSON schema shipped in `tfmeta/records/schemas/`, by file stem."""
    return json.loads(
        resources.files("tfmeta.records").joinpath("schemas", f"{name}.schema.json").read_text()
    )


def check_schema(record: Any, record_schema: dict) -> None:
    """Raises RecordError naming the field of the most relevant schema violation, if any."""
    errors = sorted(
        jsonschema.Draft202012Validator(record_schema).iter_errors(record),
        key=jsonschema.exceptions.relevance,
    )
    if errors:
        field = ".".join(str(step) for step in errors[0].absolute_path) or "(top level)"
        raise RecordError(f"{field}: {errors[0].message}")


def read(path: str | Path, validate: Callable[[Any], None]) -> dict:
    """Reads one record and checks it with `validate`.

    Raises:
        RecordError: when the file is too large, is not JSON, or fails `validate`.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_RECORD_BYTES:
        raise RecordError(f"{path.name} is {size} bytes; records are limited to {MAX_RECORD_BYTES}")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RecordError(f"{path.name} is not valid JSON: {err}") from err
    validate(record)
    return record


def write(record: dict, directory: str | Path, filename: str, validate: Callable[[Any], None]) -> Path:
    """Checks a record with `validate` and writes it atomically as `directory/filename`; never
    overwrites a file.

    Raises:
        RecordError: when the record fails `validate` (nothing is written).
        FileExistsError: when the destination exists.
    """
    validate(record)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    destination = directory / filename
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        # A hard link fails if the destination exists, unlike os.replace, so no record is ever clobbered.
        os.link(tmp, destination)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return destination


@dataclass(frozen=True)
class Loaded:
    """The readable records of a folder and the files skipped, each with its reason."""

    records: list[tuple[Path, dict]]
    skipped: list[tuple[Path, str]]


def load_all(directory: str | Path, validate: Callable[[Any], None]) -> Loaded:
    """Reads every `*.json` record in a folder, skipping (and reporting) malformed ones."""
    records, skipped = [], []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            records.append((path, read(path, validate)))
        except (RecordError, OSError) as err:
            skipped.append((path, str(err)))
    return Loaded(records, skipped)

"""Result records: schema validation, summary checks, atomic reads and writes.

This module never imports TensorFlow, so that the leaderboard can use it. Records are JSON data only:
nothing in one is executed or unpickled.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from tfmeta.bench.stats import mean_ci95

SCHEMA_VERSION = 1
MAX_RECORD_BYTES = 20 * 1024 * 1024
RESULTS_DIR = Path(__file__).resolve().parents[2] / "leaderboard" / "results"
# Summaries are stored rounded to no more than float precision; anything past this is a disagreement.
_TOLERANCE = 1e-9


class RecordError(ValueError):
    """A record that is malformed or whose summary disagrees with its own per-episode data."""


def schema() -> dict:
    return json.loads(resources.files("tfmeta.bench").joinpath("record.schema.json").read_text())


def validate(record: Any, record_schema: dict) -> None:
    """Raises RecordError naming the field of the most relevant schema violation, if any."""
    errors = sorted(
        jsonschema.Draft202012Validator(record_schema).iter_errors(record),
        key=jsonschema.exceptions.relevance,
    )
    if errors:
        field = ".".join(str(step) for step in errors[0].absolute_path) or "(top level)"
        raise RecordError(f"{field}: {errors[0].message}")


def check(record: Any) -> None:
    """Validates a record against the schema and recomputes its summary from per-episode accuracies.

    Raises:
        RecordError: with the first problem found, naming the field.
    """
    validate(record, schema())
    per_episode = record["per_episode"]
    accuracy = record["accuracy"]
    if accuracy["n_episodes"] != len(per_episode):
        raise RecordError(
            f"accuracy.n_episodes is {accuracy['n_episodes']} but per_episode holds {len(per_episode)} values"
        )
    mean, ci95 = mean_ci95(per_episode)
    for name, stored, recomputed in (("mean", accuracy["mean"], mean), ("ci95", accuracy["ci95"], ci95)):
        if not math.isclose(stored, recomputed, rel_tol=0, abs_tol=_TOLERANCE):
            raise RecordError(f"accuracy.{name} is {stored} but the per-episode accuracies give {recomputed}")


def summarize(per_episode: list[float]) -> dict[str, float | int]:
    """The `accuracy` block of a record."""
    mean, ci95 = mean_ci95(per_episode)
    return {"mean": mean, "ci95": ci95, "n_episodes": len(per_episode)}


def read(path: str | Path, validate: Callable[[Any], None] | None = None) -> dict:
    """Reads and checks one record (with `validate`, default `check`).

    Raises:
        RecordError: when the file is too large, is not JSON, or fails `check`.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_RECORD_BYTES:
        raise RecordError(f"{path.name} is {size} bytes; records are limited to {MAX_RECORD_BYTES}")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RecordError(f"{path.name} is not valid JSON: {err}") from err
    (validate or check)(record)
    return record


def write(
    record: dict, directory: str | Path, filename: str, validate: Callable[[Any], None] | None = None
) -> Path:
    """Checks a record (with `validate`, default `check`) and writes it atomically as
    `directory/filename`; never overwrites a file.

    Raises:
        RecordError: when the record fails `check` (nothing is written).
        FileExistsError: when the destination exists.
    """
    (validate or check)(record)
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


def load_all(directory: str | Path = RESULTS_DIR, validate: Callable[[Any], None] | None = None) -> Loaded:
    """Reads every `*.json` record in a folder, skipping (and reporting) malformed ones."""
    records, skipped = [], []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            records.append((path, read(path, validate)))
        except (RecordError, OSError) as err:
            skipped.append((path, str(err)))
    return Loaded(records, skipped)

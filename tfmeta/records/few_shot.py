"""Few-shot result records: their schema, and summaries recomputed from the per-episode accuracies.

A record carries per-episode accuracies, so its mean and 95% confidence interval are checked here rather
than trusted; `tfmeta.records.store` reads and writes the files.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tfmeta.core.stats import mean_ci95
from tfmeta.records import store, text
from tfmeta.records.store import RecordError

SCHEMA_VERSION = 1
# Summaries are stored rounded to no more than float precision; anything past this is a disagreement.
_TOLERANCE = 1e-9


def schema() -> dict:
    return store.schema("few_shot_record")


def check(record: Any) -> None:
    """Validates a record against the schema and recomputes its summary from per-episode accuracies.

    Raises:
        RecordError: with the first problem found, naming the field.
    """
    store.check_schema(record, schema())
    check_names(record)
    check_created(record["provenance"]["created"])
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


def check_names(record: dict) -> None:
    """The names that identify an entry and label its table are identifiers (`tfmeta.records.text`): the
    method, benchmark and profile names, the constructor arguments' names and string values, and the
    protocol fields.

    Raises:
        RecordError: naming the field.
    """
    b, train = record["benchmark"], record["config"].get("train") or {}
    fields = [
        ("method.name", record["method"]["name"], text.NAME),
        ("benchmark.name", b["name"], text.NAME),
        ("profile", record["profile"], text.NAME),
        *((f"benchmark.{k}", b[k], text.TOKEN) for k in ("dataset", "split", "part", "batch_norm") if k in b),
        ("config.train.part", train.get("part", ""), text.TOKEN),
    ]
    for key, value in record["method"]["config"].items():
        fields.append((f"a key of method.config ({text.printable(key)[:40]!r})", key, text.ARGUMENT))
        fields += [(f"method.config.{key}", leaf, text.TOKEN) for leaf in _string_leaves(value)]
    for field, value, pattern in fields:
        try:
            text.check_name(str(value), pattern)
        except text.TextError as err:
            raise RecordError(f"{field}: {err}") from None


def _string_leaves(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _string_leaves(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _string_leaves(item)]
    return []


# A clock a little ahead of ours is a clock, not an attempt to sort first.
_CLOCK_SKEW = timedelta(days=1)


def check_created(created: str) -> None:
    """`provenance.created` is an ISO 8601 time with its UTC offset, and not in the future.

    Raises:
        RecordError: naming the field and the expected form.
    """
    try:
        when = datetime.fromisoformat(created)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise RecordError(
            f"provenance.created is {text.printable(created)[:40]!r}, not an ISO 8601 time with its offset "
            "such as 2026-12-07T13:00:00+00:00"
        )
    if when > datetime.now(UTC) + _CLOCK_SKEW:
        raise RecordError(f"provenance.created is {created}, in the future")


def summarize(per_episode: list[float]) -> dict[str, float | int]:
    """The `accuracy` block of a record."""
    mean, ci95 = mean_ci95(per_episode)
    return {"mean": mean, "ci95": ci95, "n_episodes": len(per_episode)}


def filename(record: dict) -> str:
    """`<benchmark>-<method>-<way>w<shot>s-<profile>-seed<seed>-<created>.json`, safe characters only."""
    b = record["benchmark"]
    seed = record.get("seed", record["config"].get("train", {}).get("seed", 0))
    created = re.sub(r"[^0-9T]", "", record["provenance"]["created"].split("+")[0])[:15] + "Z"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", record["method"]["name"])
    return f"{b['name']}-{name}-{b['way']}w{b['shot']}s-{record['profile']}-seed{seed}-{created}.json"


def read(path: str | Path) -> dict:
    return store.read(path, check)


def write(record: dict, directory: str | Path, filename: str) -> Path:
    return store.write(record, directory, filename, check)


def write_new(record: dict, directory: str | Path) -> Path:
    """Writes a record under `filename(record)`, or under `...-2.json`, `...-3.json`, ... when a record
    already holds that name: two variants of one method (matching with scale 10 and scale 1, say) whose
    trainings start in the same second name their records alike. Never overwrites a file."""
    base = filename(record).removesuffix(".json")
    for name in [f"{base}.json", *(f"{base}-{n}.json" for n in range(2, 100))]:
        try:
            return write(record, directory, name)
        except FileExistsError:
            continue
    raise FileExistsError(f"{Path(directory) / base}.json and 98 numbered alternatives exist")


def load_all(directory: str | Path) -> store.Loaded:
    """The readable few-shot records of a folder (not its `optimizers/` subfolder) and the skipped files."""
    return store.load_all(directory, check)

"""Record files of either kind: schema validation, size limit, atomic writes, reading a folder.

Records are JSON data only: nothing in one is executed or unpickled. The checks of each kind live beside
it (`tfmeta.records.few_shot`, `tfmeta.records.optimizer`) and are passed in as `validate`.
"""

from __future__ import annotations

import functools
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import jsonschema

from tfmeta.records import text

# Limits enforced while reading, before any schema check: records are small, shallow data (the committed
# ones nest 6 levels, hold strings of under 1,000 characters and lists of at most 1,000 per-episode values).
MAX_RECORD_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 16
MAX_STRING = 10_000
MAX_ITEMS = 100_000
# Whole numbers beyond 2**53 lose precision in JSON readers and overflow the app's int64 columns.
MAX_INTEGER = 2**53


# JSON files that live beside the records but are not records (`tfmeta.records.trust`).
NOT_RECORDS = {"verified.json"}


class RecordError(ValueError):
    """A record that is malformed or whose summary disagrees with its own per-episode data."""


def schema(name: str) -> dict:
    """A JSON schema shipped in `tfmeta/records/schemas/`, by file stem."""
    return json.loads(
        resources.files("tfmeta.records").joinpath("schemas", f"{name}.schema.json").read_text()
    )


# Python types that are surely of a JSON-schema type (bool, a JSON boolean, is neither).
_PLAIN = {"number": (int, float), "integer": (int,)}


def _number_items(validator, items, instance, schema):
    """The `items` keyword, with a shortcut for arrays of plain numbers or whole numbers in a range (a
    record's 1,000 per-episode accuracies, an analysis's step counts): one pass over the values instead of
    a schema descent per value, which was most of the time a record's check takes. Any value that fails
    the shortcut gets the full check, so the errors and their messages are jsonschema's own."""
    if (
        isinstance(items, dict)
        and items.keys() <= {"type", "minimum", "maximum"}
        and isinstance(items.get("type"), str)
        and items["type"] in _PLAIN
        and "prefixItems" not in schema
        and isinstance(instance, list)
    ):
        types = _PLAIN[items["type"]]
        low, high = items.get("minimum", -math.inf), items.get("maximum", math.inf)
        if all(type(x) in types and low <= x <= high for x in instance):
            return
    yield from _ITEMS(validator, items, instance, schema)


_ITEMS = jsonschema.Draft202012Validator.VALIDATORS["items"]
_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"items": _number_items})


@functools.lru_cache(maxsize=16)
def _validator(schema_text: str):
    return _Validator(json.loads(schema_text))


def check_schema(record: Any, record_schema: dict) -> None:
    """Raises RecordError naming the field of the most relevant schema violation, if any."""
    validator = _validator(json.dumps(record_schema, sort_keys=True))  # built once per schema
    errors = sorted(validator.iter_errors(record), key=jsonschema.exceptions.relevance)
    if errors:
        field = ".".join(str(step) for step in errors[0].absolute_path) or "(top level)"
        raise RecordError(f"{field}: {errors[0].message}")


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a record file, never more than the size limit plus one byte. Only a regular file is
    opened, and without blocking: a FIFO or a device named `*.json` is refused before anything is read.

    Raises:
        RecordError: when it is not a regular file or is over the size limit.
        OSError: when it cannot be read.
    """
    return read_stamped(path)[0]


def read_stamped(path: str | Path) -> tuple[bytes, os.stat_result]:
    """`read_bytes`, with the file's status as it was while it was read: an index keyed by size and
    times must not pair bytes with the status of a later version.

    Raises:
        RecordError: when it is not a regular file, is over the size limit, or changed while it was read.
        OSError: when it cannot be read.
    """
    path = Path(path)
    with open_regular(path) as f:
        before = os.fstat(f.fileno())
        data = f.read(MAX_RECORD_BYTES + 1)
        after = os.fstat(f.fileno())
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"{path.name} is too large; records are limited to {MAX_RECORD_BYTES} bytes")
    if _stamp(before) != _stamp(after) or len(data) != after.st_size:
        raise RecordError(f"{text.printable(path.name)} changed while it was read; read it again")
    return data, after


def _stamp(status: os.stat_result) -> tuple[int, int, int]:
    return status.st_size, status.st_mtime_ns, status.st_ctime_ns


def open_regular(path: str | Path, expected: str = "a record is a JSON file") -> BinaryIO:
    """A regular file opened for reading in binary mode. The type is checked before opening (`stat` never
    blocks) and again on the open descriptor, opened with O_NONBLOCK so that a FIFO swapped in between
    cannot block either. `expected` says what the file should have been, for the refusal.

    Raises:
        RecordError: when `path` is a device, pipe, socket or folder.
        OSError: when it cannot be opened.
    """
    path = Path(path)
    if not stat.S_ISREG(path.stat().st_mode):
        raise _not_regular(path, expected)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _not_regular(path, expected)
    return os.fdopen(fd, "rb")


def _not_regular(path: Path, expected: str) -> RecordError:
    return RecordError(f"{text.printable(path)} is not a regular file (a device, pipe or folder); {expected}")


def parse(data: bytes, name: str = "record") -> dict:
    """Parses a record's bytes as a JSON object of finite numbers within the limits on size, nesting,
    string length and list length.

    Raises:
        RecordError: naming the first problem.
    """
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"{name} is {len(data)} bytes; records are limited to {MAX_RECORD_BYTES}")
    try:
        record = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError as err:
        raise RecordError(f"{name} is nested deeper than a record may be ({MAX_DEPTH} levels)") from err
    except (UnicodeDecodeError, ValueError) as err:  # JSONDecodeError, a non-finite or oversized number
        raise RecordError(f"{name} is not valid JSON: {err}") from err
    if not isinstance(record, dict):
        raise RecordError(f"{name} holds a JSON {type(record).__name__}, not a record object")
    check_limits(record, name)
    return record


def check_limits(record: Any, name: str = "record") -> None:
    """Raises RecordError naming the field that nests deeper than MAX_DEPTH, is a non-finite number or a
    whole number beyond MAX_INTEGER, holds a string longer than MAX_STRING or one that is not plain text
    (`tfmeta.records.text.check`), or a list or object of more than MAX_ITEMS entries. Iterative, so depth
    cannot exhaust the stack."""
    pending = [(record, "", 1)]
    while pending:
        value, where, depth = pending.pop()
        field = where.lstrip(".") or "(top level)"
        if depth > MAX_DEPTH:
            raise RecordError(f"{name}: {field[:200]} nests deeper than {MAX_DEPTH} levels")
        _check_scalar(value, field, name)
        if isinstance(value, list | dict) and len(value) > MAX_ITEMS:
            raise RecordError(f"{name}: {field} holds {len(value)} entries (limit {MAX_ITEMS})")
        if isinstance(value, list):
            if depth < MAX_DEPTH and (
                all(type(x) is float and math.isfinite(x) for x in value)
                or all(type(x) is int and -MAX_INTEGER <= x <= MAX_INTEGER for x in value)
            ):
                continue  # finite floats and whole numbers in range pass every check: one pass over them
            pending += [(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_scalar(key, f"a key of {field}", name)
                pending.append((item, f"{where}.{key}", depth + 1))


def _check_scalar(value: Any, field: str, name: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(f"{name}: {field} is {value}, not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        raise RecordError(f"{name}: {field} is a whole number beyond +-2**53, out of any record's range")
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise RecordError(f"{name}: {field} is a string of {len(value)} characters (limit {MAX_STRING})")
        try:
            text.check(value)
        except text.TextError as err:
            raise RecordError(f"{name}: {field} {err}") from None


def _refuse_constant(constant: str):
    raise ValueError(f"{constant} is not a number a record may hold")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is not a finite number")
    return value


def read(path: str | Path, validate: Callable[[Any], None]) -> dict:
    """Reads one record (see `parse`) and checks it with `validate`.

    Raises:
        RecordError: when the file is not a regular file, too large, not JSON within the limits, or
            fails `validate`.
    """
    path = Path(path)
    record = parse(read_bytes(path), path.name)
    validate(record)
    return record


def write(record: dict, directory: str | Path, filename: str, validate: Callable[[Any], None]) -> Path:
    """Checks a record with `validate` and writes it atomically as `directory/filename`; never
    overwrites a file.

    Raises:
        RecordError: when the record is past a limit of `check_limits` or fails `validate` (nothing is
            written).
        FileExistsError: when the destination exists.
    """
    check_limits(record, filename)
    validate(record)
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise RecordError(f"the results folder {directory} is a file; name a folder instead")
    directory.mkdir(parents=True, exist_ok=True)
    destination = directory / filename
    # A hard link fails if the destination exists, unlike os.replace, so no record is ever clobbered.
    _publish(serialise(record, filename), destination, os.link)
    return destination


def serialise(record: dict, name: str = "record") -> str:
    """A record as stored: indented for reading, or compact where indentation would take it past the size
    limit, so that every record written can be read back.

    Raises:
        RecordError: when even the compact form is over the size limit.
    """
    indented = json.dumps(record, indent=1, allow_nan=False) + "\n"
    if len(indented) <= MAX_RECORD_BYTES:  # ASCII: characters are bytes
        return indented
    compact = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n"
    size = len(compact.encode("utf-8"))
    if size > MAX_RECORD_BYTES:
        raise RecordError(f"{name} would be {size} bytes stored; records are limited to {MAX_RECORD_BYTES}")
    return compact


def move_aside(path: Path, folder: str) -> Path:
    """Moves a record into the subfolder `folder` beside it (kept on disk, no longer read with its
    folder); never overwrites a file there."""
    destination = path.parent / folder / path.name
    destination.parent.mkdir(exist_ok=True)
    os.link(path, destination)
    path.unlink()
    return destination


def replace_json(data: Any, path: Path) -> None:
    """Writes JSON data atomically over `path` (a file beside the records that is rewritten, such as
    `verified.json`), with the records' mode."""
    _publish(json.dumps(data, indent=1, allow_nan=False) + "\n", path, os.replace)


def _publish(content: str, destination: Path, place: Callable[[str, Path], None]) -> None:
    """Writes `content` to a temporary file beside `destination`, then `place`s it there."""
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=".", suffix=".json.tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; records are for sharing
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        place(tmp, destination)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@dataclass(frozen=True)
class Loaded:
    """The readable records of a folder and the files skipped, each with its reason."""

    records: list[tuple[Path, dict]]
    skipped: list[tuple[Path, str]]


def load_all(directory: str | Path, validate: Callable[[Any], None]) -> Loaded:
    """Reads every `*.json` record in a folder, skipping (and reporting) malformed ones."""
    records, skipped = [], []
    for path in sorted(Path(directory).glob("*.json")):
        if path.name in NOT_RECORDS:
            continue
        try:
            records.append((path, read(path, validate)))
        except (RecordError, OSError) as err:
            skipped.append((path, str(err)))
    return Loaded(records, skipped)

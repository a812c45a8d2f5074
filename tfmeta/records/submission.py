"""Submitting a result record to the leaderboard: every check in one place, for the CLI and the app.

A submission is accepted only when it is a JSON object within the size limit, passes the record schema,
its summary agrees with its per-episode accuracies, and its episodes hash is the hash of the benchmark's
frozen test episodes (so it answered exactly the episodes every other method answered). Then it is
written atomically into the results folder, beside the others, which are never touched. Records are data
only: they are parsed as JSON, never executed or unpickled. Imports no TensorFlow (Lake's runs are
hashed from the archive's bytes, without decoding an image).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from tfmeta.config import specs
from tfmeta.core import lake_runs, locks
from tfmeta.core.episode_index import EpisodeIndex, EpisodeKey
from tfmeta.core.errors import ArchiveError
from tfmeta.records import entries, few_shot, locations, store, text


class SubmissionError(store.RecordError):
    """A rejected submission; the message says why. Nothing was stored."""


class AlreadyStored(SubmissionError):
    """The very record submitted is stored already, at `path` (`tfmeta run` writes its record where the
    leaderboard reads it): nothing to do, and nothing was stored again."""

    WAITING = " (waiting for `tfmeta verify --mark`)"

    def __init__(self, path: Path):
        self.path, self.pending = path, path.parent.name == PENDING
        where = f"{PENDING}/{path.name}{self.WAITING}" if self.pending else path.name
        super().__init__(f"this record is already stored as {where}; nothing to do")


def parse(data: bytes, name: str = "record") -> dict:
    """Parses the bytes of a submitted record (`tfmeta.records.store.parse`).

    Raises:
        SubmissionError: when too large, not UTF-8 JSON, not an object, or past a limit.
    """
    try:
        return store.parse(data, name)
    except store.RecordError as err:
        raise SubmissionError(str(err)) from err


def verify(record: dict, benchmarks: list[Path] | None = None, data_dir: str | Path | None = None) -> str:
    """Runs every check on a parsed record; returns the name of the test set it was verified against.

    Args:
        record: the parsed record.
        benchmarks: the spec files to look the benchmark up in. Defaults to those in `benchmarks/`.

    Raises:
        SubmissionError: naming the first problem found.
    """
    try:
        few_shot.check(record)
    except store.RecordError as err:
        raise SubmissionError(f"the record is malformed: {err}") from err
    benchmark = find_benchmark(record["benchmark"]["name"], benchmarks)
    check_protocol(record, benchmark)
    if benchmark.data["test"].get("source") == "lake_runs":
        name, expected = "Lake et al.'s one-shot runs", lake_runs_hash(data_dir)
    else:
        path = episodes_file(record, benchmark)
        name, expected = path.name, _frozen_hash(path)
    if record["episodes_hash"] != expected:
        raise SubmissionError(
            f"episodes_hash {record['episodes_hash']} is not the hash of the benchmark's test set {name} "
            f"({expected}); the record was not evaluated on the official episodes"
        )
    return name


def check_protocol(record: dict, benchmark: specs.Benchmark) -> None:
    """The record's dataset, split, test part, query count and episode count agree with the spec.

    Raises:
        SubmissionError: naming the field that disagrees.
    """
    b, data, test = record["benchmark"], benchmark.data, benchmark.data["test"]
    expected = {
        "dataset": data["dataset"],
        "split": data["split"],
        "part": test.get("source", test["part"]),
        "query": test["query"],
        "batch_norm": test.get("batch_norm", "inductive"),
    }
    for field, value in expected.items():
        if b.get(field) != value:
            raise SubmissionError(
                f"benchmark.{field} is {b.get(field)!r} but benchmark {b['name']!r} uses {value!r}"
            )
    check_budget(record, benchmark)
    check_seed(record)
    count = record["config"].get("test_episodes")
    if test.get("source") is None and count != record["accuracy"]["n_episodes"]:
        raise SubmissionError(
            f"config.test_episodes is {count!r} but the record holds "
            f"{record['accuracy']['n_episodes']} episodes"
        )


def check_seed(record: dict) -> None:
    """The training seed a record states (`seed`) is the one its training block ran with.

    Raises:
        SubmissionError: naming both fields.
    """
    stated, trained = record.get("seed"), (record["config"].get("train") or {}).get("seed")
    if stated is not None and trained is not None and stated != trained:
        raise SubmissionError(
            f"seed is {stated} but config.train.seed is {trained}: the record contradicts itself about its "
            "training seed"
        )


CUSTOM = "custom"  # the profile name of a record trained on a budget of its own


def check_budget(record: dict, benchmark: specs.Benchmark) -> None:
    """A record that names one of the spec's profiles trained as that profile says (the part, episode
    shape and number of episodes of its `train` block, for its method); any other budget is `custom`.

    Raises:
        SubmissionError: naming the field that disagrees, or the valid profile names.
    """
    profile = record["profile"]
    profiles = list(benchmark.data["profiles"])
    if profile == CUSTOM:
        return
    if profile not in profiles:
        raise SubmissionError(
            f"profile {profile!r} is not a profile of {benchmark.name}; valid: {', '.join(profiles)}, or "
            f"{CUSTOM!r} for a budget of its own"
        )
    expected = benchmark.method_profile(profile, record["method"]["name"])["train"]
    train = record["config"].get("train") or {}
    for field in ("part", "way", "query", "episodes"):
        if field in expected and train.get(field) != expected[field]:
            raise SubmissionError(
                f"config.train.{field} is {train.get(field)!r} but the {profile} profile of {benchmark.name} "
                f"trains {record['method']['name']} with {expected[field]!r}; name the profile {CUSTOM!r} "
                "for a budget of its own"
            )


def episodes_file(record: dict, benchmark: specs.Benchmark) -> Path:
    """The frozen episode file a record's setting, test-episode count and the spec's seed identify.

    Raises:
        SubmissionError: when the benchmark has no such file.
    """
    b, data, test = record["benchmark"], benchmark.data, benchmark.data["test"]
    count = record["config"]["test_episodes"]
    key = EpisodeKey(
        data["dataset"], data["split"], test["part"], b["way"], b["shot"], test["query"], count, test["seed"]
    )
    path = benchmark.episodes_dir / key.filename
    if not path.is_file():
        raise SubmissionError(
            f"benchmark {b['name']!r} has no frozen test episodes {key.filename} for {b['way']}-way "
            f"{b['shot']}-shot with {count} episodes; only results on frozen episodes can be ranked"
        )
    return path


def _frozen_hash(path: Path) -> str:
    try:
        return EpisodeIndex.load(path).hash
    except (OSError, ValueError, KeyError) as err:
        raise SubmissionError(f"cannot read the frozen episodes {path.name}: {err}") from err


def lake_runs_hash(data_dir: str | Path | None = None) -> str:
    """The content hash of Lake et al.'s runs archive in `data_dir`, else as `tfmeta run` finds it
    ($TFMETA_DATA_DIR).

    Raises:
        SubmissionError: when the archive cannot be read, saying how to point at it.
    """
    try:
        return lake_runs.archive_hash(data_dir)
    except ArchiveError as err:
        raise SubmissionError(f"cannot verify against Lake et al.'s runs: {err}") from err


def find_benchmark(name: str, benchmarks: list[Path] | None = None) -> specs.Benchmark:
    """The shipped benchmark spec called `name` (looked up by its declared name, never as a path)."""
    candidates = specs.available() if benchmarks is None else benchmarks
    for path in candidates:
        benchmark = specs.load(path)
        if benchmark.name == name:
            return benchmark
    known = ", ".join(specs.load(path).name for path in candidates)
    raise SubmissionError(f"unknown benchmark {name!r}; known benchmarks: {known}")


PENDING = "pending"  # the subfolder where the app's uploads wait for the operator (`tfmeta verify --mark`)


def submit(
    data: bytes,
    results_dir: str | Path,
    name: str = "record",
    benchmarks: list[Path] | None = None,
    data_dir: str | Path | None = None,
    pending: bool = False,
) -> Path:
    """Checks a submitted record and stores it in `results_dir` (in its `pending/` subfolder when
    `pending`: never ranked until the operator verifies it); returns the new file. `data_dir` holds Lake et
    al.'s runs archive, for records on those runs (default: $TFMETA_DATA_DIR). The checks against stored
    records and the write happen under the folder's lock, so two submissions of one seed cannot both land.

    Raises:
        AlreadyStored: when the same record is stored already (in the folder or its `pending/` area).
        SubmissionError: with the reason; nothing is stored.
    """
    record = parse(data, name)
    verify(record, benchmarks, data_dir)
    results_dir = Path(results_dir)
    if results_dir.exists() and not results_dir.is_dir():
        raise SubmissionError(f"the results folder {results_dir} is a file; name a folder instead")
    try:
        with locks.folder(results_dir):
            return _store(record, results_dir, pending)
    except PermissionError as err:
        raise SubmissionError(f"cannot write the results folder {results_dir}: {err.strerror}") from err


def _store(record: dict, results_dir: Path, pending: bool) -> Path:
    digest = _digest(record)
    stored = _stored(results_dir) + _stored(results_dir / PENDING)  # read once for every check
    check_name_is_distinct(record["method"]["name"], [other for _, other in stored] + _shipped())
    same = next((path for path, other in stored if other == record), None)
    if same:
        raise AlreadyStored(same)
    duplicate, sibling = _holders(record, stored)
    if duplicate:
        raise SubmissionError(
            f"another record with this result (the same accuracy on every episode) is already on the "
            f"leaderboard as {duplicate.name}; a result counts once: remove that record to replace it"
        )
    if sibling:
        raise SubmissionError(
            f"seed {entries.training_seed(record)} of this entry (same method, config, training budget and "
            f"protocol, on the same episodes) is already on the leaderboard as {sibling.name}; one training "
            "seed counts once: train with another --seed, or remove that record to replace it"
        )
    folder = results_dir / PENDING if pending else results_dir
    try:
        return few_shot.write(record, folder, filename(record, digest))
    except FileExistsError as err:
        raise SubmissionError(f"this record is already on the leaderboard: {err}") from err


def admit(path: Path) -> Path:
    """Moves a pending record (`pending/` of a results folder) onto the leaderboard beside it, once the
    operator has verified it; the stored records are checked again under the folder's lock, since one may
    have landed while it waited.

    Raises:
        SubmissionError: when it is a copy, or a second record of a seed, of a record now stored.
    """
    board = path.parent.parent
    with locks.folder(board):
        record = few_shot.read(path)
        duplicate, sibling = _holders(record, _stored(board))
        if duplicate or sibling:
            holder = (duplicate or sibling).name
            raise SubmissionError(f"{path.name} is pending, but {holder} now holds its result")
        destination = board / path.name
        os.link(path, destination)  # fails rather than overwrite a stored record
        path.unlink()
        return destination


def check_name_is_distinct(name: str, others: list[dict]) -> None:
    """A method name that looks like another entry's name without being it ("pr0tonet", "ProtoNet" beside
    "protonet") is refused: on a leaderboard it would pass for that entry.

    Raises:
        SubmissionError: naming both names.
    """
    mine = text.skeleton(name)
    for other in others:
        theirs = (other.get("method") or {}).get("name")
        if isinstance(theirs, str) and theirs != name and text.skeleton(theirs) == mine:
            raise SubmissionError(
                f"method name {name!r} looks like {theirs!r}, the name of another entry; give your method "
                "a name of its own"
            )


def _shipped() -> list[dict]:
    """The shipped records, for names they own."""
    return [record for _, record in _stored(locations.shipped_results_dir())]


def submit_file(
    path: str | Path,
    results_dir: str | Path,
    benchmarks: list[Path] | None = None,
    data_dir: str | Path | None = None,
) -> Path:
    """`submit` for a record file; never reads more than the size limit."""
    path = Path(path)
    try:
        data = store.read_bytes(path)
    except store.RecordError as err:
        raise SubmissionError(str(err)) from err
    except OSError as err:
        raise SubmissionError(f"cannot read {path}: {err.strerror or err}") from err
    return submit(data, results_dir, path.name, benchmarks, data_dir)


def filename(record: dict, digest: str) -> str:
    """`<benchmark>-<method>-<way>w<shot>s-<profile>-<content digest>.json`, safe characters only."""
    b = record["benchmark"]
    parts = [b["name"], record["method"]["name"], f"{b['way']}w{b['shot']}s", record["profile"], digest[:12]]
    return "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", str(part))[:60] for part in parts) + ".json"


def _digest(record: dict) -> str:
    """A result's identity: the frozen episodes it answered and its accuracy on each. A copy that differs
    only in names, notes or provenance is the same result."""
    content = {"episodes_hash": record.get("episodes_hash"), "per_episode": record.get("per_episode")}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _stored(directory: Path) -> list[tuple[Path, dict]]:
    """The readable JSON objects in a results folder (files that are not, skipped)."""
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            found.append((path, store.parse(store.read_bytes(path), path.name)))
        except (OSError, store.RecordError):
            continue
    return found


def _holders(record: dict, stored: list[tuple[Path, dict]]) -> tuple[Path | None, Path | None]:
    """The stored record holding the same result (a copy), and the one holding the same entry's seed."""
    digest = _digest(record)
    duplicate = next((path for path, other in stored if _digest(other) == digest), None)
    sibling = next((path for path, other in stored if _same_seed(other, record)), None)
    return duplicate, sibling


def _same_seed(other: dict, record: dict) -> bool:
    """Whether a stored record is of the same entry and training seed on the same episodes."""
    try:
        return (
            other.get("kind", "few_shot") == record.get("kind", "few_shot")
            and other.get("episodes_hash") == record["episodes_hash"]
            and entries.training_seed(other) == entries.training_seed(record)
            and entries.entry_key(other) == entries.entry_key(record)
        )
    except (KeyError, TypeError, AttributeError, ValueError):
        return False  # not a few-shot record this check can read

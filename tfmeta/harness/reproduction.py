"""`tfmeta verify`: a record is trusted when its own trained weights, re-evaluated on the frozen episodes
it names, reproduce every per-episode accuracy it holds.

The method is re-created from the record's import path and constructor config, its weights are found by
the sha256 the record names, test-time hyperparameters are re-tuned on the same validation episodes, and
the frozen test episodes are answered again through the harness's own `evaluate`. The first episode whose
accuracy differs (beyond a stated tolerance) is named.

A record is data anyone can write, so what it names is checked before it is used: its import path is
imported only for a built-in method, an installed `tfmeta.methods` entry point, or a module the user allows
(`tfmeta verify --allow-import MODULE`); its weights must be a Keras weights file, checked before any data
is read, and are loaded from the very bytes whose sha256 it names.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tfmeta.core import registries
from tfmeta.core.contract import is_file_path
from tfmeta.core.errors import UserError
from tfmeta.records import few_shot, locations, store, submission

# Accuracies are counts over the queries; a tolerance only absorbs float formatting, never a flipped query.
TOLERANCE = 1e-9
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_CLASS = re.compile(r"[A-Za-z_]\w*")


class VerificationError(UserError, ValueError):
    """A record that cannot be verified, or whose re-evaluation disagrees; the message says which."""


class EpisodeDiffers(VerificationError):
    """A re-evaluation that scored an episode differently on this machine: `path`, `record_sha256` and
    `weights_sha256` say what was re-evaluated and `detail` how it differed, so that the outcome can be
    kept beside other machines'."""

    def __init__(self, message: str, path: Path, record_sha256: str, weights_sha256: str, detail: str):
        super().__init__(message)
        self.path, self.record_sha256, self.weights_sha256 = path, record_sha256, weights_sha256
        self.detail = detail


@dataclass(frozen=True)
class Verified:
    """A reproduced record: its episodes, the weights file used, and the sha256s of the record's bytes as
    read for the verification and of the weights."""

    path: Path
    episodes: int
    weights: Path
    record_sha256: str | None = None
    weights_sha256: str | None = None
    source_changed: str | None = None  # `source_change`'s note, when the method's file is not the record's


@dataclass(frozen=True)
class Trained:
    """A record's trained method (`model`, with the `weights` file of sha256 `weights_sha256` loaded),
    and the plan and data it was built with."""

    path: Path
    record: dict
    model: object
    weights: Path
    weights_sha256: str
    plan: object
    data: object
    source_changed: str | None = None  # `source_change`'s note


@dataclass(frozen=True)
class Sources:
    """Where re-evaluating a record looks up what it names: its trained weights under `directories`
    (`weights_dirs`), in the weights cache of `cache_dir` or downloaded from `weights_url` (all by
    `find_weights`); the dataset archives in `data_dir` and the prepared data in `cache_dir`; and the
    modules besides the registered methods' that its import path may name (`allow_imports`, see
    `method_to_build`)."""

    directories: Sequence[Path]
    data_dir: str | Path | None = None
    cache_dir: str | Path | None = None
    allow_imports: Iterable[str] = ()
    weights_url: str | None = None


@dataclass(frozen=True)
class _Checked:
    """What a record names, checked before any data is read: the method to build, its weights file."""

    method: str
    weights: Path
    weights_sha256: str


def weights_dirs(extra: list[Path] | None = None) -> list[Path]:
    """Where trained weights are looked for: the folders given, ./runs, and the shipped weights (in a
    checkout; an installed package has none). `find_weights` adds the cache and downloads."""
    return [*(extra or []), Path("runs"), locations.shipped_weights_dir()]


def find_weights(
    sha256: str, directories: list[Path], cache_dir=None, weights_url: str | None = None
) -> Path:
    """The `.weights.h5` file with this sha256: under any of `directories` or in the weights cache
    (`weights_store.cache_folder(cache_dir)`), else downloaded into that cache from `weights_url` (else
    $TFMETA_WEIGHTS_URL) as `<url>/<sha256>.weights.h5`, kept only when its bytes have that sha256. Only
    regular files are read: a FIFO or device of that name is passed by, never waited on.

    Raises:
        VerificationError: naming the folders searched and how to download (no URL is published yet),
            or why the download failed.
    """
    from tfmeta.harness import weights_store

    directories = [*directories, weights_store.cache_folder(cache_dir)]
    for directory in directories:  # weights are named by their hash: a direct look first
        named = Path(directory) / f"{sha256}.weights.h5"
        if _digest(named) == sha256:
            return named
    for directory in directories:
        for path in sorted(Path(directory).rglob("*.weights.h5")) if Path(directory).is_dir() else []:
            if _digest(path) == sha256:
                return path
    searched = ", ".join(str(d) for d in directories)
    base = weights_store.base_url(weights_url)
    if base is None:
        raise VerificationError(
            f"no trained weights with sha256 {sha256[:16]}... under {searched}, and no URL to download "
            f"them from (tfmeta publishes its weights at none yet): set ${weights_store.WEIGHTS_URL_ENV} "
            "or pass --weights-url with a URL that serves <sha256>.weights.h5 files, or pass the folder "
            "that holds them with --weights-dir"
        )
    try:
        return weights_store.download(sha256, base, cache_dir)
    except weights_store.DownloadError as err:
        raise VerificationError(
            f"no trained weights with sha256 {sha256[:16]}... under {searched}, and {err}"
        ) from None


def _digest(path: Path) -> str | None:
    """The sha256 of a regular, non-empty file; None for anything else, or when it cannot be read."""
    try:
        if not os.stat(path).st_size:
            return None
        with store.open_regular(path) as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except (OSError, store.RecordError):  # missing, unreadable, or not a regular file
        return None


def read_record(path: str | Path) -> tuple[dict, str]:
    """A record to verify, checked, and the sha256 of the bytes it was read from.

    Raises:
        VerificationError: naming the file and why it is no record (missing, a folder, a device,
            unreadable, or invalid).
    """
    path = Path(path)
    if path.is_dir():
        raise VerificationError(f"{path} is a folder; name the record files in it ({path}/*.json)")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or device is never opened
            raise VerificationError(f"{path} is not a regular file (a device or FIFO); name a JSON record")
        data = store.read_bytes(path)
        record = store.parse(data, path.name)
        few_shot.check(record)
    except FileNotFoundError:
        raise VerificationError(f"{path}: no such file; name a record's JSON file") from None
    except OSError as err:
        raise VerificationError(f"{path}: cannot be read ({err.strerror or err})") from None
    except store.RecordError as err:
        raise VerificationError(f"{path.name}: not a valid record: {err}") from None
    return record, hashlib.sha256(data).hexdigest()


def method_to_build(record: dict, allow_imports: Iterable[str] = ()) -> str:
    """The method a record names, as `methods.get` takes it: its registered name where the import path is
    that name's, else the import path. Nothing is imported here.

    Args:
        allow_imports: modules (with their submodules) the user allows to be imported although they are
            neither built in nor installed entry points.

    Raises:
        VerificationError: when the import path is malformed, or names a module that is neither registered
            nor allowed (saying how to allow it).
    """

    name, import_path = record["method"]["name"], record["method"]["import_path"]
    module, _, cls = import_path.partition(":")
    if is_file_path(module):  # `path/to/file.py:Class`, allowed by naming that file
        if "\0" in module or not _CLASS.fullmatch(cls):
            raise VerificationError(f"its method import path {import_path!r} is not path/to/file.py:Class")
        mine = registries.file_reference(module)
        allowed = any(is_file_path(m) and registries.file_reference(m) == mine for m in allow_imports)
    elif _MODULE.fullmatch(module) and _CLASS.fullmatch(cls):
        allowed = any(module == m or module.startswith(f"{m}.") for m in allow_imports)
    else:
        raise VerificationError(f"its method import path {import_path!r} is not package.module:Class")
    if not (allowed or registries.is_registered_method(import_path)):
        raise VerificationError(
            f"its method {import_path} is neither built in nor an installed tfmeta.methods entry point, and "
            f"verifying it would import and run {'file' if is_file_path(module) else 'module'} {module}; if "
            f"you trust that code, pass --allow-import {module}"
        )
    try:  # the registered name where it is one, so the profile's per-method entries apply as in the run
        return name if registries.method_import_path(name) == import_path else import_path
    except registries.UnknownMethodError:
        return import_path


def _check(path: Path, record: dict, sources: Sources) -> _Checked:
    """Checks, before any data is read, that a record's method may be imported (`sources.allow_imports`)
    and that the weights it names exist (found or downloaded by `find_weights` where `sources` says) and
    are a Keras weights file.

    Raises:
        VerificationError: naming the record and the problem.
    """
    from tfmeta.harness import training

    sha = (record.get("weights") or {}).get("sha256")
    try:
        method = method_to_build(record, sources.allow_imports)
        if sha is None:
            raise VerificationError(
                "it names no trained weights (records made before tfmeta recorded them); run it again to get "
                "a verifiable record"
            )
        weights = find_weights(sha, sources.directories, sources.cache_dir, sources.weights_url)
        with training.checked_weights(weights, sha):
            pass
    except (VerificationError, training.WeightsError) as err:
        raise VerificationError(f"{path.name}: {err}") from None
    return _Checked(method, weights, sha)


def _build(path: Path, record: dict, checked: _Checked, sources: Sources) -> Trained:
    """The record's method, built on its plan's data (from `sources.data_dir` and `sources.cache_dir`), with
    its checked weights loaded.

    Raises:
        VerificationError: naming the record, when what it names cannot be planned, built or loaded.
    """
    from tfmeta import methods
    from tfmeta.config import specs
    from tfmeta.core import contract
    from tfmeta.harness import building, planning, training

    b = record["benchmark"]
    refused = (
        store.RecordError, specs.SpecError, registries.UnknownMethodError, methods.MethodConfigError,
        contract.ContractError, training.WeightsError,
    )  # fmt: skip
    try:
        benchmark = submission.find_benchmark(b["name"])
        options = planning.RunOptions(
            spec=benchmark.path, method=checked.method, profile=record["profile"], way=b["way"],
            shot=b["shot"], data_dir=sources.data_dir, cache_dir=sources.cache_dir, verbose=0,
            seed=record.get("seed"),
        )  # fmt: skip
        the_plan = planning.plan(options)
        method_class = methods.get(options.method)
        data = building.load_data(the_plan, options)
        model = building.build_method(the_plan, method_class, record["method"]["config"], data)
        training.load_weights(model, checked.weights, checked.weights_sha256)
    except refused as err:
        raise VerificationError(f"{path.name}: {err}") from None
    changed = source_change(record, method_class)
    return Trained(path, record, model, checked.weights, checked.weights_sha256, the_plan, data, changed)


def source_change(record: dict, method_class: type) -> str | None:
    """A note when the source file of the record's external method is not the one it was run with (its
    `provenance.method_source` hash): a re-evaluation then tests other code. None when the same, or when
    the record names no source (a built-in method, or a record made before sources were hashed)."""
    from tfmeta.harness import provenance

    then = (record.get("provenance") or {}).get("method_source")
    if not then:
        return None
    now = provenance.method_source(method_class, record["method"]["import_path"])
    if now and now["sha256"] == then["sha256"]:
        return None
    found = f"sha256 {now['sha256'][:12]}... now" if now else "no source file found now"
    return (
        f"the method's source {then['path']} differs from the one the record was run with (sha256 "
        f"{then['sha256'][:12]}... then, {found}); use the file of that hash to check the code that made it"
    )


def load_trained(path: Path, sources: Sources) -> Trained:
    """The trained method of a record: re-created from its import path and constructor config, with the
    weights its sha256 names; and the run's plan and data. `sources` says where they are looked for.

    Raises:
        VerificationError: when the record cannot be read, names a method that may not be imported, names
            no weights, or they cannot be found or loaded.
    """
    path = Path(path)
    record, _ = read_record(path)
    return _build(path, record, _check(path, record, sources), sources)


def verify(path: str | Path, sources: Sources) -> Verified:
    """Re-evaluates a record's trained weights and compares every per-episode accuracy; `sources` says
    where its method, weights and data are looked for.

    Raises:
        VerificationError: naming the record: when it cannot be read, names a method that may not be
            imported, names no weights, they cannot be found or loaded, or an episode differs.
    """
    from tfmeta.harness import evaluation

    path = Path(path)
    record, record_sha256 = read_record(path)
    checked = _check(path, record, sources)
    try:
        submission.verify(record)  # the frozen episodes it names are the benchmark's
    except store.RecordError as err:
        raise VerificationError(f"{path.name}: {err}") from None
    trained = _build(path, record, checked, sources)
    the_plan, data, model = trained.plan, trained.data, trained.model
    if data.test_set.hash != record["episodes_hash"]:
        raise VerificationError(f"{path.name}: its profile's test episodes are not the ones it names")
    # The learning rates that only the analysis's baseline curves use are not searched again (for MAML,
    # that search is most of a re-evaluation's time); those the predictions use are.
    evaluation.tune(the_plan, model, data.class_sets, predictions_only=True)
    labels = data.test_set.query_labels()
    test_classes = data.class_sets[the_plan.benchmark.data["test"]["part"]]
    again = evaluation.evaluate(model, data.test_data, labels, 0, data.test_set, test_classes).per_episode
    for index, (stored, now) in enumerate(zip(record["per_episode"], again, strict=True)):
        if abs(stored - now) > TOLERANCE:
            detail = f"episode {index} scores {now} when re-evaluated but the record says {stored}"
            changed = f"; {trained.source_changed}" if trained.source_changed else ""
            raise EpisodeDiffers(
                f"{path.name}: {detail} (weights {trained.weights}){_cpu_difference(record)}{changed}",
                path, record_sha256, checked.weights_sha256, detail,
            )  # fmt: skip
    return Verified(
        path, len(again), trained.weights, record_sha256, checked.weights_sha256, trained.source_changed
    )


def _cpu_difference(record: dict) -> str:
    """What a failed verification's message adds when the record's CPU may round differently from this
    one (other vector instruction sets, or a record that does not name them)."""
    from tfmeta.harness import provenance

    here = provenance.hardware([]).get("simd")
    there = (record.get("provenance") or {}).get("hardware", {}).get("simd")
    if here is None or there == here:
        return ""
    if there is None:
        return f"; the record does not name its CPU's instruction sets, this one has {', '.join(here)}"
    return (
        f"; the record was made on a CPU with {', '.join(there) or 'none of them'}, this one has "
        f"{', '.join(here)}: kernels chosen by instruction set round floats differently"
    )


def find_record(name: str | Path) -> Path:
    """A record by path, or by file name in the results folder or among the shipped records.

    Raises:
        VerificationError: when there is no such file, naming where it was looked for.
    """
    candidates = [
        Path(name),
        locations.results_dir() / str(name),
        locations.app_dir() / "results" / str(name),
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise VerificationError(
        f"no record {str(name)!r}; looked in {', '.join(str(c.parent) for c in candidates)}"
    )


def load_record(name: str | Path, sources: Sources) -> Trained:
    """`load_trained` of a record named by path or file name (`find_record`)."""
    return load_trained(find_record(name), sources)

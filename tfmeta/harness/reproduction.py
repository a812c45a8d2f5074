"""`tfmeta verify`: a record is trusted when its own trained weights, re-evaluated on the frozen episodes
it names, reproduce every per-episode accuracy it holds.

The method is re-created from the record's import path and constructor config, its weights are found by
the sha256 the record names, test-time hyperparameters are re-tuned on the same validation episodes, and
the frozen test episodes are answered again through the harness's own `evaluate`. The first episode whose
accuracy differs (beyond a stated tolerance) is named.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tfmeta.records import few_shot, locations, submission

# Accuracies are counts over the queries; a tolerance only absorbs float formatting, never a flipped query.
TOLERANCE = 1e-9


class VerificationError(ValueError):
    """A record that cannot be verified, or whose re-evaluation disagrees; the message says which."""


@dataclass(frozen=True)
class Verified:
    path: Path
    episodes: int
    weights: Path


def weights_dirs(extra: list[Path] | None = None) -> list[Path]:
    """Where trained weights are looked for: the folders given, ./runs, and the shipped weights."""
    return [*(extra or []), Path("runs"), locations.shipped_weights_dir()]


def find_weights(sha256: str, directories: list[Path]) -> Path:
    """The `.weights.h5` file with this sha256 under any of `directories`.

    Raises:
        VerificationError: naming the folders searched.
    """
    for directory in directories:  # shipped weights are named by their hash: a direct look first
        named = Path(directory) / f"{sha256}.weights.h5"
        if named.is_file() and hashlib.sha256(named.read_bytes()).hexdigest() == sha256:
            return named
    for directory in directories:
        for path in sorted(Path(directory).rglob("*.weights.h5")) if Path(directory).is_dir() else []:
            if path.stat().st_size and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
                return path
    searched = ", ".join(str(d) for d in directories)
    raise VerificationError(
        f"no trained weights with sha256 {sha256[:16]}... under {searched}; pass the folder that holds "
        "them with --weights-dir"
    )


def load_trained(path: Path, directories: list[Path], data_dir=None, cache_dir=None):
    """The trained method of a record: re-created from its import path and constructor config, with the
    weights its sha256 names; and the run's plan and data.

    Raises:
        VerificationError: when the record names no weights or they cannot be found.
    """
    from tfmeta import methods
    from tfmeta.harness import pipeline, planning, training

    record = few_shot.read(path)
    sha = record.get("weights", {}).get("sha256")
    if sha is None:
        raise VerificationError(
            f"{path.name} names no trained weights (records made before tfmeta recorded them); run it again "
            "to get a verifiable record"
        )
    weights = find_weights(sha, directories)
    benchmark = submission.find_benchmark(record["benchmark"]["name"])
    b, name, import_path = record["benchmark"], record["method"]["name"], record["method"]["import_path"]
    try:  # the registered name where it is one, so the profile's per-method entries apply as in the run
        method = name if methods.import_path(name) == import_path else import_path
    except methods.UnknownMethodError:
        method = import_path
    options = planning.RunOptions(
        spec=benchmark.path, method=method, profile=record["profile"], way=b["way"],
        shot=b["shot"], data_dir=data_dir, cache_dir=cache_dir, verbose=0, seed=record.get("seed"),
    )  # fmt: skip
    the_plan = planning.plan(options)
    data = pipeline.load_data(the_plan, options)
    model = pipeline.build_method(the_plan, methods.get(options.method), record["method"]["config"], data)
    training.load_weights(model, weights)
    return Trained(path, record, model, weights, sha, the_plan, data)


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


def verify(path: str | Path, directories: list[Path], data_dir=None, cache_dir=None) -> Verified:
    """Re-evaluates a record's trained weights and compares every per-episode accuracy.

    Raises:
        VerificationError: when the record names no weights, they cannot be found, or an episode differs.
    """
    from tfmeta.harness import evaluation

    path = Path(path)
    submission.verify(few_shot.read(path))  # the frozen episodes it names are the benchmark's
    trained = load_trained(path, directories, data_dir, cache_dir)
    the_plan, data, model, record = trained.plan, trained.data, trained.model, trained.record
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
            raise VerificationError(
                f"{path.name}: episode {index} scores {now} when re-evaluated but the record says {stored} "
                f"(weights {trained.weights}){_cpu_difference(record)}"
            )
    return Verified(path, len(again), trained.weights)


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


def load_record(name: str | Path, directories: list[Path], data_dir=None, cache_dir=None) -> Trained:
    """`load_trained` of a record named by path or file name (`find_record`)."""
    return load_trained(find_record(name), directories, data_dir, cache_dir)

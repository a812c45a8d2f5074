"""Sweeps: a YAML file naming benchmarks, method variants, settings, seeds and a profile, expanded into runs.

A sweep is validated whole before any run starts (file:line for YAML faults; unknown methods, benchmarks,
settings and profiles listed with the valid names). It expands into trainings (benchmark x method variant
x seed, each serving every setting of its entry, as `tfmeta run --all-settings` does) and runs (a
training's settings). No TensorFlow here: `tfmeta sweep --dry-run` lists the runs, marks those whose record
exists, and estimates CPU-hours from the training times of the records already made.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfmeta.config import specs
from tfmeta.core import registries
from tfmeta.records import entries, locations, store


@dataclass(frozen=True)
class Training:
    """One training of a sweep and the test settings that reuse it."""

    benchmark: str
    method: str
    config: dict = field(hash=False)
    seed: int = 0
    settings: tuple[tuple[int, int], ...] = ()
    where: str = field(default="", compare=False)  # `file:line: entries.N.methods.NAME` of its sweep

    @property
    def label(self) -> str:
        variant = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(self.config.items()))
        return f"{self.benchmark}/{self.method}" + (f"[{variant}]" if variant else "") + f"/seed{self.seed}"


@dataclass(frozen=True)
class Sweep:
    path: Path
    data: dict[str, Any]
    trainings: tuple[Training, ...]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def profile(self) -> str:
        return self.data["profile"]

    def only(
        self,
        methods: list[str] | None = None,
        seeds: list[int] | None = None,
        benchmarks=None,
        variants: list[str] | None = None,
    ) -> Sweep:
        """The sweep restricted to some methods, seeds, benchmarks and variants (None: all).

        A variant is `KEY=VALUE[,KEY=VALUE...]` (a VALUE in JSON, else a string): the trainings whose
        method config has every one of those values. Several variants keep the trainings of any of them.

        Raises:
            specs.SpecError: when a name, seed or variant is not in the sweep, listing those that are.
        """
        filters = (("method", methods), ("seed", seeds), ("benchmark", benchmarks))
        for field_name, wanted in filters:
            have = {getattr(t, field_name) for t in self.trainings}
            unknown = sorted(set(wanted or ()) - have)
            if unknown:
                shown = ", ".join(map(str, sorted(have)))
                raise specs.SpecError(f"{self.path}: no {field_name} {unknown} in this sweep; it has {shown}")
        kept = [
            t
            for t in self.trainings
            if all(not wanted or getattr(t, name) in wanted for name, wanted in filters)
        ]
        if variants:
            wanted = {variant: _variant(variant, self.path) for variant in variants}
            matched = {v: [t for t in kept if _has(t.config, pairs)] for v, pairs in wanted.items()}
            unknown = [v for v, trainings in matched.items() if not trainings]
            if unknown:
                shown = sorted({json.dumps(t.config, sort_keys=True) for t in kept})
                raise specs.SpecError(
                    f"{self.path}: no training with variant {', '.join(unknown)} among those selected; "
                    f"their configs: {'; '.join(shown)}"
                )
            kept = [t for t in kept if any(t in trainings for trainings in matched.values())]
        return Sweep(self.path, self.data, tuple(kept))

    @property
    def runs(self) -> list[tuple[Training, tuple[int, int]]]:
        return [(training, setting) for training in self.trainings for setting in training.settings]


def _variant(text: str, path) -> dict[str, Any]:
    """`KEY=VALUE[,KEY=VALUE...]` as a dict, each VALUE read as JSON where it is JSON."""
    pairs = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise specs.SpecError(f"{path}: variant {text!r}: expected KEY=VALUE[,KEY=VALUE...], as scale=10")
        try:
            pairs[key.strip()] = json.loads(value, parse_constant=_refuse_constant)
        except json.JSONDecodeError:
            pairs[key.strip()] = value.strip()
        except ValueError:
            raise specs.SpecError(f"{path}: variant {text!r}: {value} is not a finite number") from None
    return pairs


def _refuse_constant(text: str):
    raise ValueError(text)


def _has(config: dict, pairs: dict) -> bool:
    return all(key in config and config[key] == value for key, value in pairs.items())


def sweeps_dir() -> Path:
    return locations.benchmarks_dir() / "sweeps"


def resolve(path: str | Path) -> Path:
    candidate = Path(path)
    if candidate.is_file():
        return candidate.resolve()
    named = sweeps_dir() / f"{path}.yaml"
    if named.is_file():
        return named
    known = locations.shipped_names("sweeps")
    raise specs.SpecError(f"no sweep {str(path)!r}; pass a YAML file or one of: {known}")


# A sweep's runs (trainings x settings) above which it is refused unless TFMETA_ALLOW_LARGE=1: far above
# the shipped sweeps (standard: 126 runs), so that a slip such as a seed list of 10,000 is caught before
# the sweep is expanded, let alone started.
MAX_SWEEP_RUNS = 1_000


def load(path: str | Path, allow_large: bool = False) -> Sweep:
    """Reads, validates and expands a sweep.

    Args:
        allow_large: expand it whatever its number of runs (as TFMETA_ALLOW_LARGE=1 does).

    Raises:
        specs.SpecError: naming the file, the line and the field at fault, with the valid names, or the
            number of runs against MAX_SWEEP_RUNS.
    """
    path = resolve(path)
    data, root = specs.parse_and_validate(path, store.schema("sweep"))
    lines = _lines(root)
    benchmarks = {specs.load(p).name: p for p in specs.available()}
    load_spec = functools.cache(specs.load)  # many entries may name one benchmark
    entries = [_entry(path, data, i, lines, benchmarks, load_spec) for i in range(len(data["entries"]))]
    _check_size(path, data, entries, lines.get(("entries",), 1), allow_large)
    trainings = []
    for i, (benchmark, settings) in enumerate(entries):
        for name, variants in data["entries"][i]["methods"].items():
            where = f"{path}:{lines.get(('entries', i, 'methods', name), 1)}: entries.{i}.methods.{name}"
            trainings += [
                Training(benchmark.name, name, dict(config), seed, settings, where)
                for config in (variants if isinstance(variants, list) else [variants])
                for seed in data["seeds"]
            ]
    return Sweep(path, data, tuple(trainings))


def _entry(path: Path, data: dict, i: int, lines: dict, benchmarks: dict, load_spec):
    """Entry `i`'s benchmark and settings, its methods' names checked."""
    entry = data["entries"][i]
    where = f"{path}:{lines.get(('entries', i, 'benchmark'), 1)}: entries.{i}.benchmark"
    if entry["benchmark"] not in benchmarks and not Path(entry["benchmark"]).is_file():
        raise specs.SpecError(
            f"{where}: unknown benchmark {entry['benchmark']!r}; valid: {', '.join(benchmarks)}"
        )
    try:
        benchmark = load_spec(benchmarks.get(entry["benchmark"], entry["benchmark"]))
    except specs.SpecError as err:
        raise specs.SpecError(f"{where}: {err}") from err
    try:
        benchmark.profile(data["profile"])
    except specs.SpecError as err:
        raise specs.SpecError(f"{path}:{lines.get(('profile',), 1)}: profile: {err}") from err
    settings = _settings(entry, benchmark, f"{path}:{lines.get(('entries', i, 'settings'), 1)}: entries.{i}")
    for name in entry["methods"]:
        try:
            registries.method_import_path(name)
        except registries.UnknownMethodError as err:
            line = lines.get(("entries", i, "methods", name), 1)
            raise specs.SpecError(f"{path}:{line}: entries.{i}.methods.{name}: {err}") from err
    return benchmark, settings


def _check_size(path: Path, data: dict, entries: list, line: int, allow_large: bool) -> None:
    """Refuses a sweep of more than MAX_SWEEP_RUNS runs, counted before it is expanded."""
    variants = [
        sum(len(v) if isinstance(v, list) else 1 for v in entry["methods"].values())
        for entry in data["entries"]
    ]
    trainings = len(data["seeds"]) * sum(variants)
    runs = len(data["seeds"]) * sum(
        n * len(settings) for n, (_, settings) in zip(variants, entries, strict=True)
    )
    if runs > MAX_SWEEP_RUNS and not specs.large_allowed(allow_large):
        raise specs.SpecError(
            f"{path}:{line}: entries: the sweep expands to {runs:,} runs ({trainings:,} trainings), above "
            f"the cap of {MAX_SWEEP_RUNS:,} runs (the shipped sweeps have at most 126); split it, or for a "
            f"sweep this large on purpose set {specs.ALLOW_LARGE_ENV}=1"
        )


def _settings(entry: dict, benchmark: specs.Benchmark, where: str) -> tuple[tuple[int, int], ...]:
    valid = [(s["way"], s["shot"]) for s in benchmark.data["settings"]]
    wanted = entry.get("settings", "all")
    if wanted == "all":
        return tuple(valid)
    chosen = tuple((s["way"], s["shot"]) for s in wanted)
    for way, shot in chosen:
        if (way, shot) not in valid:
            shown = ", ".join(f"{w}-way {s}-shot" for w, s in valid)
            raise specs.SpecError(
                f"{where}.settings: {benchmark.name} has no {way}-way {shot}-shot setting; valid: {shown}"
            )
    return chosen


def _lines(root) -> dict[tuple, int]:
    """1-based line of every mapping key and sequence item of a YAML node tree, by its path."""
    import yaml

    found: dict[tuple, int] = {}

    def walk(node, prefix):
        found[prefix] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*prefix, key.value))
                found[(*prefix, key.value)] = key.start_mark.line + 1  # the key's line, not its value's
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*prefix, index))

    walk(root, ())
    return found


def matches(record: dict, training: Training, setting: tuple[int, int], profile: str, train: dict) -> bool:
    """Whether `record` is the result of this run: same benchmark, method, setting and profile, the same
    training block (budget and seed: `train`, as the spec gives it now), and the same variant: the
    record's constructor arguments hold the sweep's, and it was given no argument the sweep does not give
    (analysis-only ones aside). A record given more (`batch_norm: inductive`, `meta_batch: 4`) is another
    entry's, not this run's."""
    b = record["benchmark"]
    used = {**record["method"].get("config", {}), **record["config"].get("method_config", {})}
    given = entries.defining(record["config"].get("method_config") or {})
    return (
        b["name"] == training.benchmark
        and record["method"]["name"] == training.method.rpartition(":")[2]
        and (b["way"], b["shot"]) == setting
        and record["profile"] == profile
        and record["config"].get("train") == train
        and all(used.get(k) == v for k, v in training.config.items())
        and set(given) <= set(training.config)
    )


SUPERSEDED = "superseded"  # the results subfolder where a re-run's predecessor is kept


def unreproducible(record: dict) -> str | None:
    """Why a record cannot be reproduced, or None: it names no trained weights (`tfmeta verify` has
    nothing to load), or its code is not a commit (made from a tree with uncommitted changes)."""
    if not record.get("weights"):
        return "names no trained weights"
    if record["provenance"].get("git_dirty") is not False:
        return "made from a tree with uncommitted changes"
    return None


def existing(
    sweep: Sweep, records: list[tuple[Path, dict]], redo_unreproducible: bool = False
) -> dict[tuple[int, tuple[int, int]], Path]:
    """The records already made for runs of the sweep: (training index, setting) -> file. With
    `redo_unreproducible`, a record `unreproducible` gives a reason for does not count as made."""
    benchmarks = {name: specs.load(specs.resolve(name)) for name in {t.benchmark for t in sweep.trainings}}
    found = {}
    for index, training in enumerate(sweep.trainings):
        for way, shot in training.settings:
            setting = {"way": way, "shot": shot}
            train, _ = benchmarks[training.benchmark].blocks(
                sweep.profile, training.method, setting, training.seed
            )
            for path, record in records:
                if redo_unreproducible and unreproducible(record):
                    continue
                if matches(record, training, (way, shot), sweep.profile, train):
                    found[(index, (way, shot))] = path
                    break
    return found


def redone(
    sweep: Sweep, records: list[tuple[Path, dict]], kept: dict[tuple[int, tuple[int, int]], Path]
) -> dict[tuple[int, tuple[int, int]], tuple[Path, str]]:
    """The records a re-run of unreproducible records replaces: (training index, setting) -> (file,
    reason), for the runs without a reproducible record (`kept`: `existing` with `redo_unreproducible`)."""
    reasons = {path: unreproducible(record) for path, record in records}
    candidates = [(path, record) for path, record in records if reasons[path]]
    return {
        key: (path, reasons[path]) for key, path in existing(sweep, candidates).items() if key not in kept
    }


def estimate_cpu_hours(sweep: Sweep, records: list[tuple[Path, dict]], todo: list[int]) -> tuple[float, int]:
    """CPU-hours of the trainings `todo` (indices), from the training time of records of the same
    benchmark, method and profile (any seed or variant), times the cores they ran on; and how many
    trainings had no such record to go by."""
    known: dict[tuple[str, str], float] = {}
    for _, record in records:
        timing, cores = record["timing"], record["provenance"].get("hardware", {}).get("cpu_count") or 1
        key = (record["benchmark"]["name"], record["method"]["name"])
        if record["profile"] == sweep.profile:
            known[key] = max(known.get(key, 0.0), timing["train_seconds"] * cores / 3600)
    hours, unknown = 0.0, 0
    for index in todo:
        training = sweep.trainings[index]
        value = known.get((training.benchmark, training.method))
        if value is None:
            unknown += 1
        else:
            hours += value
    return hours, unknown

"""`tfmeta optimizer-track`: tuned baselines and meta-trained LSTM optimizers on held-out problems.

For every evaluation of a spec's profile: sample the held-out problems (the `test` split of the family,
one seed for all optimizers), tune each baseline's learning rate on as many training problems over the
spec's log grid (lowest mean final loss), run every optimizer on the same held-out problems, and write one
record per optimizer with the loss of each problem at each step (see `tfmeta.records.optimizer`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tfmeta.config.optimizer_specs import OptimizerTrack
from tfmeta.config.specs import SpecError
from tfmeta.config.sweeps import SUPERSEDED
from tfmeta.harness import provenance
from tfmeta.harness.optimizer_track.meta_train import run_dir
from tfmeta.records import locations, trust
from tfmeta.records import optimizer as optimizer_records

REFERENCE = "adam"


@dataclass
class TrackOptions:
    profile: str = "standard"
    families: list[str] | None = None
    weights: str = "pretrained"  # or "runs"
    runs_dir: str | os.PathLike = "runs"
    results_dir: str | os.PathLike = field(default_factory=lambda: default_results_dir())
    data_dir: str | os.PathLike | None = None
    cache_dir: str | os.PathLike | None = None
    # One line per optimizer as it finishes: a family's tuning runs minutes before its records are written.
    progress: Callable[[str], None] = field(default=lambda line: None, repr=False)
    # Run evaluations already recorded in results_dir again; their old records move to superseded/.
    redo: bool = False


def default_results_dir() -> Path:
    """The `optimizers/` folder inside the results folder (see `tfmeta.records.locations`)."""
    return locations.results_dir() / optimizer_records.SUBFOLDER


def _weights(track: OptimizerTrack, learned: str, options: TrackOptions) -> tuple[Path, dict]:
    """The meta-trained weights of `learned` and their meta-training summary."""
    from tfmeta.optimizers.lstm_optimizer import PRETRAINED_DIR, pretrained_path

    if options.weights == "runs":
        directory = run_dir(options.runs_dir, track, options.profile, learned)
        path, summary = directory / "meta.weights.h5", directory / "curve.json"
    else:
        path, summary = pretrained_path(learned), PRETRAINED_DIR / f"{learned}.json"
    return path, json.loads(summary.read_text()) if summary.exists() else {}


def _learned_optimizer(track, learned, options):
    from tfmeta.optimizers import LSTMOptimizer

    path, summary = _weights(track, learned, options)
    config = track.meta_train_config(learned, options.profile)
    keys = ("units", "num_layers", "preprocess_p", "output_scale", "extra_inputs")
    source = learned if options.weights == "pretrained" else path  # a shipped name keeps configs portable
    optimizer = LSTMOptimizer(pretrained=source, **{k: config[k] for k in keys if k in config})
    tuning = {
        "weights": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "meta_training": summary,
    }
    return optimizer, tuning


def _as_rows(losses: np.ndarray) -> list[list[float | None]]:
    return [[float(v) if math.isfinite(v) else None for v in row] for row in losses]


def _evaluate_one(family, name, make, test, tune_on, horizon, grid, track, learned, options):
    """(per-problem losses, tuning block, optimizer config, seconds) of one optimizer."""
    from tfmeta import optimizers
    from tfmeta.optimizers.evaluate import Runner, tune

    if name == "lstm":
        optimizer, tuning = _learned_optimizer(track, learned, options)
        rate = None
    else:
        optimizer = optimizers.get(name)
        tuned = time.perf_counter()
        tuning = tune(Runner(family, optimizer, tune_on), tune_on, horizon, grid)
        options.progress(
            f"  {family.name} (horizon {horizon}) {name}: tuned rate {tuning['winner']:g} "
            f"({len(tuning['grid'])} rates tried, {'interior' if tuning['interior'] else 'NOT interior'}, "
            f"{time.perf_counter() - tuned:.0f} s)"
        )
        optimizer, rate = optimizers.get(name), tuning["winner"]
    began = time.perf_counter()
    losses = Runner(family, optimizer, test).run(test, horizon, rate)
    config = {k: v for k, v in optimizer.get_config().items() if v is not None}
    return losses, tuning, config, time.perf_counter() - began


def run_evaluation(track: OptimizerTrack, evaluation: dict, options: TrackOptions) -> dict[str, dict]:
    """Every optimizer of the spec on one evaluation; records (not yet written) by optimizer name."""
    from tfmeta import tasks

    settings = track.profile(options.profile)["evaluate"]
    family = tasks.get(evaluation["family"], options.data_dir, options.cache_dir)
    factor = evaluation.get("horizon_factor", 1)
    horizon = settings["horizon"] * factor
    test = family.sample(settings["tasks"], settings["seed"], "test", horizon + 1)
    tune_on = family.sample(settings["tuning_tasks"], settings["tuning_seed"], "train", horizon + 1)
    raw = {}
    for name in [*track.data["baselines"], "lstm"]:
        raw[name] = _evaluate_one(
            family,
            name,
            None,
            test,
            tune_on,
            horizon,
            settings["grid"],
            track,
            evaluation["learned"],
            options,
        )
    label = task_label(evaluation)
    seeds = {"test": settings["seed"], "tuning": settings["tuning_seed"]}
    return _records(track, options, family, label, horizon, settings["horizon"], raw, seeds, evaluation)


def task_label(evaluation: dict) -> str:
    """The records' `task`: the family, with `@Nx` where the horizon is N times the trained one."""
    factor = evaluation.get("horizon_factor", 1)
    return evaluation["family"] if factor == 1 else f"{evaluation['family']}@{factor}x"


def _recorded(track: OptimizerTrack, options: TrackOptions) -> dict[tuple[str, str], list[Path]]:
    """Paths of this track and profile's records in the results folder, by (task, optimizer)."""
    found: dict[tuple[str, str], list[Path]] = {}
    if not Path(options.results_dir).is_dir():
        return found
    for path, record in optimizer_records.load_all(options.results_dir).records:
        if record.get("track") == track.name and record.get("profile") == options.profile:
            found.setdefault((record["task"], record["optimizer"]), []).append(path)
    return found


def _records(track, options, family, label, horizon, trained, raw, seeds, evaluation) -> dict[str, dict]:
    rows = {name: _as_rows(values[0]) for name, values in raw.items()}
    reference = (
        optimizer_records.summaries(rows[REFERENCE])["final_loss"]["mean"] if REFERENCE in rows else None
    )
    origin = provenance.collect(seeds, [], provenance.command_line())
    records = {}
    for name, (_, tuning, config, seconds) in raw.items():
        summary = optimizer_records.summaries(rows[name])
        optimizer_name = name if name != "lstm" else f"lstm[{evaluation['learned']}]"
        records[name] = {
            "schema_version": 1,
            "kind": optimizer_records.KIND,
            "track": track.name,
            "profile": options.profile,
            "task": label,
            "family": family.config(),
            "horizon": horizon,
            "trained_horizon": trained,
            "optimizer": optimizer_name,
            "optimizer_config": config,
            "tuning": tuning,
            "n_tasks": len(rows[name]),
            "per_task": rows[name],
            **summary,
            "reference": {"optimizer": REFERENCE, "final_loss": reference},
            "steps_to_reference": optimizer_records.steps_to(summary["curve"], reference),
            "timing": {"seconds": seconds},
            "provenance": origin,
        }
    return records


def run_track(track: OptimizerTrack, options: TrackOptions) -> Iterator[str]:
    """Runs the profile's evaluations, writes the records, yields one summary line per record.

    Raises:
        SpecError: when `options.families` names a family the profile does not evaluate.
    """
    available = sorted({e["family"] for e in track.evaluations(options.profile)})
    unknown = sorted(set(options.families or ()) - set(available))
    if unknown:
        raise SpecError(
            f"{track.path}: profile {options.profile!r} evaluates no family {', '.join(map(repr, unknown))}; "
            f"its families: {', '.join(available)}"
        )
    recorded = _recorded(track, options)
    for evaluation in track.evaluations(options.profile):
        if options.families and evaluation["family"] not in options.families:
            continue
        label = task_label(evaluation)
        names = [*track.data["baselines"], f"lstm[{evaluation['learned']}]"]
        old = [path for name in names for path in recorded.get((label, name), [])]
        if not options.redo and all((label, name) in recorded for name in names):
            # An interrupted track resumes here: finished evaluations are not run twice.
            yield f"{label:24s} recorded already ({len(old)} records); --redo runs it again"
            continue
        records = run_evaluation(track, evaluation, options)
        for record in records.values():
            path = optimizer_records.write(record, options.results_dir)
            final = record["final_loss"]
            yield (
                f"{record['task']:24s} {record['optimizer']:18s} final loss {_fmt(final['mean'])} +- "
                f"{_fmt(final['ci95'])}  steps to adam's final: {record['steps_to_reference']}  ({path.name})"
            )
        for path in old:  # only once every new record of the evaluation is written
            moved = trust.move_aside(path, SUPERSEDED)
            yield f"{label:24s} {path.name} superseded (now in {moved.parent.name}/)"


def _fmt(value: float | None) -> str:
    return "diverged" if value is None else f"{value:.4g}"


__all__ = ["TrackOptions", "run_evaluation", "run_track", "asdict"]

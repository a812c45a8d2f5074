"""`tfmeta sweep`: the runs of a sweep as Ray tasks, on this machine or on a Ray cluster.

One Ray task per training (`tfmeta.config.sweeps.Training`): it runs exactly the code path of
`tfmeta run` for each of the training's settings that has no record yet (the first trains or resumes,
the others reuse the training) and returns the records as data. The driver checks each record as
`tfmeta submit` does and writes it atomically into the results folder; so records exist only where the
driver can write, and a task that dies leaves no partial file. Training checkpoints live under
`--runs-dir` (shared storage on a cluster), so a task that Ray retries on another node (`max_retries`,
for a lost worker or node) resumes from its last checkpoint. An exception in a run fails that training,
keeps its traceback in the sweep's log, and the others go on. Running the same sweep again skips the
runs whose records exist and resumes partial ones.

With `redo_unreproducible`, a run whose record cannot be reproduced (no trained weights named, or made
from a tree with uncommitted changes) runs again, and its new record replaces the old one, which moves to
the results folder's `superseded/` subfolder once the new one is written.

Without an address, a local Ray instance bound to 127.0.0.1 and sized to this machine runs the tasks;
with `--address` (or RAY_ADDRESS) the driver joins an existing cluster (docs/scaling.md).
"""

from __future__ import annotations

import os
import socket
import stat
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from tfmeta.config import sweeps
from tfmeta.core import locks, registries
from tfmeta.harness import provenance
from tfmeta.records import few_shot, submission, trust

CONNECT_TIMEOUT = 20  # seconds to reach a given cluster address before giving up
LOCK = ".sweep.lock"
LOOPBACK_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class SweepError(RuntimeError):
    """A sweep that cannot start: a busy results folder, an unreachable cluster."""


@dataclass
class Outcome:
    training: sweeps.Training
    status: str  # "done", "failed", "skipped"
    records: list[tuple[Path, dict]]
    seconds: float = 0.0
    error: str = ""


def train_and_evaluate(training: dict, profile: str, runs_dir: str, data_dir, cache_dir) -> list[dict]:
    """The Ray task: every missing setting of one training through `tfmeta run`'s code path; returns the
    records unwritten."""
    from tfmeta.harness import pipeline, planning

    records = []
    for way, shot in training["settings"]:
        options = planning.RunOptions(
            spec=training["benchmark"],
            method=training["method"],
            profile=profile,
            way=way,
            shot=shot,
            method_config=dict(training["config"]),
            data_dir=data_dir,
            cache_dir=cache_dir,
            runs_dir=Path(runs_dir),
            verbose=0,
            seed=training["seed"],
            command=training.get("command", ""),
            allow_large=training.get("allow_large", False),
        )
        records.append(pipeline.make_record(options))
    return records


def check_runs(sweep: sweeps.Sweep, allow_large: bool = False) -> None:
    """Checks every run of a sweep as `tfmeta run` would before its first step, without data: each
    method imported and checked against the method contract, each variant's keys against the method's
    constructor, each run's plan (its spec's size caps included). `--dry-run` and a sweep that starts
    both call it, so that a bad entry fails here, named by its line, rather than inside a Ray task.

    Raises:
        SweepError: naming the sweep's file, line and entry, and what is wrong.
    """
    from tfmeta import methods
    from tfmeta.config import specs
    from tfmeta.core.contract import ContractError
    from tfmeta.harness import building, planning

    planned = set()
    for training in sweep.trainings:
        try:
            building.check_method(training.method, training.config)
            for way, shot in training.settings:
                key = (training.benchmark, training.method, way, shot)
                if key not in planned:  # the seed changes nothing a plan checks (the schema bounds it)
                    planning.plan(planning.RunOptions(
                        spec=training.benchmark, method=training.method, profile=sweep.profile, way=way,
                        shot=shot, seed=training.seed, allow_large=allow_large,
                    ))  # fmt: skip
                    planned.add(key)
        except registries.UnknownMethodError as err:
            hint = "" if "valid names" in str(err) else _valid_methods()
            raise SweepError(f"{training.where or training.label}: {err}{hint}") from err
        except (methods.MethodConfigError, ContractError, specs.SpecError) as err:
            raise SweepError(f"{training.where or training.label}: {err}") from err


def _valid_methods() -> str:

    return (
        f"; name one of {', '.join(registries.method_names())}, or an importable "
        "'package.module:ClassName' of a FewShotMethod subclass"
    )


def exclusive(results_dir: Path):
    """The results folder's sweep lock (a context manager); a second sweep on the same folder is refused
    with `locks.LockedError`, naming the holder."""
    return locks.hold(
        results_dir / LOCK,
        f"another sweep is writing to {results_dir}; wait for it to finish, or give this one another "
        "--results-dir",
    )


def check_reachable(address: str) -> None:
    """Fails within `CONNECT_TIMEOUT` seconds, with the address, when nothing answers at it."""
    if ":" not in address.removeprefix("ray://"):
        return  # "auto" and the like: Ray finds the cluster itself
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except (OSError, ValueError) as err:
        raise SweepError(
            f"no Ray cluster answers at {address} ({err}); start one with `ray start --head` there, or "
            "leave --address and RAY_ADDRESS unset to run on this machine"
        ) from err


def connect(address: str | None):
    """Joins the cluster at `address`, or starts a local instance bound to 127.0.0.1."""
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        # Ray replaces a loopback node address with the machine's network address unless its
        # single-machine mode is on (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, read when ray is imported);
        # the embedded instance must listen on loopback only. Its worker processes inherit the variable.
        os.environ[LOOPBACK_ONLY_ENV] = "0"
    import ray

    if ray.is_initialized():
        return ray
    quiet = {"log_to_driver": False, "include_dashboard": False, "configure_logging": False}
    if address:
        check_reachable(address)
        ray.init(address=address, **quiet)
    else:
        ray._private.ray_constants.ENABLE_RAY_CLUSTER = False  # where ray was imported before the variable
        # "local": a new instance of its own, even where `ray start` left a cluster on this machine (which a
        # bare `ray.init()` would join, refusing `num_cpus`); joining one takes `--address`.
        ray.init(address="local", num_cpus=os.cpu_count(), _node_ip_address="127.0.0.1", **quiet)
    return ray


def run_sweep(
    sweep: sweeps.Sweep,
    results_dir: Path,
    runs_dir: Path,
    data_dir: str | None = None,
    cache_dir: str | None = None,
    address: str | None = None,
    max_retries: int = 3,
    log=print,
    redo_unreproducible: bool = False,
) -> list[Outcome]:
    """Runs every training of `sweep` that lacks a record (or, with `redo_unreproducible`, a
    reproducible one); writes records as they come back. Every run is checked first (`check_runs`), with
    the size caps lifted by TFMETA_ALLOW_LARGE=1 here and in the tasks, wherever they run.

    Raises:
        SweepError: for a run that cannot start, when another sweep holds the results folder, or when
            the cluster cannot be reached.
    """
    from tfmeta.config import specs

    allow_large = specs.large_allowed()
    check_runs(sweep, allow_large)
    results_dir, runs_dir = Path(results_dir), Path(runs_dir).resolve()
    with exclusive(results_dir):
        records = few_shot.load_all(results_dir).records
        done = sweeps.existing(sweep, records, redo_unreproducible)
        redone = sweeps.redone(sweep, records, done) if redo_unreproducible else {}
        outcomes, pending = [], {}
        todo = []
        for index, training in enumerate(sweep.trainings):
            missing = tuple(s for s in training.settings if (index, s) not in done)
            if missing:
                replaces = {s: redone[(index, s)][0] for s in missing if (index, s) in redone}
                todo.append((sweeps.Training(training.benchmark, training.method, training.config,
                                             training.seed, missing), replaces))  # fmt: skip
            else:
                outcomes.append(
                    Outcome(training, "skipped", [(done[(index, s)], {}) for s in training.settings])
                )
        total = len(sweep.trainings)
        log(
            f"sweep {sweep.name}: {total} trainings, {total - len(todo)} with every record already, "
            f"{len(todo)} to run"
        )
        if not todo:
            return outcomes
        ray = connect(address)
        cpus = sweep.data.get("cpus_per_run") or cpus_per_training(len(todo), _node_cpus(ray))
        log(f"{cpus:g} CPU{'' if cpus == 1 else 's'} per training")
        # A fresh worker process per training (`max_calls=1`): TensorFlow keeps a training's traced graphs
        # until its process ends, and a reused worker grew by gigabytes over a few trainings.
        task = ray.remote(max_calls=1)(train_and_evaluate).options(
            num_cpus=cpus,
            num_gpus=sweep.data.get("gpus_per_run", 0),
            max_retries=max_retries,
        )
        started, command = time.monotonic(), provenance.command_line()  # the records name the sweep's command
        for training, replaces in todo:
            payload = {"benchmark": training.benchmark, "method": training.method, "config": training.config,
                       "seed": training.seed, "settings": list(training.settings),
                       "command": command, "allow_large": allow_large}  # fmt: skip
            ref = task.remote(payload, sweep.profile, str(runs_dir), data_dir, cache_dir)
            pending[ref] = (training, replaces, time.monotonic())
        finished = total - len(todo)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            training, replaces, began = pending.pop(ready[0])
            outcome = _collect(ray, ready[0], training, results_dir, time.monotonic() - began, log, replaces)
            outcomes.append(outcome)
            finished += 1
            log(_progress(outcome, finished, total, time.monotonic() - started, total - len(todo)))
        return outcomes


def cpus_per_training(trainings: int, node_cpus: list[float]) -> int:
    """The Ray CPUs each training takes when the sweep does not set `cpus_per_run`: the cluster's CPUs
    shared among the trainings to run, at least 1 and at most the largest node's, so that a lone
    training has the machine to itself (given 1 CPU of 2, one ProtoNet training ran at 0.7 s per episode
    against 0.4 s with both)."""
    largest = int(max(node_cpus, default=1))
    return max(1, min(largest, int(sum(node_cpus)) // max(trainings, 1)))


def _node_cpus(ray) -> list[float]:
    return [node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node.get("Alive")]


def _collect(ray, ref, training, results_dir: Path, seconds: float, log, replaces=None) -> Outcome:
    """Writes a finished training's records; each replaced record (setting -> file) moves to
    `superseded/` once its successor is written."""
    try:
        records = ray.get(ref)
    except Exception as err:  # the run's own exception, or the task lost beyond its retries
        detail = getattr(err, "traceback_str", None) or "".join(traceback.format_exception(err))
        _append_log(results_dir, training, detail)
        return Outcome(training, "failed", [], seconds, str(err).strip().splitlines()[-1][:300])
    written, refused = [], []
    for record in records:  # a refused record does not stop its siblings (other settings) being written
        try:
            submission.verify(record)
            written.append((few_shot.write_new(record, results_dir), record))
            old = (replaces or {}).get((record["benchmark"]["way"], record["benchmark"]["shot"]))
            if old is not None:
                log(f"  {old.name} superseded by {written[-1][0].name}")
                trust.move_aside(old, sweeps.SUPERSEDED)
        except (submission.SubmissionError, FileExistsError) as err:
            _append_log(results_dir, training, f"record refused: {err}")
            refused.append(f"record refused: {err}")
    if refused:
        return Outcome(training, "failed", written, seconds, "; ".join(refused))
    return Outcome(training, "done", written, seconds)


def _append_log(results_dir: Path, training, text: str) -> None:
    # O_NONBLOCK: a FIFO named sweep.log must not stall the sweep; anything but a regular file is passed by.
    path = results_dir / "sweep.log"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
    except OSError:
        return
    with os.fdopen(fd, "a") as log:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            log.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} {training.label}\n{text}\n")


def _progress(outcome: Outcome, finished: int, total: int, elapsed: float, skipped: int) -> str:
    ran = finished - skipped
    eta = elapsed / ran * (total - finished) if ran else 0.0
    width = 30
    bar = "#" * round(width * finished / total) + "." * (width - round(width * finished / total))
    accuracy = ", ".join(
        f"{r['benchmark']['way']}w{r['benchmark']['shot']}s {100 * r['accuracy']['mean']:.2f}%"
        for _, r in outcome.records
    )
    minutes = outcome.seconds / 60
    line = f"{outcome.status:6s} {outcome.training.label} ({minutes:.1f} min) {accuracy or outcome.error}"
    return f"{line}\n[{bar}] {finished}/{total} trainings, ETA {eta / 60:.0f} min"


def summary(outcomes: list[Outcome]) -> str:
    """The table printed at the end: run, status, accuracy, train time."""
    lines = ["| run | setting | status | accuracy (%) | train time (min) |", "|---|---|---|---|---|"]
    for outcome in outcomes:
        if not outcome.records:
            lines.append(f"| {outcome.training.label} | | {outcome.status} | {outcome.error} | |")
        for path, record in outcome.records:
            if not record:
                lines.append(f"| {outcome.training.label} | | {outcome.status} | {path.name} | |")
                continue
            b, timing = record["benchmark"], record["timing"]
            lines.append(
                f"| {outcome.training.label} | {b['way']}-way {b['shot']}-shot | {outcome.status} | "
                f"{100 * record['accuracy']['mean']:.2f} ± {100 * record['accuracy']['ci95']:.2f} | "
                f"{timing['train_seconds'] / 60:.1f} |"
            )
    return "\n".join(lines)

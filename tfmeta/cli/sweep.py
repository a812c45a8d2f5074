"""`tfmeta sweep`: many runs (methods x variants x settings x seeds) on Ray, here or on a cluster."""

from __future__ import annotations

from pathlib import Path

from tfmeta.cli.options import RESULTS_HELP, data_arguments, seed
from tfmeta.config import sweeps
from tfmeta.records import locations


def add_parsers(commands) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="run a sweep file's trainings as Ray tasks (resumes; skips runs whose record exists)",
        description="Run a sweep file's trainings as Ray tasks. Every method, variant and run is checked "
        f"first, --dry-run included. A sweep of more than {sweeps.MAX_SWEEP_RUNS:,} runs, or a run above its "
        "benchmark's size caps (far above the shipped specs, against typos), is refused unless "
        "TFMETA_ALLOW_LARGE=1 is set.",
    )
    sweep.add_argument(
        "sweep", help=f"a sweep YAML file or the name of a shipped one ({locations.shipped_names('sweeps')})"
    )
    sweep.add_argument(
        "--dry-run",
        action="store_true",
        help="check every run (methods imported, variants, size caps) and list the runs and the CPU-hour "
        "estimate only",
    )
    sweep.add_argument(
        "--address", help="a Ray cluster to join (default: $RAY_ADDRESS, else a local instance on 127.0.0.1)"
    )
    sweep.add_argument(
        "--runs-dir", type=Path, default=Path("runs"), help="training checkpoints (default: runs/)"
    )
    sweep.add_argument("--results-dir", type=Path, help=RESULTS_HELP)
    sweep.add_argument("--max-retries", type=int, default=3, help="Ray retries of a lost task (default: 3)")
    sweep.add_argument("--method", action="append", help="only the trainings of this method (repeatable)")
    sweep.add_argument(
        "--seed", type=seed, action="append", help="only the trainings of this seed (repeatable)"
    )
    sweep.add_argument(
        "--benchmark", action="append", help="only the trainings of this benchmark (repeatable)"
    )
    sweep.add_argument(
        "--variant",
        action="append",
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="only the trainings whose method config has these values, as scale=10 (repeatable: any of them)",
    )
    sweep.add_argument(
        "--redo-unreproducible",
        action="store_true",
        help="run again the runs whose record names no trained weights or was made from a tree with "
        "uncommitted changes; the old record moves to the results folder's superseded/ subfolder",
    )
    data_arguments(sweep)


def cmd_sweep(args) -> int:
    from tfmeta.config import specs, sweeps
    from tfmeta.harness import sweep as engine
    from tfmeta.records import few_shot, locations

    sweep = sweeps.load(args.sweep).only(args.method, args.seed, args.benchmark, args.variant)
    results_dir = args.results_dir or locations.results_dir()
    if args.dry_run:
        engine.check_runs(sweep, specs.large_allowed())  # what run_sweep checks before it starts
        records = few_shot.load_all(results_dir).records
        shipped = [] if locations.is_shipped_results(results_dir) else shipped_records()
        print(dry_run(sweep, records, results_dir, args.redo_unreproducible, shipped))
        return 0
    outcomes = engine.run_sweep(
        sweep, results_dir, args.runs_dir, args.data_dir, args.cache_dir, args.address, args.max_retries,
        redo_unreproducible=args.redo_unreproducible,
    )  # fmt: skip
    print(engine.summary(outcomes))
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        print(f"{len(failed)} trainings failed; tracebacks in {results_dir / 'sweep.log'}")
    return 1 if failed else 0


def shipped_records() -> list:
    """The records that come with tfmeta (a checkout's `leaderboard/results/`, an installed wheel's copy
    of it): what the dry run of a sweep writing elsewhere estimates from and names beside its runs."""
    from tfmeta.records import few_shot, locations

    folder = locations.shipped_results_dir()
    return few_shot.load_all(folder).records if folder.is_dir() else []


def dry_run(sweep, records, results_dir, redo_unreproducible: bool = False, shipped=()) -> str:
    """The runs of a sweep, each marked done (its record's file), to run, or to run again (the record it
    replaces and why), and the CPU-hour estimate.

    `records` are the results folder's, the ones a sweep skips runs for. `shipped`, the shipped records
    when the results folder is another (as it is for an installed tfmeta, `./tfmeta-results/`), are
    named beside the runs they match, counted, and estimated from, but the sweep runs those again: it
    writes its own records in its results folder."""
    from tfmeta.config import sweeps

    done = sweeps.existing(sweep, records, redo_unreproducible)
    redone = sweeps.redone(sweep, records, done) if redo_unreproducible else {}
    elsewhere = {key: path for key, path in sweeps.existing(sweep, list(shipped)).items() if key not in done}
    lines = [f"sweep {sweep.name} ({sweep.path}), profile {sweep.profile}, results in {results_dir}:"]
    todo = []
    for index, training in enumerate(sweep.trainings):
        for setting in training.settings:
            path = done.get((index, setting))
            mark = f"done  {path.name}" if path else "to run"
            if (index, setting) in redone:
                old, reason = redone[(index, setting)]
                mark = f"to run again: {old.name} {reason}"
            if (index, setting) in elsewhere:
                mark += f" (shipped: {elsewhere[(index, setting)].name})"
            lines.append(f"  {training.label} {setting[0]}-way {setting[1]}-shot: {mark}")
        if any((index, s) not in done for s in training.settings):
            todo.append(index)
    hours, unknown = sweeps.estimate_cpu_hours(sweep, [*records, *shipped], todo)
    runs = sum(len(t.settings) for t in sweep.trainings)
    summary = f"{runs} runs in {len(sweep.trainings)} trainings; {len(done)} runs done"
    if elsewhere:
        summary += f", {len(elsewhere)} more with a shipped record (run again here)"
    summary += f", {len(todo)} trainings to run"
    if unknown == len(todo) and todo:
        summary += ": no CPU-hour estimate, no record made yet to go by"
    elif todo:
        summary += f": about {hours:.1f} CPU-hours from the training times of records already made" + (
            f" ({unknown} trainings with no record to go by are not counted)" if unknown else ""
        )
    lines.append(summary)
    return "\n".join(lines)


COMMANDS = {"sweep": cmd_sweep}

"""`tfmeta run`, `tfmeta list` and `tfmeta speed`: the few-shot benchmarks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tfmeta.cli.options import RESULTS_HELP, data_arguments, key_value, positive_int, seed
from tfmeta.core import registries
from tfmeta.records import locations


def add_parsers(commands) -> None:
    run = commands.add_parser("run", help="train and evaluate a method on a benchmark, write a result record")
    run.add_argument(
        "spec", help=f"benchmark spec: a YAML file or the name of a shipped one ({locations.shipped_names()})"
    )
    run.add_argument(
        "--method",
        required=True,
        help="registered name, package.module:ClassName or path/to/file.py:ClassName",
    )
    run.add_argument(
        "--profile",
        default="standard",
        help="a profile of the spec: smoke, standard, paper, ... (default: standard); a profile above the "
        "size caps on episode counts (set against typos, far above the shipped profiles) runs only with "
        "TFMETA_ALLOW_LARGE=1",
    )
    run.add_argument("--way", type=positive_int, help="test way (default: the spec's first setting)")
    run.add_argument("--shot", type=positive_int, help="test shot (default: the spec's first setting)")
    run.add_argument("--all-settings", action="store_true", help="evaluate on every setting of the spec")
    run.add_argument("--notes", default="", help="free text for the record's notes (a short budget, say)")
    run.add_argument(
        "--seed",
        type=seed,
        help="training seed, 0 to 2147483647: weight initialisation and training episodes (default: the "
        "profile's, 0); the frozen test episodes never change",
    )
    run.add_argument(
        "--config",
        type=key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method constructor argument (a JSON value; NaN and Infinity are refused), repeatable",
    )
    run.add_argument("--runs-dir", type=Path, default=Path("runs"), help="training folders (default: runs/)")
    run.add_argument("--results-dir", type=Path, help=RESULTS_HELP)
    data_arguments(run)

    commands.add_parser("list", help="list methods and benchmarks")

    verify = commands.add_parser(
        "verify", help="re-evaluate records' trained weights and check every per-episode accuracy"
    )
    verify.add_argument("records", nargs="+", type=Path, help="record JSON files")
    verify.add_argument(
        "--weights-dir",
        type=Path,
        action="append",
        help="folder to search for the trained weights, repeatable (also: runs/, the shipped weights in a "
        "checkout, and the cache's weights/ folder)",
    )
    verify.add_argument(
        "--weights-url",
        metavar="URL",
        help="download weights found in no folder from URL/<sha256>.weights.h5 into the cache's weights/ "
        "folder, kept only when the sha256 matches (default: $TFMETA_WEIGHTS_URL; tfmeta publishes its "
        "weights at no URL yet)",
    )
    verify.add_argument(
        "--mark", action="store_true", help="list each verified record in verified.json beside it"
    )
    verify.add_argument(
        "--allow-import",
        action="append",
        default=[],
        metavar="MODULE",
        help="let records whose method is in MODULE (or its submodules), or in the file MODULE names "
        "(path/to/file.py), import it, repeatable; without it only built-in methods and installed "
        "tfmeta.methods entry points are imported, since importing a module runs its code",
    )
    data_arguments(verify)
    speed = commands.add_parser(
        "speed", help="time the input pipeline, training steps and evaluation of methods (medians of repeats)"
    )
    speed.add_argument("--method", action="append", help="a method to time, repeatable (default: every one)")
    speed.add_argument(
        "--spec", default="omniglot", help="benchmark whose settings are timed (default: omniglot)"
    )
    speed.add_argument("--profile", default="standard", help="whose training setting (default: standard)")
    speed.add_argument(
        "--repeats", type=positive_int, default=5, help="repeats of each measurement (default: 5)"
    )
    speed.add_argument(
        "--episodes",
        type=positive_int,
        default=40,
        help="training episodes per repeat (default: 40; with fewer, fit()'s start-up inflates the step)",
    )
    speed.add_argument(
        "--eval-episodes",
        type=positive_int,
        default=1000,
        help="test episodes per repeat and setting (default: 1000, a benchmark's frozen test set; a method "
        "slower than 10 s a repeat is timed on fewer)",
    )
    speed.add_argument("--jit", action="store_true", help="compile the methods with XLA")
    speed.add_argument("--pytorch", action="store_true", help="also time the same ProtoNet step in PyTorch")
    speed.add_argument(
        "--optimizers", action="store_true", help="also time the LSTM optimizer against Adam (10k-1M params)"
    )
    speed.add_argument(
        "--no-methods",
        action="store_true",
        help="time no method, only what --pytorch and --optimizers ask for (with --output, the page's "
        "methods section stays as it was)",
    )
    speed.add_argument(
        "--output",
        type=Path,
        help="write the tables as markdown (docs/performance.md), replacing the sections this run timed and "
        "keeping the others",
    )
    data_arguments(speed)


def cmd_run(args) -> int:
    from tfmeta.config import specs
    from tfmeta.harness import pipeline, planning, reproduction, training
    from tfmeta.records import locations

    benchmark = specs.load(args.spec)
    settings = benchmark.data["settings"] if args.all_settings else [benchmark.setting(args.way, args.shot)]
    for setting in settings:
        options = planning.RunOptions(
            spec=args.spec,
            method=args.method,
            profile=args.profile,
            way=setting["way"],
            shot=setting["shot"],
            method_config=dict(args.config),
            data_dir=args.data_dir,
            cache_dir=args.cache_dir,
            runs_dir=args.runs_dir,
            results_dir=args.results_dir or locations.results_dir(),
            notes=args.notes,
            seed=args.seed,
        )
        try:
            path, record = pipeline.run(options)
        except (training.NotWritableError, training.WeightsError, reproduction.VerificationError) as err:
            print(f"tfmeta: error: {err}", file=sys.stderr)
            return 2
        print_result(record, path, benchmark.name, args.profile)
    return 0


def print_result(record: dict, path: Path, benchmark: str, profile: str) -> None:
    b, accuracy = record["benchmark"], record["accuracy"]
    print(
        f"{record['method']['name']} on {benchmark} {b['way']}-way {b['shot']}-shot "
        f"({profile}): {100 * accuracy['mean']:.2f} +- {100 * accuracy['ci95']:.2f}% over "
        f"{accuracy['n_episodes']} episodes\nrecord: {path}"
    )
    if "error_rate" in record:
        print(f"error rate on Lake's runs: {100 * record['error_rate']['mean']:.2f}%")
    if "verification" in record:
        pairs = record["verification"]
        print(f"verification: AUC {pairs['auc']:.4f}, EER {100 * pairs['eer']:.2f}% ({pairs['n_pairs']})")


def cmd_list(args) -> int:
    from tfmeta.config import specs

    print("methods:")
    names = registries.method_names()
    width = max(map(len, names))
    for name in names:
        print(f"  {name:{width}s} {registries.method_import_path(name)}")
    print("benchmarks:")
    for path in specs.available():
        benchmark = specs.load(path)
        settings = ", ".join(f"{s['way']}w{s['shot']}s" for s in benchmark.data["settings"])
        print(
            f"  {benchmark.name:{width}s} {path.name}: {settings}; "
            f"profiles: {', '.join(benchmark.data['profiles'])}"
        )
    return 0


def _measured(label: str, failed: dict, measure):
    """`measure()`, or None with the failure noted in `failed` and printed: one part's failure must not cost
    the other parts' hour of measurements (the page lists what was not timed)."""
    try:
        return measure()
    except Exception as err:
        failed[label] = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}"
        print(f"{label} FAILED: {failed[label]}", flush=True)
        return None


def cmd_speed(args) -> int:
    from tfmeta.speed import fair_speed, optimizer_speed, performance, speed

    if args.no_methods and (args.method or not (args.pytorch or args.optimizers)):
        print(
            "tfmeta: error: --no-methods times only what --pytorch and --optimizers ask for: give one of "
            "them, and no --method",
            file=sys.stderr,
        )
        return 2
    results, failed = [], {}
    for name in [] if args.no_methods else args.method or registries.method_names():
        result = _measured(name, failed, lambda name=name: speed.measure_method(
            name, args.spec, args.profile, args.episodes, args.eval_episodes, args.repeats,
            args.data_dir, args.cache_dir, args.jit,
        ))  # fmt: skip
        if result is not None:
            results.append(result)
            print("\n".join(speed.lines(result)), flush=True)
    compared = optimizers = None
    if args.pytorch:
        compared = _measured("PyTorch comparison", failed, lambda: fair_speed.compare(
            args.repeats, args.episodes, args.data_dir, args.cache_dir
        ))  # fmt: skip
        if compared is not None:
            print(fair_speed.table(compared), flush=True)
            if not isinstance(compared, str) and any(row.busy for row in compared):
                print(
                    f"tfmeta speed: the machine is busy: a spread above {100 * fair_speed.MAX_SPREAD:.0f}% "
                    "on one side, so no ratio was written for that row; run it again on a quiet machine",
                    file=sys.stderr,
                )
    if args.optimizers:
        optimizers = _measured("LSTM optimizer", failed, lambda: optimizer_speed.measure(
            repeats=args.repeats, data_dir=args.data_dir, cache_dir=args.cache_dir
        ))  # fmt: skip
        if optimizers is not None:
            print(optimizer_speed.table(optimizers), flush=True)
    if args.output:
        # Beside the page, then renamed over it: an interrupted run leaves the old page whole.
        partial = args.output.with_name(f".{args.output.name}.partial")
        previous = args.output.read_text() if args.output.is_file() else None
        timed = None if args.no_methods else results
        partial.write_text(performance.page(timed, compared, optimizers, args, failed, previous) + "\n")
        os.replace(partial, args.output)
        print(f"wrote {args.output}")
    return 1 if failed else 0


def cmd_verify(args) -> int:
    """Verifies every record given, each failure reported in one line on stderr; marks (with `--mark`)
    only the records that were reproduced. Returns 1 when any record was not verified."""
    from tfmeta.harness import reproduction

    sources = reproduction.Sources(
        directories=reproduction.weights_dirs(args.weights_dir),
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        allow_imports=args.allow_import,
        weights_url=args.weights_url,
    )
    failed = 0
    for path in args.records:
        try:
            done = reproduction.verify(path, sources)
            if args.mark:
                _mark(done)
        except Exception as err:  # one bad or forged record must not stop the others being checked
            print(f"NOT verified: {_failure(path, err)}", file=sys.stderr)
            if args.mark and isinstance(err, reproduction.EpisodeDiffers):
                _mark_differs(err)
            failed += 1
            continue
        print(f"verified: {path.name} ({done.episodes} episodes reproduced, weights {done.weights})")
        if done.source_changed:
            print(f"warning: {path.name}: {done.source_changed}", file=sys.stderr)
    if failed and len(args.records) > 1:
        print(f"tfmeta: {failed} of {len(args.records)} records not verified", file=sys.stderr)
    return 1 if failed else 0


def _mark(done) -> None:
    """Lists a verified record in its folder's verified.json, unless the file changed since it was read.

    Raises:
        ValueError: when the record changed, or verified.json cannot be written.
    """
    from tfmeta import __version__
    from tfmeta.records import submission, trust

    try:
        if trust.record_digest(done.path) != done.record_sha256:
            raise ValueError(
                "reproduced, but the file changed since it was read: not marked; verify it again"
            )
        path = done.path
        if path.parent.name == submission.PENDING:  # an upload the operator has now reproduced
            path = submission.admit(path)
            print(f"admitted {path.name} from {submission.PENDING}/ to the leaderboard")
        trust.mark(path, done.episodes, done.weights_sha256, __version__, _machine())
    except OSError as err:
        raise ValueError(
            f"reproduced, but not marked: {trust.VERIFIED} in {done.path.parent} cannot be written "
            f"({err.strerror or err})"
        ) from err


def _machine() -> dict:
    """This machine as a verification names it: CPU model and vector instruction sets."""
    from tfmeta.harness import provenance

    return {k: v for k, v in provenance.hardware([]).items() if k in ("cpu", "cpu_id", "simd")}


def _mark_differs(err) -> None:
    """Keeps this machine's differing outcome in verified.json beside other machines' reproductions (a
    record verified elsewhere becomes "verified on 1 of 2 machines"), unless the file changed since."""
    from tfmeta import __version__
    from tfmeta.records import trust

    try:
        if trust.record_digest(err.path) != err.record_sha256:
            return
        trust.mark_differs(err.path, err.weights_sha256, __version__, _machine(), err.detail)
        print(f"noted in {trust.VERIFIED}: {err.path.name} differs on this machine", file=sys.stderr)
    except OSError as err2:
        print(f"not noted: {trust.VERIFIED} in {err.path.parent} cannot be written ({err2})", file=sys.stderr)


def _failure(path: Path, err: Exception) -> str:
    """One line for a record that failed: its name and the reason (a verification error's message names
    the record itself; an error of a type tfmeta does not define is named by its type)."""
    from tfmeta.harness import reproduction

    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, reproduction.VerificationError):
        return text
    ours = type(err).__module__.startswith("tfmeta.") or type(err) is ValueError
    return f"{path.name}: {text}" if ours else f"{path.name}: {type(err).__name__}: {text}"


COMMANDS = {"run": cmd_run, "list": cmd_list, "speed": cmd_speed, "verify": cmd_verify}

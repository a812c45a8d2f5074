"""The `tfmeta` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# TensorFlow's C++ start-up chatter hides the messages users need; warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfmeta import cli_leaderboard, cli_optimizers  # noqa: E402
from tfmeta.data.locations import DATA_DIR_ENV  # noqa: E402


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help=f"folder with the dataset archives for offline use (default: ${DATA_DIR_ENV}; "
        "without either, the archives are downloaded)",
    )
    parser.add_argument(
        "--cache-dir", help="where prepared data is kept (default: $TFMETA_CACHE_DIR or ~/.cache/tfmeta)"
    )


def _key_value(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfmeta", description="Meta-learning benchmarks and leaderboard.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="train and evaluate a method on a benchmark, write a result record")
    run.add_argument("spec", help="benchmark spec: a YAML file or the name of one in benchmarks/")
    run.add_argument("--method", required=True, help="registered name or package.module:ClassName")
    run.add_argument("--profile", default="standard", help="smoke, standard or paper (default: standard)")
    run.add_argument("--way", type=int, help="test way (default: the spec's first setting)")
    run.add_argument("--shot", type=int, help="test shot (default: the spec's first setting)")
    run.add_argument("--all-settings", action="store_true", help="evaluate on every setting of the spec")
    run.add_argument("--notes", default="", help="free text for the record's notes (a short budget, say)")
    run.add_argument(
        "--config",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method constructor argument (JSON value), repeatable",
    )
    run.add_argument("--runs-dir", type=Path, default=Path("runs"), help="training folders (default: runs/)")
    run.add_argument("--results-dir", type=Path, help="where records go (default: leaderboard/results/)")
    _data_args(run)

    commands.add_parser("list", help="list methods and benchmarks")

    data = commands.add_parser("data", help="dataset preparation")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    prepare = data_commands.add_parser("prepare", help="prepare a dataset once (later runs read the cache)")
    prepare.add_argument(
        "--dataset",
        choices=("omniglot", "mini_imagenet"),
        default="omniglot",
        help="default: omniglot; mini_imagenet needs your images, see docs/mini_imagenet.md",
    )
    _data_args(prepare)

    speed = commands.add_parser("speed", help="print meta-training and evaluation speed of a method")
    speed.add_argument("--method", default="protonet")
    speed.add_argument("--way", type=int, default=5)
    speed.add_argument("--shot", type=int, default=1)
    speed.add_argument("--query", type=int, default=15)
    speed.add_argument("--episodes", type=int, default=200, help="timed episodes (default: 200)")
    speed.add_argument("--jit", action="store_true", help="compile with XLA")
    _data_args(speed)

    cli_leaderboard.add_parsers(commands)
    cli_optimizers.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tfmeta.bench.results import RecordError
    from tfmeta.bench.spec import SpecError
    from tfmeta.data.mini_imagenet import MiniImagenetError
    from tfmeta.data.omniglot import ArchiveError
    from tfmeta.methods import UnknownMethodError

    errors = (SpecError, UnknownMethodError, ArchiveError, MiniImagenetError, RecordError, FileExistsError)
    try:
        return COMMANDS[args.command](args)
    except errors as err:
        print(f"tfmeta: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ntfmeta: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


def cmd_run(args) -> int:
    from tfmeta.bench import results, runner, spec

    benchmark = spec.load(args.spec)
    settings = benchmark.data["settings"] if args.all_settings else [benchmark.setting(args.way, args.shot)]
    for setting in settings:
        options = runner.RunOptions(
            spec=args.spec,
            method=args.method,
            profile=args.profile,
            way=setting["way"],
            shot=setting["shot"],
            method_config=dict(args.config),
            data_dir=args.data_dir,
            cache_dir=args.cache_dir,
            runs_dir=args.runs_dir,
            results_dir=args.results_dir or results.RESULTS_DIR,
            notes=args.notes,
        )
        path, record = runner.run(options)
        accuracy = record["accuracy"]
        print(
            f"{record['method']['name']} on {benchmark.name} {setting['way']}-way {setting['shot']}-shot "
            f"({args.profile}): {100 * accuracy['mean']:.2f} +- {100 * accuracy['ci95']:.2f}% over "
            f"{accuracy['n_episodes']} episodes\nrecord: {path}"
        )
        if "error_rate" in record:
            print(f"error rate on Lake's runs: {100 * record['error_rate']['mean']:.2f}%")
        if "verification" in record:
            pairs = record["verification"]
            print(f"verification: AUC {pairs['auc']:.4f}, EER {100 * pairs['eer']:.2f}% ({pairs['n_pairs']})")
    return 0


def cmd_list(args) -> int:
    from tfmeta import methods
    from tfmeta.bench import spec

    print("methods:")
    names = methods.names()
    width = max(map(len, names))
    for name in names:
        print(f"  {name:{width}s} {methods.import_path(name)}")
    print("benchmarks:")
    for path in spec.available():
        benchmark = spec.load(path)
        settings = ", ".join(f"{s['way']}w{s['shot']}s" for s in benchmark.data["settings"])
        print(
            f"  {benchmark.name:{width}s} {path.name}: {settings}; "
            f"profiles: {', '.join(benchmark.data['profiles'])}"
        )
    return 0


def cmd_data(args) -> int:
    from tfmeta.data import mini_imagenet, omniglot

    module = mini_imagenet if args.dataset == "mini_imagenet" else omniglot
    builder = module.prepare(args.data_dir, args.cache_dir)
    print(f"{args.dataset} is prepared in {builder.data_dir} (cache: {omniglot.cache_dir(args.cache_dir)})")
    return 0


def cmd_speed(args) -> int:
    from tfmeta.bench.speed import measure

    for line in measure(args):
        print(line)
    return 0


COMMANDS = {"run": cmd_run, "list": cmd_list, "data": cmd_data, "speed": cmd_speed}
COMMANDS.update(leaderboard=cli_leaderboard.cmd_leaderboard, submit=cli_leaderboard.cmd_submit)
COMMANDS.update(cli_optimizers.COMMANDS)

if __name__ == "__main__":
    sys.exit(main())

"""The learned-optimizer track's subcommands: `meta-train-optimizer` and `optimizer-track`."""

from __future__ import annotations

import argparse
from pathlib import Path

from tfmeta.records import locations


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "spec",
        help="optimizer-track spec: a YAML file or the name of a shipped one "
        f"({locations.shipped_names('optimizers')})",
    )
    parser.add_argument(
        "--profile",
        default="standard",
        help="smoke, standard or paper (default: standard); a profile above the size caps (set against "
        "typos, far above the shipped profiles) runs only with TFMETA_ALLOW_LARGE=1",
    )
    parser.add_argument(
        "--runs-dir", type=Path, default=Path("runs"), help="training folders (default: runs/)"
    )
    parser.add_argument("--data-dir", help="Omniglot archives (default: $TFMETA_DATA_DIR)")
    parser.add_argument("--cache-dir", help="prepared data (default: $TFMETA_CACHE_DIR or ~/.cache/tfmeta)")


def add_parsers(commands) -> None:
    meta = commands.add_parser(
        "meta-train-optimizer", help="meta-train the LSTM optimizers of a spec (resumes when interrupted)"
    )
    _common(meta)
    meta.add_argument("--learned", action="append", help="only this learned optimizer (repeatable)")
    meta.add_argument(
        "--install", action="store_true", help="copy the weights into tfmeta/optimizers/pretrained/"
    )
    track = commands.add_parser(
        "optimizer-track", help="tune the baselines, run every optimizer on held-out problems, write records"
    )
    _common(track)
    track.add_argument("--family", action="append", help="only evaluations of this family (repeatable)")
    track.add_argument(
        "--weights",
        choices=("pretrained", "runs"),
        default="pretrained",
        help="meta-trained weights from tfmeta/optimizers/pretrained/ or --runs-dir (default: pretrained)",
    )
    track.add_argument(
        "--results-dir", type=Path, help="default: optimizers/ in the results folder (see tfmeta run --help)"
    )
    track.add_argument(
        "--redo",
        action="store_true",
        help="run evaluations already recorded in the results folder again (by default an interrupted "
        "track resumes, skipping them); their old records move to its superseded/ subfolder",
    )


def cmd_meta_train(args) -> int:
    from tfmeta.config import optimizer_specs
    from tfmeta.harness.optimizer_track import meta_train

    track = optimizer_specs.load(args.spec)
    track.check_budget(args.profile)
    for learned in args.learned or list(track.data["learned"]):
        path = meta_train.meta_train(
            track, learned, args.profile, args.runs_dir, args.data_dir, args.cache_dir, args.install
        )
        print(f"{learned}: meta-trained weights in {path}")
    return 0


def cmd_track(args) -> int:
    from tfmeta.config import optimizer_specs
    from tfmeta.harness.optimizer_track import run as optimizer_track

    track = optimizer_specs.load(args.spec)
    track.check_budget(args.profile)
    options = optimizer_track.TrackOptions(
        profile=args.profile,
        families=args.family,
        weights=args.weights,
        runs_dir=args.runs_dir,
        results_dir=args.results_dir or optimizer_track.default_results_dir(),
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        progress=lambda line: print(line, flush=True),
        redo=args.redo,
    )
    for line in optimizer_track.run_track(track, options):
        print(line)
    return 0


COMMANDS = {"meta-train-optimizer": cmd_meta_train, "optimizer-track": cmd_track}

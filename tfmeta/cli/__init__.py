"""The `tfmeta` command line: one module per command group, assembled here.

run.py          run, list, speed      (benchmarks)
data.py         data prepare          (datasets)
leaderboard.py  leaderboard, submit   (the records layer and the app; no TensorFlow)
optimizers.py   meta-train-optimizer, optimizer-track
"""

from __future__ import annotations

import argparse
import os
import sys

# TensorFlow's C++ start-up chatter hides the messages users need; warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfmeta.cli import data, leaderboard, optimizers, run, sweep  # noqa: E402

GROUPS = (run, data, leaderboard, optimizers, sweep)


class Parser(argparse.ArgumentParser):
    """No abbreviated options (`--runs` for `--runs-dir`): a record keeps its command, and the location
    options it leaves out (`provenance.LOCATION_OPTIONS`) are found by their full names. Subcommands'
    parsers are of this class too (argparse makes them of the parent's type)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="tfmeta", description="Meta-learning benchmarks and leaderboard.")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tfmeta.config.specs import SpecError
    from tfmeta.core.contract import ContractError
    from tfmeta.core.errors import ArchiveError, UserError
    from tfmeta.core.locks import LockedError
    from tfmeta.core.registries import UnknownFamilyError, UnknownMethodError
    from tfmeta.data.mini_imagenet import MiniImagenetError
    from tfmeta.harness.sweep import SweepError
    from tfmeta.methods import MethodConfigError
    from tfmeta.records.store import RecordError

    errors = (
        SpecError, UnknownMethodError, UnknownFamilyError, ContractError, ArchiveError, MiniImagenetError,
        RecordError, SweepError, FileExistsError, MethodConfigError, LockedError, UserError,
    )  # fmt: skip
    commands = {name: command for group in GROUPS for name, command in group.COMMANDS.items()}
    try:
        return commands[args.command](args)
    except errors as err:
        print(f"tfmeta: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ntfmeta: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Arguments shared by several command groups."""

from __future__ import annotations

import argparse
import json

from tfmeta.data.locations import DATA_DIR_ENV


def data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help=f"folder with the dataset archives for offline use (default: ${DATA_DIR_ENV}; "
        "without either, the archives are downloaded)",
    )
    parser.add_argument(
        "--cache-dir", help="where prepared data is kept (default: $TFMETA_CACHE_DIR or ~/.cache/tfmeta)"
    )


def key_value(text: str) -> tuple[str, object]:
    """`KEY=VALUE` with VALUE parsed as JSON where it is JSON, else kept as a string."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def positive_int(text: str) -> int:
    """An argument that counts something: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


RESULTS_HELP = (
    "where records go (default: $TFMETA_RESULTS_DIR, else leaderboard/results/ in a source checkout, "
    "else ./tfmeta-results/)"
)

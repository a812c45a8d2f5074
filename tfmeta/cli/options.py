"""Arguments shared by several command groups."""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import re

from tfmeta.config.specs import MAX_SEED
from tfmeta.core.data_dirs import DATA_DIR_ENV


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
    """`KEY=VALUE` with VALUE parsed as JSON where it is JSON, else kept as a string; a non-finite number
    (NaN, Infinity, 1e999) is refused: no method trains on one, and records cannot hold it."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value, parse_constant=_non_finite, parse_float=_finite_float)
    except _NonFinite:
        raise argparse.ArgumentTypeError(
            f"{key}={value}: not a finite number; give a finite value, as {key}=10"
        ) from None
    except json.JSONDecodeError:
        return key, value


class _NonFinite(ValueError):
    pass


def _non_finite(text: str) -> float:
    raise _NonFinite(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 overflows to inf
        raise _NonFinite(text)
    return value


def _whole(text: str, what: str = "a whole number") -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An argument that counts something: a whole number of at least 1."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed(text: str) -> int:
    """A training seed: a whole number numpy, TensorFlow and Keras all accept (0 .. 2**31 - 1)."""
    value = _whole(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_SEED}, got {value}")
    return value


def port(text: str) -> int:
    """A TCP port to listen on: 1 .. 65535."""
    value = _whole(text, "a port number")
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 1 to 65535, got {value}")
    return value


_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def host(text: str) -> str:
    """An address to bind: an IPv4 or IPv6 address, or a host name (RFC 1123 labels whose last one is not
    all digits, so that `999.1.1.1` is not taken for a name)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text.removesuffix(".").split(".")
    if len(text) <= 253 and all(_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit():
        return text
    raise argparse.ArgumentTypeError(
        f"not an IP address or host name: {text!r}; give one such as 127.0.0.1, 0.0.0.0 or localhost"
    )


RESULTS_HELP = (
    "where records go (default: $TFMETA_RESULTS_DIR, else leaderboard/results/ in a source checkout, "
    "else ./tfmeta-results/)"
)

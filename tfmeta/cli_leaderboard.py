"""The `tfmeta leaderboard` and `tfmeta submit` subcommands (no TensorFlow is imported by either)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "leaderboard" / "app.py"
RESULTS_ENV = "TFMETA_RESULTS_DIR"


def add_parsers(commands) -> None:
    """Adds both subcommands to the `tfmeta` subparsers."""
    board = commands.add_parser("leaderboard", help="open the Streamlit leaderboard (localhost by default)")
    board.add_argument(
        "--results-dir", type=Path, help=f"records to show (default: ${RESULTS_ENV} or leaderboard/results/)"
    )
    board.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)"
    )
    board.add_argument("--port", type=int, default=8501, help="port (default: 8501)")

    submit = commands.add_parser("submit", help="check a result record and add it to the leaderboard")
    submit.add_argument("record", type=Path, help="the record's JSON file")
    submit.add_argument(
        "--results-dir", type=Path, help="where accepted records go (default: leaderboard/results/)"
    )


def streamlit_command(args: argparse.Namespace) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", args.host, "--server.port", str(args.port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def cmd_leaderboard(args: argparse.Namespace) -> int:
    if not APP.is_file():
        print(
            f"tfmeta: error: the leaderboard app is missing at {APP}; run from a source checkout",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    if args.results_dir:
        env[RESULTS_ENV] = str(args.results_dir.resolve())
    print(f"tfmeta leaderboard on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    try:
        return subprocess.run(streamlit_command(args), env=env, check=False).returncode
    except KeyboardInterrupt:
        return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from tfmeta.bench import results, submission

    stored = submission.submit_file(args.record, args.results_dir or results.RESULTS_DIR)
    print(f"accepted {args.record.name}: stored as {stored}")
    return 0

"""`tfmeta leaderboard` and `tfmeta submit`: the records layer and the Streamlit app (no TensorFlow)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tfmeta.cli.options import RESULTS_HELP, host, port
from tfmeta.records import locations, store


def add_parsers(commands) -> None:
    board = commands.add_parser("leaderboard", help="open the Streamlit leaderboard (localhost by default)")
    board.add_argument(
        "--results-dir", type=Path, help=f"your records to show beside the shipped ones; {RESULTS_HELP}"
    )
    board.add_argument(
        "--host",
        type=host,
        default="127.0.0.1",
        help="IP address or host name to bind (default: 127.0.0.1, this machine only)",
    )
    board.add_argument("--port", type=port, default=8501, help="port, 1 to 65535 (default: 8501)")
    board.add_argument(
        "--submissions",
        action="store_true",
        help="serve the Submit page; uploads wait in the results folder's pending/ area, never ranked, "
        "until `tfmeta verify --mark` reproduces them (default: off)",
    )

    report = commands.add_parser(
        "report", help="regenerate docs/results.md and every marked results block of README and docs/"
    )
    report.add_argument(
        "--check", action="store_true", help="write nothing; list the files that differ and exit 1 if any"
    )

    submit = commands.add_parser(
        "submit",
        help="check a result record and add it to the leaderboard (a record that `tfmeta run` wrote into "
        "the results folder is there already)",
    )
    submit.add_argument("record", type=Path, help="the record's JSON file")
    submit.add_argument("--results-dir", type=Path, help=f"where accepted records go; {RESULTS_HELP}")
    submit.add_argument(
        "--data-dir",
        help="folder with Lake et al.'s all_runs.zip, to check records on it (default: $TFMETA_DATA_DIR)",
    )


def streamlit_command(args: argparse.Namespace) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(locations.app_dir() / "app.py"),
        "--server.address", args.host, "--server.port", str(args.port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
        "--server.maxUploadSize", str(max(1, store.MAX_RECORD_BYTES // 2**20)),  # megabytes: a record's cap
        *locations.SERVER_OPTIONS,
    ]  # fmt: skip


def cmd_leaderboard(args: argparse.Namespace) -> int:
    app = locations.app_dir() / "app.py"
    if not app.is_file():
        print(f"tfmeta: error: the leaderboard app is missing at {app}; reinstall tfmeta", file=sys.stderr)
        return 2
    env = dict(os.environ)
    if args.results_dir:
        env[locations.RESULTS_DIR_ENV] = str(args.results_dir.resolve())
    env[locations.SUBMISSIONS_ENV] = "on" if args.submissions else "off"
    print(f"tfmeta leaderboard on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    command = streamlit_command(args)
    # Become the Streamlit server (no child process to leave behind when this one is stopped).
    os.execve(command[0], command, env)


def cmd_submit(args: argparse.Namespace) -> int:
    from tfmeta.records import submission

    try:
        stored = submission.submit_file(
            args.record, args.results_dir or locations.results_dir(), data_dir=args.data_dir
        )
    except submission.AlreadyStored as done:  # `tfmeta run` stored it already: not an error
        waiting = done.WAITING if done.pending else ""
        print(f"{args.record.name} is already stored as {done.path}{waiting}; nothing to do")
        return 0
    print(f"accepted {args.record.name}: stored as {stored}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from tfmeta.records import report

    root = locations.checkout()
    if root is None:
        print("tfmeta: error: tfmeta report writes a checkout's docs; run it from a clone", file=sys.stderr)
        return 2
    stale = []
    for path, text in report.render(root).items():
        if not path.is_file() or path.read_text() != text:
            stale.append(path.relative_to(root))
            if not args.check:
                path.write_text(text)
    for path in stale:
        print(f"{'differs' if args.check else 'wrote'}: {path}")
    return 1 if args.check and stale else 0


COMMANDS = {"leaderboard": cmd_leaderboard, "submit": cmd_submit, "report": cmd_report}

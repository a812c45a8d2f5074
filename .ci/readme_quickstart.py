"""Runs the README's quickstart as a new user would, in the current (empty) folder, so the front door
cannot rot. Usage: python .ci/readme_quickstart.py README.md

Blocks are marked in the README by a comment on the line before them:
- `<!-- ci:file NAME -->` before a code block: the block is saved as NAME;
- `<!-- ci:run -->` before a bash block: each command runs in turn and must succeed; `tfmeta leaderboard`
  is started in the background on a free port and must answer its health check;
- `<!-- ci:python -->` before a python block: the block runs in a fresh interpreter.
Commands run with this interpreter's folder first on PATH (the wheel's environment).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BLOCK = re.compile(r"<!-- ci:(?P<kind>file|run|python)(?: (?P<name>\S+))? -->\n```\w*\n(?P<body>.*?)```", re.S)


def main(readme: Path) -> None:
    blocks = list(BLOCK.finditer(readme.read_text()))
    kinds = [b["kind"] for b in blocks]
    if not {"file", "run", "python"} <= set(kinds):
        sys.exit(f"{readme}: the quickstart markers are missing (found {kinds})")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for block in blocks:
        body = block["body"]
        if block["kind"] == "file":
            Path(block["name"]).write_text(body)
            print(f"quickstart: wrote {block['name']}", flush=True)
        elif block["kind"] == "python":
            started = time.monotonic()
            subprocess.run([sys.executable, "-c", body], env=env, check=True)
            print(f"quickstart: python block ran ({time.monotonic() - started:.0f} s)", flush=True)
        else:
            for line in body.splitlines():
                command = line.split("  #")[0].strip()
                if command:
                    run(command, env)


def run(command: str, env: dict) -> None:
    started = time.monotonic()
    if command.startswith("tfmeta leaderboard"):
        leaderboard(command, env)
    else:
        subprocess.run(["bash", "-c", command], env=env, check=True)
    print(f"quickstart: {command} ({time.monotonic() - started:.0f} s)", flush=True)


def leaderboard(command: str, env: dict) -> None:
    """Starts the app as the README says, on a free port, and waits for it to answer."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = subprocess.Popen(["bash", "-c", f"exec {command} --port {port}"], env=env)
    try:
        for _ in range(90):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                return
            except OSError:
                time.sleep(1)
        sys.exit(f"`{command}` did not answer on 127.0.0.1:{port}")
    finally:
        app.terminate()
        app.wait(timeout=30)


if __name__ == "__main__":
    main(Path(sys.argv[1]))

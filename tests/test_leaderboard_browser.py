"""The leaderboard in a real browser: start `tfmeta leaderboard`, load it in headless Chromium, wait for
the table and save a screenshot.

Skipped when Chromium is not installed (Debian: `apt-get install chromium`).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.records import REPO, make_record, write_json

_spec = importlib.util.spec_from_file_location(
    "leaderboard_screenshot", REPO / "leaderboard" / "screenshot.py"
)
screenshot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screenshot)

pytestmark = pytest.mark.skipif(
    screenshot.find_chromium() is None,
    reason="Chromium is not installed (Debian: apt-get install chromium); the browser test needs it",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tfmeta leaderboard exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the leaderboard at {url} did not come up in {timeout} s")


@pytest.fixture
def served(tmp_path):
    """`tfmeta leaderboard` serving two records on a free localhost port; stopped afterwards."""
    results = tmp_path / "results"
    write_json(results, "a.json", make_record("first", [0.9] * 20))
    write_json(results, "b.json", make_record("second", [0.7 + 0.01 * (i % 5) for i in range(20)]))
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "tfmeta.cli",
        "leaderboard",
        "--results-dir",
        str(results),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the group holds only this command and its Streamlit
        process.wait(timeout=20)


def test_the_table_renders_in_chromium(served, tmp_path):
    out = screenshot.screenshot(served, tmp_path / "leaderboard.png", timeout=90)
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000  # a blank page is a few kB

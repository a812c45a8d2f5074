"""The leaderboard in a real browser: start `tfmeta leaderboard` on the shipped records, open every page in
headless Chromium at 1280x800 and at 400 px wide, save a screenshot of each, and fail on any browser
console error, uncaught script error, Python exception on the page, page wider than its window or taller
than its limit, or key column of the few-shot table (Rank, Entry, Accuracy, Verdict) not inside the window.

Skipped when Chromium is not installed (Debian: `apt-get install chromium`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from tests.records import REPO

_spec = importlib.util.spec_from_file_location(
    "leaderboard_screenshot", REPO / "leaderboard" / "screenshot.py"
)
screenshot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screenshot)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        screenshot.find_chromium() is None,
        reason="Chromium is not installed (Debian: apt-get install chromium); the browser test needs it",
    ),
]


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


BEACON = "![beacon](http://127.0.0.1:9/beacon.png) [link](http://127.0.0.1:9/x)"


def hostile_folder(folder: Path) -> None:
    """A user's folder beside the shipped records, holding what once hung or broke pages: a FIFO named
    `*.json`, a file name that is not UTF-8, a fabricated perfect record of a shipped entry's seed (ranked
    apart as unverified), and markdown that would load an image from a record's free text."""
    from tfmeta.records import few_shot

    folder.mkdir()
    os.mkfifo(folder / "pipe.json")
    with open(os.fsencode(folder) + b"/\xff.json", "wb") as f:
        f.write(b"{}")
    shipped = sorted((REPO / "leaderboard" / "results").glob("omniglot-protonet-5w1s-standard-seed0-*.json"))
    record = json.loads(shipped[0].read_text())
    record["per_episode"] = [1.0] * len(record["per_episode"])
    record["accuracy"] = few_shot.summarize(record["per_episode"])
    record["notes"] = BEACON
    record["provenance"]["command"] = BEACON
    few_shot.write(record, folder, "perfect.json")


@pytest.fixture
def served(tmp_path, monkeypatch):
    """`tfmeta leaderboard --submissions` serving the shipped records and a hostile user folder on a free
    localhost port; stopped afterwards."""
    monkeypatch.setenv("TFMETA_SHIPPED_RECORDS", "on")
    monkeypatch.setenv("TFMETA_CACHE_DIR", str(tmp_path / "cache"))  # checks every record, as on a first run
    hostile_folder(tmp_path / "mine")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "tfmeta.cli",
        "leaderboard",
        "--results-dir",
        str(tmp_path / "mine"),
        "--port",
        str(port),
        "--submissions",
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


def test_every_page_renders_cleanly_at_desktop_and_phone_widths(served, tmp_path):
    shots = tmp_path / "screenshots"
    problems = screenshot.tour(served, shots, timeout=90, settle=0.5)
    assert not problems, "\n".join(problems)
    pngs = sorted(shots.glob("*.png"))
    assert len(pngs) == len(screenshot.PAGES) * len(screenshot.SIZES)
    for png in pngs:
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000, png.name  # a blank page is a few kB


def wait_for_text(session, text: str, seconds: float) -> None:
    expression = f"document.body.innerText.includes({json.dumps(text)})"
    deadline = time.monotonic() + seconds
    while not session.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get(
        "value"
    ):
        assert time.monotonic() < deadline, f"the page never said {text!r} within {seconds} s"
        time.sleep(0.1)


def test_an_open_page_shows_a_record_that_lands_without_a_reload(served, tmp_path):
    from tfmeta.records import few_shot

    with screenshot.browser() as session:
        session.call("Page.navigate", url=served)
        wait_for_text(
            session, "Unverified: 1 entries, ranked apart", 90
        )  # the hostile folder's perfect record
        record = json.loads((tmp_path / "mine" / "perfect.json").read_text())
        record["method"]["config"]["landed"] = 1  # an entry of its own
        few_shot.write(record, tmp_path / "mine", "landed.json")
        wait_for_text(session, "Unverified: 2 entries, ranked apart", 30)  # no navigation in between


@contextlib.contextmanager
def streamlit_page(page: Path):
    """`streamlit run page` on a free localhost port; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(page), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=page.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_the_tour_reports_a_python_exception_on_a_page(tmp_path, monkeypatch):
    """The check itself can fail: a page that raises is reported, not screenshotted as fine."""
    page = tmp_path / "broken.py"
    page.write_text("import streamlit as st\nst.title('broken')\nraise ValueError('on purpose')\n")
    monkeypatch.setattr(screenshot, "PAGES", {"": screenshot.TABLE})
    monkeypatch.setattr(screenshot, "SIZES", {"desktop": (1280, 800)})
    with streamlit_page(page) as url:
        problems = screenshot.tour(url, tmp_path / "shots", timeout=60)
    assert problems == ["few_shot-desktop: 1 Python exception(s) shown on the page"]


def test_the_tour_reports_key_columns_out_of_view(tmp_path, monkeypatch):
    """The key-column check can fail: a table whose verdict comes last, after a wide column, and whose
    accuracy column is too wide for a phone is reported at both widths, by column."""
    page = tmp_path / "verdict_last.py"
    page.write_text(
        textwrap.dedent("""
            import pandas as pd
            import streamlit as st

            row = {"Rank": 1, "Entry": "protonet", "Accuracy (%)": "98.03 ± 0.20",
                   "Gap to next": "beats: +1.29 [+1.03, +1.55] pts", "Verdict": "beats +1.29"}
            wide = {"Accuracy (%)": st.column_config.TextColumn(width=300),
                    "Gap to next": st.column_config.TextColumn(width=1200)}
            st.dataframe(pd.DataFrame([row]), hide_index=True, column_config=wide)
        """)
    )
    monkeypatch.setattr(screenshot, "PAGES", {"": screenshot.TABLE})
    with streamlit_page(page) as url:
        problems = screenshot.tour(url, tmp_path / "shots", timeout=60)
    assert len(problems) == 3, problems
    assert problems[0].startswith("few_shot-desktop: column 'Verdict' is not drawn in the 1280 px window")
    assert problems[1].startswith("few_shot-narrow: column 'Verdict' is not drawn in the 400 px window")
    assert problems[2].startswith("few_shot-narrow: column 'Accuracy (%)' (number 3) runs past x ")

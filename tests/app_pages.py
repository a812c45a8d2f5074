"""The leaderboard app opened through AppTest on a folder of records, as the app's tests look at it."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.records import REPO

APP = REPO / "leaderboard" / "app.py"


def open_page(results_dir: Path, page: str, monkeypatch) -> AppTest:
    """The app on the records in `results_dir`, uploads on, run on `page` (a views/ file's name, or the
    first page, few_shot); fails the test when the page raised."""
    monkeypatch.setenv("TFMETA_RESULTS_DIR", str(results_dir))
    monkeypatch.setenv("TFMETA_SUBMISSIONS", "on")
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    if page != "few_shot":
        app.switch_page(f"views/{page}.py").run()
    assert not app.exception, app.exception
    return app

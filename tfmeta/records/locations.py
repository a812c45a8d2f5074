"""Where tfmeta finds its shipped files and writes its records, in a source checkout or an installed wheel.

A source checkout keeps `benchmarks/` and `leaderboard/` beside the `tfmeta/` package; a wheel carries
copies of both inside the package, under `tfmeta/_shipped/` (see `pyproject.toml`), so that an installed
tfmeta runs from any folder.
"""

from __future__ import annotations

import os
from pathlib import Path

RESULTS_DIR_ENV = "TFMETA_RESULTS_DIR"
# "on": the app serves its Submit page (`tfmeta leaderboard --submissions`); off by default.
SUBMISSIONS_ENV = "TFMETA_SUBMISSIONS"
# Streamlit options the app is served with (`tfmeta leaderboard`, and the startup benchmark). Streamlit's
# full garbage collection after every script run walks every cached object: at 100,000 records (the
# index's rows, the ranked parts) it took seconds a run, and an open page runs its follower four times a
# second. Python's own generational collection still runs.
SERVER_OPTIONS = ("--runner.postScriptGC", "false")
# Records of a user's runs outside a checkout land here, in the current folder.
LOCAL_RESULTS = "tfmeta-results"

_PACKAGE = Path(__file__).resolve().parents[1]


def checkout() -> Path | None:
    """The source checkout holding this tfmeta package, or None for an installed wheel."""
    root = _PACKAGE.parent
    if (
        (root / "pyproject.toml").is_file()
        and (root / "benchmarks").is_dir()
        and (root / "leaderboard").is_dir()
    ):
        return root
    return None


def _shipped(name: str) -> Path:
    root = checkout()
    return root / name if root else _PACKAGE / "_shipped" / name


def benchmarks_dir() -> Path:
    """The shipped benchmark specs and their frozen episodes."""
    return _shipped("benchmarks")


def shipped_names(folder: str = "") -> str:
    """The names of the shipped YAML files in `benchmarks/<folder>`, for help texts."""
    return ", ".join(p.stem for p in sorted((benchmarks_dir() / folder).glob("*.yaml")))


def app_dir() -> Path:
    """The Streamlit leaderboard app (`app.py`, `views/`)."""
    return _shipped("leaderboard")


def shipped_results_dir() -> Path:
    """The committed standard records that come with tfmeta."""
    return app_dir() / "results"


def is_shipped_results(directory: str | Path) -> bool:
    """Whether `directory` is the shipped records' folder (in a checkout, also where its records land)."""
    try:
        return Path(directory).resolve() == shipped_results_dir().resolve()
    except OSError:
        return False


def shipped_weights_dir() -> Path:
    """The trained weights of the committed standard records (`tfmeta verify` finds them by sha256)."""
    return app_dir() / "weights"


def results_dir() -> Path:
    """Where new records go: $TFMETA_RESULTS_DIR, else a checkout's `leaderboard/results/`, else
    `./tfmeta-results/` in the current folder (never inside an installed package)."""
    if os.environ.get(RESULTS_DIR_ENV):
        return Path(os.environ[RESULTS_DIR_ENV]).expanduser()
    root = checkout()
    return root / "leaderboard" / "results" if root else Path.cwd() / LOCAL_RESULTS

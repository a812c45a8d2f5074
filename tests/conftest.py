"""Shared fixtures: the real Omniglot archives, prepared once per test session into a private cache, and
each method's smoke run, trained once per session.

The suite runs on pytest-xdist workers (`-n 2 --dist loadfile` in pyproject.toml: a file's tests, and so
its module fixtures, stay on one worker). The session's cache and smoke runs live in a folder all workers
of the session share, behind file locks: the first worker to need a dataset or a method's smoke run makes
it, the others wait for it and read it.

Two tiers. Every test that reads the Omniglot archives is marked `needs_data`, here at collection: every
test whose fixtures reach `data_dir`, however indirectly (a module fixture that uses `smoke_run`, say).
Without the archives those tests skip, saying where the data was looked for, unless TFMETA_REQUIRE_DATA=1
or CI=true says the data must be there: then they fail, so CI never passes by skipping the real-data tier.
Data-free tests that take seconds (training a model, a subprocess, the app on the shipped records, a
browser) are marked `slow` in their modules. `pytest -m "not needs_data and not slow"` is the fast tier.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
ARCHIVES = ("images_background.zip", "images_evaluation.zip")


def pytest_configure(config):
    """`tfmeta verify --mark` signs with a machine key (`tfmeta.records.trust`): the tests' own, never the
    user's in ~/.config."""
    os.environ.setdefault(
        "TFMETA_VERIFY_KEY", str(Path(tempfile.mkdtemp(prefix="tfmeta-key-")) / "verify.key")
    )


def configured_data_dir() -> Path:
    """Where the Omniglot archives are looked for: $TFMETA_DATA_DIR, else ../shared/data."""
    return Path(os.environ.get("TFMETA_DATA_DIR") or DEFAULT_DATA_DIR)


def data_required() -> bool:
    """True where a missing archive must fail the run rather than skip its tests."""
    required = os.environ.get("TFMETA_REQUIRE_DATA", "").strip().lower() not in ("", "0", "false", "no")
    return required or os.environ.get("CI", "").strip().lower() in ("true", "1")


def require_data() -> Path:
    """The data folder if it holds the Omniglot archives; else skip the calling test, or fail it where
    the data is required (data_required)."""
    path = configured_data_dir()
    missing = [name for name in ARCHIVES if not (path / "omniglot" / name).is_file()]
    if missing:
        where = f"{path / 'omniglot'} lacks {', '.join(missing)} (set TFMETA_DATA_DIR to omniglot/'s folder)"
        if data_required():
            pytest.fail(f"TFMETA_REQUIRE_DATA or CI is set, so the Omniglot archives must be here: {where}")
        pytest.skip(f"needs the Omniglot archives: {where}")
    return path


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Mark every test whose fixtures reach data_dir, before `-m` selects (tryfirst)."""
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.needs_data)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Skip (or fail, where required) a `needs_data` test before any of its fixtures run."""
    if item.get_closest_marker("needs_data"):
        require_data()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder with the real Omniglot archives: $TFMETA_DATA_DIR, else ../shared/data."""
    return require_data()


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    """A folder shared by every worker of this test session (the parent of the workers' own folders)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def cache_dir(session_dir) -> Path:
    """A cache private to this test session, so tests exercise preparation from the archives; the
    preparation's own lock makes one worker prepare and the others wait."""
    path = session_dir / "tfmeta-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def characters(data_dir, cache_dir):
    from tfmeta.data.omniglot import load_characters

    return load_characters(data_dir, cache_dir)


@pytest.fixture(scope="session")
def class_sets(characters):
    from tfmeta.data.splits import build_class_set

    return {part: build_class_set("vinyals", part, characters) for part in ("train", "val", "test")}


@pytest.fixture(scope="session")
def smoke_run(data_dir, cache_dir, session_dir):
    """Runs a method's smoke profile through the harness once per session: smoke_run(method, **options)
    returns (record path, record), the record as written. Runs share one runs folder, so later settings
    reuse the training; one lock per method and spec keeps two workers out of one training folder."""
    from tfmeta.core import locks
    from tfmeta.harness import pipeline, planning

    root = session_dir / "smoke"
    done = {}

    def run(method: str, spec: str = "omniglot", **options):
        key = (method, spec, tuple(sorted(options.items())))
        if key not in done:
            made = root / "made" / f"{hashlib.sha256(repr(key).encode()).hexdigest()[:16]}.txt"
            training = hashlib.sha256(repr((method, spec)).encode()).hexdigest()[:16]
            with locks.wait_for(root / "locks" / f"{training}.lock"):
                if not made.exists():
                    path, _ = pipeline.run(
                        planning.RunOptions(
                            spec=spec,
                            method=method,
                            profile="smoke",
                            data_dir=str(data_dir),
                            cache_dir=str(cache_dir),
                            runs_dir=root / "runs",
                            results_dir=root / "results",
                            verbose=0,
                            **options,
                        )
                    )
                    made.parent.mkdir(parents=True, exist_ok=True)
                    made.write_text(str(path))
            path = Path(made.read_text())
            done[key] = (path, json.loads(path.read_text()))
        return done[key]

    return run


@pytest.fixture(autouse=True)
def only_the_tests_records(monkeypatch):
    """The app shows the shipped records beside the user's; tests look at their own folders only."""
    monkeypatch.setenv("TFMETA_SHIPPED_RECORDS", "off")

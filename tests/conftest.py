"""Shared fixtures: the real Omniglot archives, prepared once per test session into a private cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder with the real Omniglot archives: $TFMETA_DATA_DIR, else ../shared/data."""
    path = Path(os.environ.get("TFMETA_DATA_DIR") or DEFAULT_DATA_DIR)
    if not (path / "omniglot" / "images_background.zip").exists():
        pytest.fail(f"the Omniglot archives are needed at {path}/omniglot; set TFMETA_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """A cache private to this test session, so tests exercise preparation from the archives."""
    return tmp_path_factory.mktemp("tfmeta-cache")


@pytest.fixture(scope="session")
def characters(data_dir, cache_dir):
    from tfmeta.data.omniglot import load_characters

    return load_characters(data_dir, cache_dir)


@pytest.fixture(scope="session")
def class_sets(characters):
    from tfmeta.data.splits import build_class_set

    return {part: build_class_set("vinyals", part, characters) for part in ("train", "val", "test")}


@pytest.fixture(scope="session")
def smoke_run(data_dir, cache_dir, tmp_path_factory):
    """Runs a method's smoke profile through the harness once per session: smoke_run(method, **options)
    returns (record path, record). Runs share one runs folder, so later settings reuse the training."""
    from tfmeta.harness import pipeline, planning

    root = tmp_path_factory.mktemp("smoke")
    done = {}

    def run(method: str, spec: str = "omniglot", **options):
        key = (method, spec, tuple(sorted(options.items())))
        if key not in done:
            done[key] = pipeline.run(
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
        return done[key]

    return run


@pytest.fixture(autouse=True)
def only_the_tests_records(monkeypatch):
    """The app shows the shipped records beside the user's; tests look at their own folders only."""
    monkeypatch.setenv("TFMETA_SHIPPED_RECORDS", "off")

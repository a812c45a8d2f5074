"""Cached record loading shared by the pages, with a visible warning for every skipped file."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from tfmeta.bench import optimizer_results, results

RESULTS_ENV = "TFMETA_RESULTS_DIR"
Entry = tuple[Path, dict]


def results_dir() -> Path:
    """The folder the app reads: $TFMETA_RESULTS_DIR, else the repository's leaderboard/results/."""
    return Path(os.environ.get(RESULTS_ENV) or results.RESULTS_DIR)


def _fingerprint(directory: Path) -> tuple:
    """Names, sizes and modification times of the records: a new or changed file invalidates the cache."""
    stamps = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            stat = path.stat()
        except OSError:  # removed while we looked
            continue
        stamps.append((path.name, stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


@st.cache_data(show_spinner="Reading records...", max_entries=4)
def _load(directory: str, fingerprint: tuple) -> results.Loaded:
    return results.load_all(directory)


def load_entries(warn: bool = True) -> list[Entry]:
    """The readable records; each skipped file shows a warning naming it and the reason."""
    directory = results_dir()
    loaded = _load(str(directory), _fingerprint(directory))
    if warn:
        for path, reason in loaded.skipped:
            st.warning(f"Skipped `{path.name}`: {reason}", icon=":material/warning:")
    return loaded.records


@st.cache_data(show_spinner="Reading optimizer records...", max_entries=4)
def _load_optimizers(directory: str, fingerprint: tuple) -> results.Loaded:
    return optimizer_results.load_all(directory)


def load_optimizer_entries(warn: bool = True) -> list[Entry]:
    """The readable optimizer-track records (in `optimizers/` of the results folder), with warnings."""
    directory = results_dir() / "optimizers"
    loaded = _load_optimizers(str(directory), _fingerprint(directory))
    if warn:
        for path, reason in loaded.skipped:
            st.warning(f"Skipped `optimizers/{path.name}`: {reason}", icon=":material/warning:")
    return loaded.records


def no_records_note() -> None:
    st.info(
        f"No result records in `{results_dir()}` yet. Produce one with "
        "`tfmeta run omniglot --method protonet --profile smoke`, or add one with "
        "`tfmeta submit RECORD.json` or the *Submit a record* page.",
        icon=":material/info:",
    )

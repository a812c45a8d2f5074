"""Cached record loading and ranked tables shared by the pages, with a visible warning for every skipped
file.

The app shows the user's records (`tfmeta.records.locations.results_dir()`: $TFMETA_RESULTS_DIR, a
checkout's `leaderboard/results/`, or `./tfmeta-results/`) together with the standard records shipped with
tfmeta; set TFMETA_SHIPPED_RECORDS=off to show only the user's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import record_cache
import streamlit as st

from tfmeta.records import few_shot, locations, store, text, trust
from tfmeta.records import optimizer as optimizer_records
from tfmeta.records.frames.tables import Table, group_tables

SHIPPED_ENV = "TFMETA_SHIPPED_RECORDS"
# Every ASCII punctuation character may be backslash-escaped in CommonMark, which makes it literal text.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
Entry = tuple[Path, dict]


def plain(value: object) -> str:
    """A string from a record (or a reason mentioning one) as literal text inside Streamlit markdown:
    every punctuation character escaped, so no link, image, code span, emphasis or autolink forms."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.printable(value).split()))


def submissions_on() -> bool:
    return os.environ.get(locations.SUBMISSIONS_ENV) == "on"


def verified(entries: list[Entry]) -> list[Entry]:
    """The records `tfmeta verify` reproduced (`tfmeta.records.trust`): what the pages rank by default."""
    return [(path, record) for path, record in entries if trust.status(path, record) == "verified"]


def results_dir() -> Path:
    """The user's folder: where the Submit page stores records."""
    return locations.results_dir()


def record_dirs() -> list[Path]:
    """The folders the app reads: the user's, then the shipped records unless they are the same folder or
    switched off."""
    folders = [results_dir()]
    shipped = locations.shipped_results_dir()
    if os.environ.get(SHIPPED_ENV, "on") != "off" and shipped.resolve() != folders[0].resolve():
        folders.append(shipped)
    return folders


def _fingerprint(directory: Path) -> tuple:
    """Names, sizes and modification times of the records: a new or changed file invalidates the cache."""
    stamps = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            stat = path.stat()
        except OSError:  # removed while we looked
            continue
        # An undecodable file name holds lone surrogates, which the cache's hashing cannot encode.
        stamps.append((text.printable(path.name), stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


# Records checked by an earlier run of the app are read from `record_cache` without checking them again.
@st.cache_data(show_spinner="Reading records...", max_entries=8)
def _load(directory: str, fingerprint: tuple) -> store.Loaded:
    return record_cache.load_all(directory, few_shot.check)


@st.cache_data(show_spinner="Reading optimizer records...", max_entries=8)
def _load_optimizers(directory: str, fingerprint: tuple) -> store.Loaded:
    return record_cache.load_all(directory, optimizer_records.check)


def _entries(loader, subfolder: str, warn: bool) -> list[Entry]:
    entries = []
    for folder in record_dirs():
        directory = folder / subfolder
        loaded = loader(str(directory), _fingerprint(directory))
        if warn:
            for path, reason in loaded.skipped:
                st.warning(
                    f"Skipped {plain(subfolder + path.name)}: {plain(reason)}", icon=":material/warning:"
                )
        entries += loaded.records
    return entries


def disk_stamp() -> tuple:
    """The names, sizes and modification times of every folder's records and of its verification table:
    what the ranked tables are made of."""
    return tuple((_fingerprint(folder), trust.table_stamp(folder)) for folder in record_dirs())


def grouped(entries: list[Entry]) -> list[Table]:
    """`group_tables(entries)`, made once for these records as they are on disk and shared between
    sessions: pages read the tables and never change them."""
    return _grouped(disk_stamp(), tuple(str(path) for path, _ in entries), entries)


@st.cache_resource(show_spinner=False, max_entries=16)
def _grouped(stamp: tuple, paths: tuple[str, ...], _entries: list[Entry]) -> list[Table]:
    return group_tables(_entries)


def load_entries(warn: bool = True) -> list[Entry]:
    """The readable few-shot records; each skipped file shows a warning naming it and the reason."""
    return _entries(_load, "", warn)


def load_optimizer_entries(warn: bool = True) -> list[Entry]:
    """The readable optimizer-track records (in `optimizers/` of each folder), with warnings."""
    return _entries(_load_optimizers, f"{optimizer_records.SUBFOLDER}/", warn)


def no_records_note() -> None:
    st.info(
        f"No result records in `{results_dir()}` yet. Produce one with "
        "`tfmeta run omniglot --method protonet --profile smoke`, or add one with "
        "`tfmeta submit RECORD.json` or the *Submit a record* page.",
        icon=":material/info:",
    )

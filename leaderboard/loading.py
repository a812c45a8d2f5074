"""Record loading and ranked tables shared by the pages, read through each folder's index of validated
records (`record_index`), with a visible warning for every skipped file.

The app shows the user's records (`tfmeta.records.locations.results_dir()`: $TFMETA_RESULTS_DIR, a
checkout's `leaderboard/results/`, or `./tfmeta-results/`) together with the standard records shipped with
tfmeta; set TFMETA_SHIPPED_RECORDS=off to show only the user's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import ranking
import streamlit as st
from record_index import RecordIndex

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


KINDS = {"few_shot": (few_shot.check, ranking.describe), "optimizer": (optimizer_records.check, None)}


@st.cache_resource(show_spinner=False, max_entries=32)
def _index(directory: str, kind: str) -> RecordIndex:
    """The index of a folder's records of one kind, shared by the app's sessions."""
    return RecordIndex(directory, *KINDS[kind])


def _synced(kind: str, subfolder: str, warn: bool) -> list[tuple[RecordIndex, str]]:
    """The indexes of the app's folders, brought in line with the files, each with its generation; each
    skipped file shows a warning naming it and the reason."""
    indexes = []
    for folder in record_dirs():
        index = _index(str(folder / subfolder), kind)
        with st.spinner("Reading records..."):
            generation = index.sync()
        if warn:
            for path, reason in index.skipped():
                st.warning(
                    f"Skipped {plain(subfolder + path.name)}: {plain(reason)}", icon=":material/warning:"
                )
        indexes.append((index, generation))
    return indexes


# Whole records (with per-episode values and analyses), for the pages that read them all.
@st.cache_data(show_spinner="Reading records...", max_entries=8)
def _loaded(directory: str, kind: str, generation: str) -> store.Loaded:
    return _index(directory, kind).loaded()


def _entries(kind: str, subfolder: str, warn: bool) -> list[Entry]:
    entries = []
    for index, generation in _synced(kind, subfolder, warn):
        entries += _loaded(str(index.directory), kind, generation).records
    return entries


def disk_stamp() -> tuple:
    """The generations of every folder's index (which change with any record or trust label): what the
    ranked tables are made of."""
    return tuple(index.sync() for index in (_index(str(folder), "few_shot") for folder in record_dirs()))


@st.cache_resource(show_spinner=False)
def _parts() -> ranking.Parts:
    return ranking.Parts()


@st.cache_resource(show_spinner="Grouping records...", max_entries=4)
def _board(stamp: tuple, _indexes: tuple[RecordIndex, ...]) -> ranking.Board:
    return ranking.Board(_indexes, _parts())


def board(warn: bool = True) -> ranking.Board:
    """The few-shot records grouped into ranked tables from the indexes, with warnings; made again only
    when a record or a trust label changed."""
    synced = _synced("few_shot", "", warn)
    stamp = tuple((str(index.directory), generation) for index, generation in synced)
    return _board(stamp, tuple(index for index, _ in synced))


def grouped(entries: list[Entry]) -> list[Table]:
    """`group_tables(entries)`, made once for these records as they are on disk and shared between
    sessions: pages read the tables and never change them."""
    return _grouped(disk_stamp(), tuple(str(path) for path, _ in entries), entries)


@st.cache_resource(show_spinner=False, max_entries=16)
def _grouped(stamp: tuple, paths: tuple[str, ...], _entries: list[Entry]) -> list[Table]:
    return group_tables(_entries)


def load_entries(warn: bool = True) -> list[Entry]:
    """The readable few-shot records; each skipped file shows a warning naming it and the reason."""
    return _entries("few_shot", "", warn)


def load_optimizer_entries(warn: bool = True) -> list[Entry]:
    """The readable optimizer-track records (in `optimizers/` of each folder), with warnings."""
    return _entries("optimizer", f"{optimizer_records.SUBFOLDER}/", warn)


FOLLOW_SECONDS = 0.25  # how often an open page looks for records landed since it was drawn


def folders_stamp() -> tuple:
    """When each records folder last gained, lost or replaced a file (records, `verified.json`): a
    directory's modification time changes with every name written into it, as `store` and `trust`
    write theirs (a temporary file renamed into place), at the cost of one `stat` whatever the folder
    holds."""
    stamp = []
    for folder in record_dirs():
        for directory in (folder, folder / optimizer_records.SUBFOLDER):
            try:
                stamp.append(os.stat(directory).st_mtime_ns)
            except OSError:
                stamp.append(None)
    return tuple(stamp)


def note_records() -> None:
    """Notes the folders' state before a page reads them, for `follow_records`."""
    st.session_state["records_stamp"] = folders_stamp()


@st.fragment(run_every=FOLLOW_SECONDS)
def follow_records() -> None:
    """Draws the page again when a record or a verification landed since `note_records`, so an open page
    shows it without a reload. Called after the page: its first look then comes after the page's first
    paint, which it would otherwise slow."""
    if folders_stamp() != st.session_state.get("records_stamp"):
        st.rerun()


def no_records_note() -> None:
    st.info(
        f"No result records in `{results_dir()}` yet. Produce one with "
        "`tfmeta run omniglot --method protonet --profile smoke`, or add one with "
        "`tfmeta submit RECORD.json` or the *Submit a record* page.",
        icon=":material/info:",
    )

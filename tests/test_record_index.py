"""The leaderboard's index of validated records (leaderboard/record_index.py) and the ranked tables made
from it (leaderboard/ranking.py): they give what the records layer gives, each file is checked once, no
row is trusted over its file, a damaged index is rebuilt, and two processes share one index safely.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.records import REPO, broken_records, make_record, write_json
from tfmeta.records import few_shot, store, trust
from tfmeta.records.frames import tables

sys.path.insert(0, str(REPO / "leaderboard"))
import ranking  # noqa: E402
import record_index  # noqa: E402
from record_index import RecordIndex  # noqa: E402

SHIPPED = REPO / "leaderboard" / "results"
APP = REPO / "leaderboard" / "app.py"


class Counted:
    """`few_shot.check`, counting the records it checks."""

    def __init__(self):
        self.calls = 0
        functools.update_wrapper(self, few_shot.check)

    def __call__(self, record):
        self.calls += 1
        few_shot.check(record)

    def take(self) -> int:
        calls, self.calls = self.calls, 0
        return calls


def index_of(directory: Path, check=few_shot.check) -> RecordIndex:
    return RecordIndex(directory, check, ranking.describe)


def record(name: str, units: int = 8, spread: bool = False) -> dict:
    """A valid record whose method has `units` units; with `spread`, an accuracy that depends on them."""
    made = make_record(name, [(40 + units % 30) / 75] * 20 if spread else None)
    made["method"]["config"]["units"] = units
    return made


@pytest.fixture
def folder(tmp_path) -> Path:
    for units in range(4):
        write_json(tmp_path, f"fake-{units}.json", record("fake", units))
    return tmp_path


def test_the_index_reads_what_the_records_layer_reads(tmp_path, monkeypatch):
    """Broken files, a FIFO, shipped records and a valid one: what `few_shot.load_all` gives, from the
    index; the second sync checks again only the files that failed, and a change of the checks' code
    checks everything again."""
    for case, (content, _) in broken_records().items():
        (tmp_path / f"{case}.json").write_text(content if isinstance(content, str) else json.dumps(content))
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "folder.json").mkdir()
    for path in sorted(SHIPPED.glob("omniglot-protonet-5w1s-*.json"))[:2]:
        shutil.copy(path, tmp_path)
    write_json(tmp_path, "valid.json", record("survivor"))
    expected = few_shot.load_all(tmp_path)
    passing = len(expected.records)
    assert passing >= 3 and len(expected.skipped) > 5
    check = Counted()
    index = index_of(tmp_path, check)
    index.sync()
    assert index.loaded() == expected and (tmp_path / record_index.NAME).is_file()
    first = check.take()
    index.sync()
    assert index.loaded() == expected
    assert check.take() == first - passing  # the records that passed are not checked again
    assert index_of(tmp_path, check).sync() and check.take() == first - passing  # nor by another process

    monkeypatch.setattr(record_index, "code_stamp", lambda: "other checks")
    other = index_of(tmp_path, check)
    other.sync()
    assert other.loaded() == expected and check.take() == first


def test_a_new_or_changed_file_is_checked_alone_and_a_deleted_one_disappears(folder):
    check = Counted()
    index = index_of(folder, check)
    index.sync()
    assert check.take() == 4
    write_json(folder, "fake-new.json", record("fake", 10))
    write_json(folder, "fake-1.json", record("fake", 11))
    (folder / "broken.json").write_text("{")
    index.sync()
    assert check.take() == 2
    assert index.loaded() == few_shot.load_all(folder)
    (folder / "fake-2.json").unlink()
    (folder / "broken.json").unlink()
    generation = index.sync()
    assert index.loaded() == few_shot.load_all(folder) and check.take() == 0
    assert "fake-2.json" not in {path.name for path, _ in index.loaded().records} and not index.skipped()
    assert index.sync() == generation  # nothing changed: nothing written


def test_a_large_build_checks_in_worker_processes_a_batch_at_a_time(folder, monkeypatch):
    monkeypatch.setattr(record_index, "PARALLEL", 2)
    monkeypatch.setattr(record_index, "BATCH", 3)
    for units in range(4, 9):
        write_json(folder, f"fake-{units}.json", record("fake", units))
    (folder / "broken.json").write_text("[1]")
    index = index_of(folder)
    index.sync()
    assert index.loaded() == few_shot.load_all(folder)


def test_a_file_changed_under_the_same_name_size_and_time_is_read_again(folder):
    index = index_of(folder)
    index.sync()
    path = folder / "fake-3.json"
    before = path.stat()
    path.write_text(path.read_text().replace('"units": 3', '"units": 7'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    index.sync()
    (changed,) = [r for p, r in index.loaded().records if p == path]
    assert changed["method"]["config"]["units"] == 7


def test_a_file_read_as_it_was_written_is_read_again_at_the_next_sync(folder, monkeypatch):
    """A file modified in the tick it was read may look unchanged afterwards: it is read again until its
    time is older than RACY_NS when read."""
    index = index_of(folder)
    index.sync()
    monkeypatch.setattr(record_index, "_key", lambda status: (status.st_size, status.st_mtime_ns, 0, 0))
    path = folder / "fake-0.json"
    status = path.stat()
    write_json(folder, "fake-0.json", record("fake", 5))  # same size, an instant later
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    index.sync()  # the status it knows: only the racy rule reads it again
    (changed,) = [r for p, r in index.loaded().records if p == path]
    assert changed["method"]["config"]["units"] == 5


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "bad_row"])
def test_a_damaged_index_is_rebuilt_from_the_files(folder, damage):
    for units in range(4, 40):
        write_json(folder, f"fake-{units}.json", record("fake", units))
    index = index_of(folder)
    index.sync()
    index.remember({"entry:x": {"some": "part"}})
    path = folder / record_index.NAME
    index.close()  # as when the app's process ends: SQLite then holds no lock on the file
    if damage == "garbage":
        path.write_bytes(os.urandom(path.stat().st_size))
    elif damage == "truncated":
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size // 2)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            db.execute("UPDATE contents SET summary = '{' WHERE name = ?", (b"fake-5.json",))
    Path(f"{path}-wal").unlink(missing_ok=True)
    Path(f"{path}-shm").unlink(missing_ok=True)
    check = Counted()
    index = index_of(folder, check)
    index.sync()
    assert index.loaded() == few_shot.load_all(folder)
    assert_summaries(index, folder)
    assert damage == "bad_row" or check.take() == 40
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def assert_summaries(index: RecordIndex, folder: Path) -> None:
    """The index's summaries and per-episode values are those of the files."""
    records = dict((path.name, r) for path, r in few_shot.load_all(folder).records)
    summaries = index.summaries(records, episodes=True)
    assert summaries.keys() == records.keys()
    for name, whole in records.items():
        expected = {k: v for k, v in whole.items() if k not in record_index.HEAVY}
        assert summaries[name] == expected
        assert list(index.episodes([name])[name]) == whole["per_episode"]


def test_an_index_damaged_while_open_is_rebuilt(folder):
    index = index_of(folder)
    index.sync()
    with contextlib.closing(sqlite3.connect(folder / record_index.NAME)) as db, db:
        db.execute("UPDATE contents SET summary = 'not json'")
    assert_summaries(index, folder)
    assert index.loaded() == few_shot.load_all(folder)


def test_whole_records_are_read_again_where_their_file_changed_since_the_sync(folder):
    index = index_of(folder)
    index.sync()
    write_json(folder, "fake-1.json", record("fake", 21))
    (folder / "fake-2.json").write_text("{")
    assert index.loaded() == few_shot.load_all(folder)


def test_a_folder_that_cannot_be_written_keeps_its_index_in_the_cache(folder, tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("TFMETA_CACHE_DIR", str(cache))
    monkeypatch.setattr(record_index.os, "access", lambda path, mode: False)
    index = index_of(folder)
    index.sync()
    assert index.loaded() == few_shot.load_all(folder)
    assert not (folder / record_index.NAME).exists() and list((cache / "leaderboard").glob("*.sqlite"))


WORKER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {leaderboard!r})
    import ranking, record_index
    from tfmeta.records import few_shot
    index = record_index.RecordIndex({folder!r}, few_shot.check, ranking.describe)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not __import__("os").path.exists({done!r}):
        index.sync()
        index.groups()
    index.sync()
    print(len(index.loaded().records))
    """
)


def test_two_processes_share_one_index_while_records_land(folder, tmp_path_factory):
    """Two app processes sync the same index while records are written atomically (`store.write`): both
    end with every record, and the index is a sound database."""
    done = tmp_path_factory.mktemp("signal") / "done"
    script = WORKER.format(leaderboard=str(REPO / "leaderboard"), folder=str(folder), done=str(done))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    try:
        for units in range(100, 130):
            store.write(record("fake", units), folder, f"landed-{units}.json", few_shot.check)
            time.sleep(0.05)
        (folder / "fake-0.json").unlink()
    finally:
        done.touch()
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()[-3000:]
        assert int(out.split()[-1]) == 33
    index = index_of(folder)
    index.sync()
    assert index.loaded() == few_shot.load_all(folder)
    with contextlib.closing(sqlite3.connect(folder / record_index.NAME)) as db, db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def expected_tables(folders: list[Path], smoke: bool) -> tuple[list, list]:
    """The few-shot page's tables as it made them from whole records, before the index."""
    entries = [entry for folder in folders for entry in few_shot.load_all(folder).records]
    kept = [(p, r) for p, r in entries if smoke or r["profile"] != "smoke"] or entries
    verified = [(p, r) for p, r in kept if trust.status(p, r) == "verified"]
    others = [(p, r) for p, r in kept if trust.status(p, r) != "verified"]
    return tables.group_tables(verified), tables.group_tables(others)


def assert_same_tables(indexes: list[RecordIndex], parts: ranking.Parts) -> None:
    board = ranking.Board(indexes, parts)
    for smoke in (False, True):
        for mine, theirs in zip(
            board.tables(smoke)[:2], expected_tables([i.directory for i in indexes], smoke), strict=True
        ):
            assert [t.key for t in mine] == [t.key for t in theirs]
            for a, b in zip(mine, theirs, strict=True):
                assert a.size == len(b.entries)
                assert [p for p, _ in a.entries] == [p for p, _ in b.entries]
                pd.testing.assert_frame_equal(a.frame(), b.frame())


@pytest.mark.slow  # every shipped table ranked from the index and from whole records
def test_the_shipped_records_rank_as_the_records_layer_ranks_them():
    """The golden tables' records, read through the index: the same records, and every ranked table (and
    its frame) the same as from whole records."""
    index = index_of(SHIPPED)
    index.sync()
    assert index.loaded() == few_shot.load_all(SHIPPED)
    assert_same_tables([index], ranking.Parts())


@pytest.mark.slow  # every shipped table ranked from the index and from whole records
def test_copies_rank_as_the_records_layer_ranks_them(tmp_path):
    """Rounds of copies of shipped records (entries of several seeds), some verified and some not, beside
    the shipped records and a smoke record: the same tables from the index, from parts made before (in
    this process and in the index), and again after records land."""
    local = tmp_path / "board"
    sources = sorted(SHIPPED.glob("omniglot-*-5w1s-standard-*.json"))
    for round_ in range(1, 4):
        for path in sources:
            data = json.loads(path.read_text())
            data["method"]["config"]["copy"] = round_
            write_json(local, f"{path.stem}-copy{round_}.json", data)
    write_json(local, "smoke.json", record("fake"))
    for path in sorted(local.glob("*copy1.json"))[::2]:  # verified, signed with this machine's key
        trust.mark(path, 1000, json.loads(path.read_text())["weights"]["sha256"], "test")
    indexes = [index_of(local), index_of(SHIPPED)]
    for index in indexes:
        index.sync()
    parts = ranking.Parts()
    assert_same_tables(indexes, parts)
    assert_same_tables(indexes, ranking.Parts())  # parts read back from the indexes
    data = json.loads(sources[0].read_text())
    data["method"]["config"]["copy"] = 9
    store.write(data, local, "landed.json", few_shot.check)
    for index in indexes:
        index.sync()
    assert_same_tables(indexes, parts)


@pytest.mark.slow  # 150 records through the app: the slow tier
def test_a_long_table_pages_and_searches(tmp_path, monkeypatch, tmp_path_factory):
    """A table of 150 entries shows 100 rows at a time, its key columns first; the search box and the
    page live in the URL; ranks are the whole table's."""
    monkeypatch.setenv("TFMETA_CACHE_DIR", str(tmp_path_factory.mktemp("app-cache")))
    for units in range(150):
        path = store.write(
            record("fake", units, spread=True), tmp_path, f"fake-{units:03}.json", few_shot.check
        )
        trust.mark(path, 20, None, "test")
    monkeypatch.setenv("TFMETA_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("TFMETA_SHIPPED_RECORDS", "off")
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not app.exception, app.exception
    (frame,) = [f.value for f in app.dataframe if "Rank" in f.value]
    assert len(frame) == 100 and list(frame.columns[:4]) == ["Rank", "Entry", "Accuracy (%)", "Verdict"]
    app.text_input[0].input("UNITS=7").run()
    (frame,) = [f.value for f in app.dataframe if "Rank" in f.value]
    assert sorted(frame["Entry"]) == sorted(f"fake (units={u})" for u in range(150) if str(u).startswith("7"))
    assert app.query_params["q"] in ("UNITS=7", ["UNITS=7"])

    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params["page"] = "2"
    app.run()
    (frame,) = [f.value for f in app.dataframe if "Rank" in f.value]
    assert len(frame) == 50 and frame["Rank"].min() > 1


def test_an_installed_packages_folder_keeps_its_index_in_the_cache(tmp_path, monkeypatch):
    # pip owns an installed package's files: the index of its shipped records goes to the cache.
    package = tmp_path / "site-packages" / "tfmeta"
    shipped = package / "_shipped" / "leaderboard" / "results"
    shipped.mkdir(parents=True)
    monkeypatch.setenv("TFMETA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(record_index.tfmeta, "__file__", str(package / "__init__.py"))
    monkeypatch.setattr(record_index.locations, "checkout", lambda: None)
    assert record_index.index_path(shipped).is_relative_to(tmp_path / "cache")
    assert record_index.index_path(tmp_path) == tmp_path / record_index.NAME  # a user's own folder

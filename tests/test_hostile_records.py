"""Hostile and careless record files: refused with one clear line, nothing written, nothing crashed."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.records import make_record, write_json
from tfmeta import cli
from tfmeta.records import few_shot, store


@pytest.fixture
def board(tmp_path):
    directory = tmp_path / "board"
    few_shot.write(make_record("incumbent"), directory, "incumbent.json")
    return directory


def snapshot(directory):
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*"))}


def test_an_endless_device_is_refused_without_reading_it(board, capsys):
    before = snapshot(board)
    assert cli.main(["submit", "/dev/zero", "--results-dir", str(board)]) == 2
    assert "/dev/zero is not a regular file" in capsys.readouterr().err
    assert snapshot(board) == before


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r["method"].update(name="renamed"),
        lambda r: r.update(notes="the same result again"),
        lambda r: r["provenance"].update(created="2026-11-30T00:00:00+00:00"),
    ],
    ids=["method_renamed", "notes_edited", "provenance_edited"],
)
def test_the_same_per_episode_result_under_other_names_is_a_duplicate(edit, tmp_path, board, capsys):
    record = make_record("incumbent")
    edit(record)
    path = write_json(tmp_path, "copy.json", record)
    before = snapshot(board)
    assert cli.main(["submit", str(path), "--results-dir", str(board)]) == 2
    assert "already on the leaderboard as incumbent.json" in capsys.readouterr().err
    assert snapshot(board) == before


def test_a_nested_bomb_in_the_folder_is_skipped_with_its_reason(board):
    (board / "bomb.json").write_text('{"a": ' + "[" * 1000 + "]" * 1000 + "}")
    loaded = few_shot.load_all(board)
    assert [path.name for path, _ in loaded.records] == ["incumbent.json"]
    ((path, reason),) = loaded.skipped
    assert path.name == "bomb.json" and "nested deeper than" in reason


def test_records_are_written_readable_by_others(tmp_path):
    mask = os.umask(0o022)
    try:
        path = few_shot.write(make_record("shared"), tmp_path, "shared.json")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_a_non_finite_number_is_never_written(value, tmp_path):
    record = make_record("odd")
    record["timing"]["test_seconds"] = value
    with pytest.raises(store.RecordError, match="timing.test_seconds is .*not a finite number"):
        few_shot.write(record, tmp_path, "odd.json")
    assert list(tmp_path.iterdir()) == []


def test_a_record_within_the_limits_reads_back_unchanged(tmp_path):
    record = make_record("plain")
    record["notes"] = "ünïcödé " * 1000
    path = few_shot.write(record, tmp_path, "plain.json")
    assert few_shot.read(path) == record == json.loads(path.read_text())


def test_a_results_folder_that_is_a_file_is_named(tmp_path, capsys):
    path = write_json(tmp_path, "mine.json", make_record("newcomer"))
    not_a_folder = tmp_path / "board.txt"
    not_a_folder.write_text("notes")
    assert cli.main(["submit", str(path), "--results-dir", str(not_a_folder)]) == 2
    assert "the results folder" in (err := capsys.readouterr().err) and "is a file; name a folder" in err
    assert not_a_folder.read_text() == "notes"


def test_a_hostile_verified_table_marks_nothing_and_breaks_nothing(board):
    """verified.json nested 1,000 deep (or not an object): every record reads as unverified, no error."""
    from tfmeta.records import trust

    record = next(board.glob("*.json"))
    for content in ('{"a": ' * 1000 + "1" + "}" * 1000, "[1, 2]", "\x00\xff"):
        (board / trust.VERIFIED).write_text(content)
        trust._cached.cache_clear()
        assert trust.load(board) == {} and trust.status(record) == "unverified"

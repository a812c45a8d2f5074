"""`tfmeta submit` and `tfmeta.records.submission`: valid records land, broken ones are refused untouched."""

from __future__ import annotations

import json

import pytest

from tests.records import broken_records, make_record, write_json
from tfmeta import cli
from tfmeta.records import few_shot, store, submission

NEWCOMER_ACCURACIES = [0.7 + 0.01 * (i % 5) for i in range(20)]  # a result other than the incumbent's


def snapshot(directory):
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*"))}


@pytest.fixture
def board(tmp_path):
    """A results folder already holding one record, which no submission may touch."""
    directory = tmp_path / "board"
    few_shot.write(make_record("incumbent"), directory, "incumbent.json")
    return directory


def test_a_valid_record_is_stored_beside_the_others(tmp_path, board, capsys):
    before = snapshot(board)
    record = make_record("newcomer", per_episode=NEWCOMER_ACCURACIES)
    path = write_json(tmp_path, "mine.json", record)
    assert cli.main(["submit", str(path), "--results-dir", str(board)]) == 0
    after = snapshot(board)
    new = set(after) - set(before)
    assert len(new) == 1 and all(after[name] == before[name] for name in before)
    (name,) = new
    assert name.startswith("omniglot-newcomer-5w1s-smoke-")
    assert json.loads(after[name]) == record
    assert f"stored as {board / name}" in capsys.readouterr().out


def test_the_same_record_twice_says_it_is_stored_and_succeeds(tmp_path, board, capsys):
    """`tfmeta run` writes its record into the results folder; submitting that file (or the same record
    written out again) is not an error: one line names where it is, and nothing is stored twice."""
    record = make_record("newcomer", per_episode=NEWCOMER_ACCURACIES)
    path = write_json(tmp_path, "mine.json", record)
    assert cli.main(["submit", str(path), "--results-dir", str(board)]) == 0
    (stored,) = set(snapshot(board)) - {"incumbent.json"}
    capsys.readouterr()
    before = snapshot(board)
    again = tmp_path / "reformatted.json"
    again.write_text(json.dumps(record, indent=4, sort_keys=True))
    for copy in (board / stored, path, again):
        assert cli.main(["submit", str(copy), "--results-dir", str(board)]) == 0
        out, err = capsys.readouterr()
        assert out == f"{copy.name} is already stored as {board / stored}; nothing to do\n" and not err
    assert snapshot(board) == before


def test_the_same_record_waiting_in_pending_is_named_there(board):
    data = json.dumps(make_record("upload", per_episode=NEWCOMER_ACCURACIES)).encode()
    first = submission.submit(data, board, pending=True)
    with pytest.raises(submission.AlreadyStored) as stored:
        submission.submit(data, board, pending=True)
    assert stored.value.path == first and stored.value.pending
    assert str(stored.value) == (
        f"this record is already stored as pending/{first.name} (waiting for `tfmeta verify --mark`); "
        "nothing to do"
    )


def test_another_record_of_a_stored_result_is_still_refused(tmp_path, board, capsys):
    """Only the very record is "already stored": a copy with other notes claims the stored result again."""
    record = make_record("incumbent")
    record["notes"] = "mine now"
    path = write_json(tmp_path, "claim.json", record)
    before = snapshot(board)
    assert cli.main(["submit", str(path), "--results-dir", str(board)]) == 2
    out, err = capsys.readouterr()
    assert not out and err == (
        "tfmeta: error: another record with this result (the same accuracy on every episode) is already on "
        "the leaderboard as incumbent.json; a result counts once: remove that record to replace it\n"
    )
    assert snapshot(board) == before


def test_a_second_record_of_one_entry_and_seed_is_refused_naming_the_first(tmp_path, board, capsys):
    """The incumbent's entry again with another result but the same training seed: refused; with
    another seed it joins the entry."""
    again = make_record("incumbent", per_episode=NEWCOMER_ACCURACIES)
    path = write_json(tmp_path, "again.json", again)
    before = snapshot(board)
    assert cli.main(["submit", str(path), "--results-dir", str(board)]) == 2
    err = capsys.readouterr().err
    assert "seed 0 of this entry" in err and "already on the leaderboard as incumbent.json" in err, err
    assert snapshot(board) == before
    again["seed"] = again["config"]["train"]["seed"] = 1
    assert (
        cli.main(["submit", str(write_json(tmp_path, "seed1.json", again)), "--results-dir", str(board)]) == 0
    )


@pytest.mark.parametrize("case", sorted(broken_records()))
def test_a_broken_record_is_refused_with_its_reason_and_nothing_is_stored(case, tmp_path, board, capsys):
    content, reason = broken_records()[case]
    path = tmp_path / f"{case}.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    before = snapshot(board)
    assert cli.main(["submit", str(path), "--results-dir", str(board)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tfmeta: error:") and reason in err, err
    assert snapshot(board) == before


def test_a_huge_file_is_refused_before_it_is_read(tmp_path, board, capsys):
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(store.MAX_RECORD_BYTES + 1)  # sparse: costs no disk
    before = snapshot(board)
    assert cli.main(["submit", str(path), "--results-dir", str(board)]) == 2
    assert "records are limited to" in capsys.readouterr().err
    assert snapshot(board) == before


def test_a_missing_file_is_reported(tmp_path, board, capsys):
    assert cli.main(["submit", str(tmp_path / "absent.json"), "--results-dir", str(board)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_verify_names_the_frozen_file_it_checked():
    assert submission.verify(make_record()) == "omniglot-vinyals-test-5w1s15q-20ep-seed1703.npz"


def lake_record(episodes_hash: str) -> dict:
    record = make_record("lake", [0.9] * 20)
    record["benchmark"].update(name="omniglot_lake", split="lake", part="lake_runs", way=20, query=1)
    record["episodes_hash"] = episodes_hash
    return record


def test_records_on_lakes_runs_are_checked_against_the_runs_archive(data_dir, monkeypatch, tmp_path):
    from tfmeta.data.omniglot import lake_runs

    monkeypatch.setenv("TFMETA_DATA_DIR", str(data_dir))
    runs_hash = lake_runs.load(data_dir).hash
    assert submission.verify(lake_record(runs_hash)) == "Lake et al.'s one-shot runs"
    with pytest.raises(submission.SubmissionError, match="not the hash of the benchmark's test set"):
        submission.verify(lake_record("sha256:" + "2" * 64))
    monkeypatch.setenv("TFMETA_DATA_DIR", str(tmp_path))
    with pytest.raises(submission.SubmissionError, match="cannot verify against Lake"):
        submission.verify(lake_record(runs_hash))
    assert submission.verify(lake_record(runs_hash), data_dir=data_dir)  # `tfmeta submit --data-dir`
    assert "--data-dir" in str(
        cli.build_parser()._subparsers._group_actions[0].choices["submit"].format_help()
    )


def test_file_names_are_safe_whatever_the_method_name():
    record = make_record("../../etc/passwd x")
    name = submission.filename(record, "ab" * 32)
    assert "/" not in name and " " not in name and name.endswith("-abababababab.json")

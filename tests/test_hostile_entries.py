"""Hostile records, round two: text that breaks pages, files that hang readers, names that impersonate,
records that would change another source's entry or claim a verification they never had.

Each case goes through the command line (`tfmeta submit`) or the records layer the app reads, and the pages
through AppTest; nothing may raise, hang or be written, and the default ranking shows only verified
entries. Data-free: the records answer the committed frozen smoke episodes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.records import REPO, make_record, write_json
from tfmeta import cli
from tfmeta.records import few_shot, store, trust
from tfmeta.records.frames.tables import group_tables

APP = REPO / "leaderboard" / "app.py"
PAGES = ("few_shot", "significance", "curves", "methods", "submit")
SHIPPED = REPO / "leaderboard" / "results"


def snapshot(directory: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def board(tmp_path):
    directory = tmp_path / "board"
    few_shot.write(make_record("incumbent"), directory, "incumbent.json")
    return directory


def submit(tmp_path: Path, board: Path, record: dict | str, capsys) -> tuple[int, str]:
    path = tmp_path / "submitted.json"
    path.write_text(record if isinstance(record, str) else json.dumps(record), encoding="utf-8")
    code = cli.main(["submit", str(path), "--results-dir", str(board)])
    return code, capsys.readouterr().err


def edited(edit) -> dict:
    record = make_record("newcomer", per_episode=[0.7] * 20)
    edit(record)
    return record


# Each refused record: how it is made and the words its one-line refusal must hold.
REFUSED = {
    "lone_surrogate_in_name": (lambda r: r["method"].update(name="\ud800protonet"), "U+D800"),
    "lone_surrogate_in_notes": (lambda r: r.update(notes="ok \udfff"), "notes holds"),
    "right_to_left_override": (lambda r: r.update(notes="abc\u202edcba"), "RIGHT-TO-LEFT OVERRIDE"),
    "zero_width_space_in_name": (lambda r: r["method"].update(name="proto\u200bnet"), "ZERO WIDTH SPACE"),
    "cyrillic_homoglyph_name": (lambda r: r["method"].update(name="pr\u043etonet"), "not a valid name"),
    "control_character": (lambda r: r["provenance"].update(command="a\x1b[31mred"), "U+001B"),
    "decomposed_text": (lambda r: r.update(notes="e\u0301"), "normal form NFC"),
    "params_beyond_int64": (lambda r: r.update(params=2**70), "params is a whole number beyond"),
    "created_sorts_last": (lambda r: r["provenance"].update(created="~~~~"), "not an ISO 8601 time"),
    "created_in_the_future": (
        lambda r: r["provenance"].update(created="2999-01-01T00:00:00+00:00"),
        "in the future",
    ),
    "created_without_offset": (
        lambda r: r["provenance"].update(created="2026-11-26T12:00:00"),
        "with its offset",
    ),
    "claims_to_be_verified": (lambda r: r.update(verified=True), "'verified' was unexpected"),
    "markdown_image_in_config": (
        lambda r: r["method"]["config"].update(batch_norm="![b](http://127.0.0.1:9/beacon.png)"),
        "method.config.batch_norm",
    ),
    "markdown_in_argument_name": (
        lambda r: r["method"]["config"].update({"[x](http://127.0.0.1:9)": 1}),
        "a key of method.config",
    ),
    "markdown_in_profile": (lambda r: r.update(profile="smoke](http://127.0.0.1:9)"), "profile"),
    "space_in_benchmark_part": (lambda r: r["benchmark"].update(part="test <b>"), "benchmark.part"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_hostile_record_is_refused_in_one_line_with_nothing_written(case, tmp_path, board, capsys):
    edit, reason = REFUSED[case]
    before = snapshot(board)
    code, err = submit(tmp_path, board, json.dumps(edited(edit)), capsys)
    assert code == 2 and reason in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.isascii() or "\ud800" not in err  # the message escapes what it names
    assert snapshot(board) == before


@pytest.mark.parametrize("case", REFUSED)
def test_the_same_record_dropped_in_a_folder_is_skipped_with_its_reason(case, board):
    edit, reason = REFUSED[case]
    (board / "dropped.json").write_text(json.dumps(edited(edit)), encoding="utf-8")
    loaded = few_shot.load_all(board)
    assert [p.name for p, _ in loaded.records] == ["incumbent.json"]
    ((path, why),) = loaded.skipped
    assert path.name == "dropped.json" and reason in why


@pytest.mark.parametrize(
    "name", ["ProtoNet", "pr0tonet", "proto_net", "PROTO-NET", "protonet."], ids=lambda n: n.lower()
)
def test_a_name_that_looks_like_a_shipped_entry_is_refused(name, tmp_path, board, capsys):
    """ASCII look-alikes of the shipped "protonet": case, separators, 0 for o."""
    before = snapshot(board)
    code, err = submit(tmp_path, board, edited(lambda r: r["method"].update(name=name)), capsys)
    assert code == 2 and "looks like 'protonet'" in err, err
    assert snapshot(board) == before


def test_a_distinct_name_and_the_same_name_are_accepted(tmp_path, board, capsys):
    assert (
        submit(tmp_path, board, edited(lambda r: r["method"].update(name="protonet_cosine")), capsys)[0] == 0
    )
    same = make_record("incumbent", per_episode=[0.5] * 20)
    same["seed"] = 1
    same["config"]["train"]["seed"] = 1
    assert submit(tmp_path, board, same, capsys)[0] == 0  # the entry's own name: a second seed


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def test_a_fifo_named_json_blocks_no_reader(tmp_path, board, capsys):
    """open() on a FIFO waits for a writer forever; readers refuse it before opening it for real."""
    make_fifo(board / "pipe.json")
    make_fifo(board / trust.VERIFIED)
    loaded = few_shot.load_all(board)
    assert [p.name for p, _ in loaded.records] == ["incumbent.json"]
    assert "is not a regular file" in dict((p.name, r) for p, r in loaded.skipped)["pipe.json"]
    assert trust.load(board) == {}
    assert submit(tmp_path, board, make_record("newcomer", per_episode=[0.7] * 20), capsys)[0] == 0
    fifo = make_fifo(tmp_path / "record.json")
    code = cli.main(["submit", str(fifo), "--results-dir", str(board)])
    assert code == 2 and "is not a regular file" in capsys.readouterr().err


@pytest.mark.slow
def test_a_fifo_blocks_no_page(board, monkeypatch):
    make_fifo(board / "pipe.json")
    for page in PAGES:
        app = open_page(board, page, monkeypatch)
        assert not app.exception, (page, app.exception)


def test_a_record_too_large_when_indented_is_stored_compactly_and_reads_back(tmp_path, monkeypatch):
    record = make_record("wide", per_episode=[0.6 + 0.001 * (i % 100) for i in range(2000)])
    record["config"]["test_episodes"] = 2000
    record["accuracy"] = few_shot.summarize(record["per_episode"])
    indented = len(json.dumps(record, indent=1))
    monkeypatch.setattr(store, "MAX_RECORD_BYTES", indented - 1000)
    path = few_shot.write(record, tmp_path, "wide.json")
    assert path.stat().st_size <= store.MAX_RECORD_BYTES and few_shot.read(path) == record
    monkeypatch.setattr(store, "MAX_RECORD_BYTES", len(json.dumps(record, separators=(",", ":"))) - 10)
    with pytest.raises(store.RecordError, match="would be .* bytes stored"):
        few_shot.write(record, tmp_path, "wider.json")
    assert not (tmp_path / "wider.json").exists()


@pytest.mark.slow
def test_same_seed_submits_at_once_land_once(tmp_path, board):
    """Two processes submit two results of the same entry and seed at the same moment: the folder's lock
    lets one land and the other is told which record holds that seed."""
    paths = []
    for n in range(2):
        record = make_record("racer", per_episode=[0.5 + 0.01 * n] * 20)
        paths.append(write_json(tmp_path, f"racer{n}.json", record))
    command = [sys.executable, "-m", "tfmeta.cli", "submit", "--results-dir", str(board)]
    for _ in range(3):
        for stored in board.glob("omniglot-racer-*.json"):
            stored.unlink()
        runs = [subprocess.Popen([*command, str(p)], stderr=subprocess.PIPE, text=True) for p in paths]
        results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
        assert sorted(code for code, _ in results) == [0, 2], results
        assert any("seed 0 of this entry" in err for _, err in results)
        assert len(list(board.glob("omniglot-racer-*.json"))) == 1


def shipped_protonet() -> list[Path]:
    return sorted(SHIPPED.glob("omniglot-protonet-5w1s-standard-seed*.json"))


def test_records_of_another_folder_never_join_a_shipped_entry(tmp_path):
    """Seeds 3, 4 and 5 of the shipped ProtoNet entry, all right or all wrong, from a user's folder: the
    shipped row keeps its three seeds and its accuracy; the newcomers form an entry of their own."""
    shipped = [(p, few_shot.read(p)) for p in shipped_protonet()]
    local = []
    for seed, value in ((3, 0.0), (4, 1.0), (5, 0.0)):
        record = json.loads(shipped[0][0].read_text())
        record["seed"] = seed
        record["config"]["train"]["seed"] = seed
        record["per_episode"] = [value] * len(record["per_episode"])
        record["accuracy"] = few_shot.summarize(record["per_episode"])
        local.append((few_shot.write(record, tmp_path, f"seed{seed}.json"), record))
    (table,) = [t for t in group_tables(shipped + local) if t.key.n_episodes == 1000]
    rows = table.frame()
    official = rows[rows["Entry"] == "protonet"].iloc[0]
    assert official["Seeds"] == 3 and official["Trust"] == "verified"
    assert official["Accuracy (%)"] == group_tables(shipped)[0].frame().iloc[0]["Accuracy (%)"]
    mine = rows[rows["Entry"] == "protonet (local)"].iloc[0]
    assert mine["Seeds"] == 3 and mine["Trust"] == "unverified"


def forged_board(tmp_path: Path) -> tuple[Path, Path]:
    """A user folder with a fabricated perfect record of the shipped ProtoNet entry's seed 0, and a
    hand-written verified.json line for it (its true sha256, the weights sha256 of the real record)."""
    board = tmp_path / "mine"
    record = json.loads(shipped_protonet()[0].read_text())
    record["per_episode"] = [1.0] * len(record["per_episode"])
    record["accuracy"] = few_shot.summarize(record["per_episode"])
    path = few_shot.write(record, board, "perfect.json")
    return board, path


@pytest.mark.parametrize("weights", ["zeros", "real", "signed_elsewhere"])
def test_a_hand_written_verified_line_marks_nothing(weights, tmp_path):
    board, path = forged_board(tmp_path)
    record = few_shot.read(path)
    entry = {
        "record_sha256": trust.record_digest(path),
        "weights_sha256": "0" * 64 if weights == "zeros" else record["weights"]["sha256"],
        "episodes": 1000,
        "verified": "2026-12-01T00:00:00+00:00",
        "tfmeta_version": "0.1.0",
    }
    if weights == "signed_elsewhere":
        entry["signature"] = trust._sign(path.name, entry, b"another machine's key")
    store.replace_json({path.name: entry}, board / trust.VERIFIED)
    trust._cached.cache_clear()
    assert trust.status(path, record) == "unverified"


def test_only_a_mark_made_here_verifies_a_local_record(tmp_path):
    board, path = forged_board(tmp_path)
    record = few_shot.read(path)
    trust.mark(path, 1000, record["weights"]["sha256"], "test")  # what `tfmeta verify --mark` writes
    trust._cached.cache_clear()
    assert trust.status(path, record) == "verified"
    table = json.loads((board / trust.VERIFIED).read_text())
    table[path.name]["episodes"] = 999  # any edit to the line breaks its signature
    (board / trust.VERIFIED).write_text(json.dumps(table))
    trust._cached.cache_clear()
    assert trust.status(path, record) == "unverified"


def test_a_shipped_line_needs_its_weights(tmp_path, monkeypatch):
    path = shipped_protonet()[0]
    record = few_shot.read(path)
    assert trust.status(path, record) == "verified"
    monkeypatch.setattr(trust.locations, "shipped_weights_dir", lambda: tmp_path)  # weights gone
    assert trust.status(path, record) == "unverified"


def open_page(results_dir: Path, page: str, monkeypatch, shipped: str = "off") -> AppTest:
    monkeypatch.setenv("TFMETA_RESULTS_DIR", str(results_dir))
    monkeypatch.setenv("TFMETA_SHIPPED_RECORDS", shipped)
    monkeypatch.setenv("TFMETA_SUBMISSIONS", "on")
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    if page != "few_shot":
        app.switch_page(f"views/{page}.py").run()
    return app


@pytest.mark.slow
def test_fabricated_and_hand_marked_records_never_rank_first(tmp_path, monkeypatch):
    """Beside the shipped records: a perfect fabricated record with a hand-written verified line, a
    plagiarised copy with one query flipped, and a perfect record under a new name. The default ranking
    is the verified entries'; the others wait in the marked section below it."""
    board, path = forged_board(tmp_path)
    record = few_shot.read(path)
    store.replace_json(
        {
            path.name: {
                "record_sha256": trust.record_digest(path),
                "weights_sha256": record["weights"]["sha256"],
            }
        },
        board / trust.VERIFIED,
    )
    copy = json.loads(shipped_protonet()[0].read_text())
    copy["per_episode"][0] = min(1.0, copy["per_episode"][0] + 1 / 75)
    copy["accuracy"] = few_shot.summarize(copy["per_episode"])
    few_shot.write(copy, board, "plagiarised.json")
    perfect = json.loads(path.read_text())
    perfect["method"]["name"] = "oracle"
    few_shot.write(perfect, board, "oracle.json")
    trust._cached.cache_clear()
    app = open_page(board, "few_shot", monkeypatch, shipped="on")
    assert not app.exception, app.exception
    ranked, apart = [frame.value for frame in app.dataframe if "Rank" in frame.value]
    assert set(ranked["Trust"]) == {"verified"} and ranked.iloc[0]["Entry"] != "oracle"
    assert not any("local" in entry or entry == "oracle" for entry in ranked["Entry"])
    assert set(apart["Trust"]) == {"unverified"} and "oracle" in set(apart["Entry"])
    assert any(h.value.startswith("Unverified:") for h in app.subheader)
    app.switch_page("views/significance.py").run()
    assert not app.exception
    names = {n for frame in app.dataframe if "A" in frame.value for n in frame.value["A"]}
    assert names and not any("oracle" in n for n in names)


def test_record_text_reaches_no_widget_as_markdown(tmp_path, monkeypatch):
    """Free text is any text, and shows as text: the Methods page holds no st.table (whose cells render
    markdown)."""
    record = make_record("texty")
    record["provenance"]["command"] = "[link](http://127.0.0.1:9/x) ![i](http://127.0.0.1:9/i.png)"
    record["notes"] = "**bold** <b>html</b>"
    few_shot.write(record, tmp_path, "texty.json")
    app = open_page(tmp_path, "methods", monkeypatch)
    assert not app.exception and not app.table
    frames = [frame.value for frame in app.dataframe if "field" in frame.value]
    assert any(record["provenance"]["command"] in set(frame["value"]) for frame in frames)


def test_a_file_name_that_is_not_text_is_skipped_and_shown_escaped(tmp_path, monkeypatch):
    """A file name with undecodable bytes reaches Python as a lone surrogate: its warning escapes it."""
    few_shot.write(make_record("fine"), tmp_path, "fine.json")
    raw = os.fsencode(tmp_path) + b"/\xff\xfe.json"
    with open(raw, "wb") as f:
        f.write(b"{}")
    app = open_page(tmp_path, "few_shot", monkeypatch)
    assert not app.exception, app.exception
    assert any("udcff" in w.value for w in app.warning)


@pytest.mark.parametrize("page", (*PAGES, "optimizers", "inner_loop"))
def test_the_whole_corpus_in_one_folder_breaks_no_page(page, board, monkeypatch):
    """Every refused record of this module dropped beside a valid one, with a FIFO and a file name that is
    not UTF-8: each page renders, names every skipped file in a warning, and ranks the valid record only."""
    for case, (edit, _) in REFUSED.items():
        (board / f"{case}.json").write_text(json.dumps(edited(edit)), encoding="utf-8")
    make_fifo(board / "pipe.json")
    with open(os.fsencode(board) + b"/\xff.json", "wb") as f:
        f.write(b"{}")
    app = open_page(board, page, monkeypatch)
    assert not app.exception, (page, app.exception)
    if page in PAGES and page != "submit":  # the few-shot pages warn about each file they skip
        assert len(app.warning) == len(REFUSED) + 2, [w.value for w in app.warning]


def test_an_admitted_upload_moves_onto_the_board_unless_its_seed_landed_meanwhile(tmp_path, board):
    from tfmeta.records import submission

    first = submission.submit(json.dumps(make_record("upload", [0.7] * 20)).encode(), board, pending=True)
    assert first.parent.name == submission.PENDING and not list(board.glob("omniglot-upload-*.json"))
    admitted = submission.admit(first)
    assert admitted.parent == board and not first.exists()
    waiting = submission.submit(json.dumps(make_record("late", [0.6] * 20)).encode(), board, pending=True)
    few_shot.write(make_record("late", [0.5] * 20), board, "landed.json")  # the same seed, meanwhile
    before = snapshot(board)
    with pytest.raises(submission.SubmissionError, match="is pending, but landed.json now holds its result"):
        submission.admit(waiting)
    assert snapshot(board) == before

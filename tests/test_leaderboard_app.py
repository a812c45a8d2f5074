"""The Streamlit app (AppTest), on records of real smoke runs and on hand-broken records.

The module fixture follows docs/submitting.md: it runs the documented example method with the smoke
profile through the `tfmeta` command, runs the built-in ProtoNet through the harness, submits both with
`tfmeta submit`, and every page is then checked on that leaderboard folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_pages import APP, open_page
from tests.records import REPO, broken_records, make_record, shown, write_json
from tfmeta import cli

EXAMPLE = REPO / "docs" / "examples" / "cosine_nn.py"
DOC = REPO / "docs" / "submitting.md"
PAGES = ("few_shot", "significance", "curves", "optimizers", "inner_loop", "methods", "submit")


def tfmeta_command() -> list[str]:
    script = Path(sys.executable).with_name("tfmeta")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tfmeta.cli"]


@pytest.fixture(scope="module")
def board(tmp_path_factory, data_dir, cache_dir, smoke_run) -> Path:
    """A leaderboard folder holding a real smoke record of ProtoNet (the session's one training) and one
    of the documented example."""
    root = tmp_path_factory.mktemp("leaderboard")
    data = ["--data-dir", str(data_dir), "--cache-dir", str(cache_dir)]
    protonet, _ = smoke_run("protonet")
    (root / "mine").mkdir()
    shutil.copy(protonet, root / "mine")
    example = [
        *tfmeta_command(), "run", "omniglot", "--method", "cosine_nn:CosineNearestNeighbour",
        "--profile", "smoke", "--runs-dir", str(root / "runs"), "--results-dir", str(root / "mine"), *data,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": "docs/examples"}
    done = subprocess.run(example, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "CosineNearestNeighbour on omniglot 5-way 1-shot (smoke)" in done.stdout
    board = root / "board"
    for record in sorted((root / "mine").glob("*.json")):
        assert cli.main(["submit", str(record), "--results-dir", str(board)]) == 0
    # Ranked once verified, as docs/submitting.md says: re-evaluated from their weights, then marked.
    sys.path.insert(0, str(REPO / "docs" / "examples"))
    weights = ["--weights-dir", str(root / "runs"), "--weights-dir", str(protonet.parents[1] / "runs")]
    stored = [str(p) for p in sorted(board.glob("*.json"))]
    verify = ["verify", *stored, "--mark", "--allow-import", "cosine_nn", *weights, *data]
    assert cli.main(verify) == 0
    return board


@pytest.fixture(autouse=True)
def record_cache_dir(tmp_path_factory, monkeypatch):
    """The app's cache in a folder of the test's own (indexes of folders it cannot write, see
    leaderboard/record_index.py)."""
    monkeypatch.setenv("TFMETA_CACHE_DIR", str(tmp_path_factory.mktemp("app-cache")))


def table_rows(app: AppTest, column: str = "Rank") -> list:
    """The rows of the page's tables that have `column` (by default: the ranked tables)."""
    return [row for frame in app.dataframe if column in frame.value for row in frame.value.to_dict("records")]


def test_the_document_shows_the_example_file_verbatim():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert EXAMPLE.read_text() in blocks


def test_the_example_reaches_a_ranked_row_next_to_protonet(board, monkeypatch):
    app = open_page(board, "few_shot", monkeypatch)
    assert app.selectbox[0].options[0].endswith("· smoke budget")  # smoke records only here: named so
    app.toggle[0].set_value(True).run()  # include smoke-profile records
    app.selectbox[0].set_value("omniglot · 5-way 1-shot · 20 episodes · smoke budget").run()
    assert app.radio[0].value == "inductive, train classes"
    rows = table_rows(app)
    assert sorted(row["Entry"] for row in rows) == ["CosineNearestNeighbour", "protonet"]
    assert not app.warning
    assert [row["Rank"] for row in rows] == [1, 2]
    assert rows[0]["Gap to next"].split(":")[0] in {"beats", "ties"} and rows[1]["Gap to next"] == ""
    assert "one seed: test-episode noise only" in rows[0]["Gap to next"]
    # The verdict in short, among the key columns: "beats +1.29" heads "beats: +1.29 [+1.03, +1.55] pts ...".
    assert re.fullmatch(r"(beats|ties) [+-]\d+\.\d\d", rows[0]["Verdict"]) and rows[1]["Verdict"] == ""
    assert rows[0]["Gap to next"].startswith(rows[0]["Verdict"].replace(" ", ": ", 1) + " [")
    assert all(re.fullmatch(r"\d+\.\d\d ± \d+\.\d\d", row["Accuracy (%)"]) for row in rows)
    assert all(row["Protocol"] == "inductive, train classes" and row["Seeds"] == 1 for row in rows)
    assert {row["Entry page"] for row in rows} == {
        "methods?method=CosineNearestNeighbour",
        "methods?method=protonet",
    }
    assert app.get("vega_lite_chart")  # accuracy against training compute
    (overview,) = [
        frame.value for frame in app.dataframe if "Method" in frame.value and "Rank" not in frame.value
    ]
    assert sorted(overview["Method"]) == ["CosineNearestNeighbour", "protonet"]
    assert any("Prototypical Networks" in row["Method (paper)"] for row in table_rows(app, "Method (paper)"))


@pytest.mark.slow
def test_the_few_shot_page_opens_on_one_standard_table_and_switches_protocol_class(monkeypatch, tmp_path):
    """On the shipped records: the first setting is Omniglot 5-way 1-shot on the 1,000 standard episodes,
    one ranked table; the transductive class is one click away and holds MAML's three-seed entry, never
    beside ProtoNet. The inductive class holds only MAML's inductive record (one seed). A record of ProtoNet
    trained for 2,000 episodes (a budget the spec does not have) on the same episodes, added beside the
    shipped ones, ranks apart in a table of the custom budget class, never beside them."""
    from tfmeta.records import few_shot

    monkeypatch.setenv("TFMETA_SHIPPED_RECORDS", "on")
    shipped = sorted((REPO / "leaderboard" / "results").glob("omniglot-protonet-5w1s-standard-seed1-*.json"))
    short = json.loads(shipped[0].read_text())
    short["config"]["train"]["episodes"] = 2000
    del short["weights"]  # no trained weights of its own: it shows as unverified
    short["per_episode"] = [min(1.0, a + 1 / 75) for a in short["per_episode"]]  # not a duplicate of seed 1
    short["accuracy"] = few_shot.summarize(short["per_episode"])
    write_json(tmp_path, "omniglot-protonet-5w1s-standard-seed1-short.json", short)
    app = open_page(tmp_path, "few_shot", monkeypatch)
    assert app.selectbox[0].value == "omniglot · 5-way 1-shot · 1000 episodes"
    assert app.radio[0].value == "inductive, train classes"
    (ranked,) = [frame.value for frame in app.dataframe if "Rank" in frame.value]
    assert {"protonet", "relation"} <= set(ranked["Entry"])
    maml = ranked[ranked["Entry"].str.startswith("maml")]
    assert list(maml["Seeds"]) == [1]  # the inductive record; the transductive seeds rank apart
    assert (ranked["Seeds"] >= 1).all() and "98.8" in set(ranked["Paper (%)"])  # ProtoNet's, as printed
    assert ranked["Paper (%)"].notna().all() and "" in set(ranked["Paper (%)"])  # none published: blank
    assert set(ranked["Trust"]) == {"verified"}
    assert not app.warning
    assert set(ranked["Profile"]) == {"standard"} and len(set(ranked["Entry"])) == len(ranked)  # one row each
    app.radio[0].set_value("transductive, train classes").run()
    (ranked,) = [frame.value for frame in app.dataframe if "Rank" in frame.value]
    assert 3 in set(ranked[ranked["Entry"].str.startswith("maml")]["Seeds"])
    assert "protonet" not in set(ranked["Entry"]) and not app.exception
    # The unverified record of another budget ranks in its own budget class, under its own heading.
    app.selectbox[0].set_value("omniglot · 5-way 1-shot · 1000 episodes · custom budget").run()
    (unverified,) = [frame.value for frame in app.dataframe if "Rank" in frame.value]
    assert any(h.value.startswith("Unverified: 1 entries") for h in app.subheader)
    assert list(unverified["Entry"]) == ["protonet"] and list(unverified["Trust"]) == ["unverified"]
    assert list(unverified["Profile"]) == ["custom (labelled standard)"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_the_real_records(page, board, monkeypatch):
    app = open_page(board, page, monkeypatch)
    assert app.title[0].value
    assert not app.warning


def test_significance_compares_the_two_methods(board, monkeypatch):
    app = open_page(board, "significance", monkeypatch)
    (row,) = table_rows(app, "Holm p")
    assert {row["A"][3:], row["B"][3:]} == {"CosineNearestNeighbour", "protonet"}
    assert 0 < row["Holm p"] <= 1 and app.get("vega_lite_chart")
    assert (row["Verdict"] != "ties") == (row["Low (points)"] > 0 or row["High (points)"] < 0)


def test_learning_curves_against_episodes_and_wall_clock(board, monkeypatch):
    app = open_page(board, "curves", monkeypatch)
    assert len(app.get("vega_lite_chart")) == 1
    app.radio[1].set_value("wall-clock").run()
    app.radio[0].set_value("val_loss").run()
    assert not app.exception and len(app.get("vega_lite_chart")) == 1
    app.toggle[0].set_value(True).run()  # log x axis
    assert not app.exception and len(app.get("vega_lite_chart")) == 1


def test_method_pages_show_paper_and_reproduce_command(board, monkeypatch):
    monkeypatch.setenv("TFMETA_RESULTS_DIR", str(board))
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["method"] = "CosineNearestNeighbour"
    app.run().switch_page("views/methods.py").run()
    assert app.selectbox[0].value == "CosineNearestNeighbour"
    assert any("Gidaris" in m.value for m in app.markdown)
    commands = [code.value for code in app.code]
    made_by = "tfmeta run omniglot --method cosine_nn:CosineNearestNeighbour --profile smoke"
    assert commands == [made_by, f"{made_by} --way 5 --shot 1"]  # the recorded command, then the rebuilt
    assert any(e.label.startswith("seed 0 ·") and e.label.endswith("· verified") for e in app.expander)


@pytest.mark.slow
def test_method_pages_group_records_by_entry_with_a_curve_per_seed(monkeypatch, tmp_path):
    """On the shipped records: ProtoNet's page has one entry whose chart draws a line per training seed."""
    monkeypatch.setenv("TFMETA_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("TFMETA_SHIPPED_RECORDS", "on")
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["method"] = "protonet"
    app.run().switch_page("views/methods.py").run()
    assert not app.exception, app.exception
    assert any(shown(m.value).startswith("#### protonet") for m in app.markdown)
    datasets = [d.data.data for chart in app.get("vega_lite_chart") for d in chart.proto.datasets]
    assert any(b"seed 0" in data and b"seed 1" in data for data in datasets)  # Arrow bytes


def test_inner_loop_curves_overlay_every_optimizer_from_the_same_start(smoke_run, tmp_path, monkeypatch):
    path, record = smoke_run("finetune")
    board = tmp_path / "board"
    board.mkdir()
    shutil.copy(path, board)
    app = open_page(board, "inner_loop", monkeypatch)
    assert len(app.get("vega_lite_chart")) == 1
    rows = table_rows(app, "against")
    assert {row["against"] for row in rows} == set(record["analysis"]["baseline_curves"])
    (best,) = table_rows(app, "best optimizer")  # one start: the method's own
    curves, trained = (
        record["analysis"]["baseline_curves"],
        record["analysis"]["inner_curve"]["trained_steps"],
    )
    assert best["best optimizer"] == max(
        sorted(curves), key=lambda rule: curves[rule]["accuracy_mean"][trained]
    )
    assert best["outcome"] in {"beats", "ties", "loses to"}
    assert app.selectbox[0].value == "omniglot 5-way 1-shot (smoke)"
    app.toggle[0].set_value(False).run()  # linear step axis
    assert not app.exception and len(app.get("vega_lite_chart")) == 1

    # The same entry's curves from another record's start: a second panel, named by that start.
    record = json.loads(path.read_text())  # a copy: the session's smoke record serves other tests
    analysis = record["analysis"]
    blocks = {k: analysis[k] for k in ("inner_curve", "baseline_curves", "paired_vs_baselines")}
    analysis["curve_start"] = {"record": "m.json", "method": "maml", "weights_sha256": "0" * 64, **blocks}
    (board / path.name).write_text(json.dumps(record))
    app = open_page(board, "inner_loop", monkeypatch)
    assert not app.exception and len(app.get("vega_lite_chart")) == 2
    assert any("from maml's start" in shown(m.value) for m in app.markdown)
    assert {row["start"] for row in table_rows(app, "Holm p")} == {"finetune", "maml"}


def test_optimizer_track_explains_its_empty_state(board, monkeypatch):
    app = open_page(board, "optimizers", monkeypatch)
    assert "No optimizer-track records yet" in app.info[0].value


@pytest.mark.slow
def test_upload_page_accepts_a_valid_record_and_refuses_a_broken_one(tmp_path, monkeypatch):
    app = open_page(tmp_path, "submit", monkeypatch)
    broken = make_record("broken")
    broken["accuracy"]["mean"] = 0.99
    app.text_area(key="pasted").set_value(json.dumps(broken)).run()
    app.button(key="submit_pasted").click().run()
    assert "Rejected" in app.error[0].value and "accuracy.mean" in shown(app.error[0].value)
    assert not list(tmp_path.glob("*.json"))
    for case in ("nested_1000_deep", "inner_curve_not_an_object"):  # once a RecursionError; once accepted
        content, reason = broken_records()[case]
        app.text_area(key="pasted").set_value(content if isinstance(content, str) else json.dumps(content))
        app.button(key="submit_pasted").click().run()
        assert not app.exception and reason in shown(app.error[0].value), case
        assert not list(tmp_path.glob("*.json"))
    app.text_area(key="pasted").set_value(json.dumps(make_record("uploaded"))).run()
    app.button(key="submit_pasted").click().run()
    assert "Accepted" in app.success[0].value and "pending area" in app.success[0].value
    assert not list(tmp_path.glob("*.json"))  # never beside the ranked records
    (stored,) = (tmp_path / "pending").glob("*.json")
    assert stored.name.startswith("omniglot-uploaded-5w1s-smoke-")
    assert [row["Method"] for row in table_rows(app, "Claimed accuracy (%)")] == ["uploaded"]
    app = open_page(tmp_path, "few_shot", monkeypatch)  # pending: ranked nowhere
    assert not table_rows(app) and not app.exception


def numbered(markdown: str) -> list[str]:
    """The items of the first numbered list in `markdown`, each on one line."""
    lines = markdown[re.search(r"^1\. ", markdown, flags=re.MULTILINE).start() :].split("\n\n")[0]
    return [" ".join(item.split()) for item in re.split(r"^\d+\. ", lines, flags=re.MULTILINE)[1:]]


def test_the_submit_page_lists_the_documented_checks_and_the_true_size_cap(tmp_path, monkeypatch):
    """The page's checks are the guide's, item for item; its uploader takes what a record may weigh, not
    Streamlit's 200 MB; the guide, the schema and an example record are a click away."""
    from tfmeta.records import store

    documented = numbered(DOC.read_text().split("only when it\n", 1)[1])
    app = open_page(tmp_path, "submit", monkeypatch)
    (checks,) = [m.value for m in app.markdown if "accepted into the pending area only if" in m.value]
    listed = numbered(checks)
    assert len(listed) == len(documented) == 7
    subjects = ["20 MiB", "record schema", "per-episode accuracies", "frozen test episodes", "protocol",
                "training seed", "method name"]  # fmt: skip
    for subject, page, doc in zip(subjects, listed, documented, strict=True):
        assert subject in page and subject in doc, (subject, page, doc)
    (uploader,) = app.get("file_uploader")
    assert uploader.proto.max_upload_size_mb * 2**20 == store.MAX_RECORD_BYTES
    downloads = {button.proto.label: button.proto for button in app.get("download_button")}
    assert set(downloads) == {"Submitting guide", "Record schema", "Example record"}
    assert downloads["Record schema"].url and not app.exception


def test_the_submit_page_is_served_only_when_the_operator_asks(tmp_path, monkeypatch):
    monkeypatch.setenv("TFMETA_RESULTS_DIR", str(tmp_path))
    monkeypatch.delenv("TFMETA_SUBMISSIONS", raising=False)
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    with pytest.raises(Exception, match="submit"):
        app.switch_page("views/submit.py").run()


@pytest.fixture
def broken_board(tmp_path) -> tuple[Path, list[str]]:
    """A valid record beside broken files: a missing field, a wrong type, a disagreeing summary, not JSON,
    the four shapes that once crashed pages, JSON nested 1,000 deep, a file too large, and a file whose
    name and reason carry markdown links."""
    cases = broken_records()
    write_json(tmp_path, "valid.json", make_record("survivor"))
    names = []
    for case in (
        "missing_field", "wrong_type", "summary_disagrees", "not_json", "inner_curve_not_an_object",
        "accuracy_vs_m_not_rows", "method_config_not_an_object", "accelerators_not_a_list",
        "nested_1000_deep",
    ):  # fmt: skip
        content = cases[case][0]
        (tmp_path / f"{case}.json").write_text(content if isinstance(content, str) else json.dumps(content))
        names.append(f"{case}.json")
    with (tmp_path / "huge.json").open("wb") as f:
        f.truncate(50 * 2**20)
    injected = make_record()
    injected["benchmark"]["way"] = "[click](http://evil.example/x) ![img](http://evil.example/i.png)"
    write_json(tmp_path, "[x](http:evil.example).json", injected)
    return tmp_path, [*names, "huge.json", "[x](http:evil.example).json"]


@pytest.mark.parametrize(
    "page", ("few_shot", "significance", "curves", "inner_loop", "methods")
)  # the pages of few-shot records
def test_broken_records_are_skipped_with_a_warning_naming_each_file(page, broken_board, monkeypatch):
    directory, names = broken_board
    app = open_page(directory, page, monkeypatch)
    warnings = [w.value for w in app.warning]
    assert len(warnings) == len(names)
    for name in names:
        assert any(f"Skipped {name}: " in shown(w) for w in warnings), (name, warnings)
    # Names and reasons are literal text: no markdown link or image survives unescaped.
    assert not any(re.search(r"(?<!\\)\]\(", w) for w in warnings), warnings
    if page == "few_shot":  # a folder of smoke records only shows them rather than nothing
        assert [row["Entry"] for row in table_rows(app)] == ["survivor"]


@pytest.mark.parametrize("page", PAGES)
def test_an_empty_folder_gives_informative_pages(page, tmp_path, monkeypatch):
    app = open_page(tmp_path / "nothing-here", page, monkeypatch)
    assert app.info or page == "submit"


def test_leaderboard_command_binds_to_localhost(monkeypatch, tmp_path):
    """`tfmeta leaderboard` becomes the Streamlit server (exec), bound to this machine only."""
    calls = []
    monkeypatch.setattr(os, "execve", lambda path, command, env: calls.append((command, env)))
    cli.main(["leaderboard", "--results-dir", str(tmp_path)])
    ((command, env),) = calls
    assert command[1:4] == ["-m", "streamlit", "run"] and Path(command[4]) == APP
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert env["TFMETA_RESULTS_DIR"] == str(tmp_path.resolve())
    assert env["TFMETA_SUBMISSIONS"] == "off"  # the Submit page only on request
    assert command[command.index("--server.maxUploadSize") + 1] == "20"  # megabytes, a record's cap
    calls.clear()
    cli.main(["leaderboard", "--submissions"])
    assert calls[0][1]["TFMETA_SUBMISSIONS"] == "on"
    assert shutil.which("streamlit") or command[0] == sys.executable

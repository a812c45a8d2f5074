"""The optimizer track end to end: spec validation, CLI smoke runs, records, the leaderboard's shaping."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from tests.records import shown
from tfmeta import cli
from tfmeta.config import optimizer_specs
from tfmeta.config.specs import SpecError
from tfmeta.records import locations
from tfmeta.records import optimizer as optimizer_records
from tfmeta.records.frames import optimizers as board
from tfmeta.records.store import RecordError

SPEC = "learned_optimizers"


def test_spec_errors_name_file_and_line(tmp_path):
    text = optimizer_specs.specs_dir().joinpath(f"{SPEC}.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("tasks: 32", "tasks: 1"))
    line = 1 + text.splitlines().index("      tasks: 32")
    with pytest.raises(SpecError, match=rf"bad.yaml:{line}: profiles.standard.evaluate.tasks"):
        optimizer_specs.load(bad)
    bad.write_text(text.replace("{family: convnet_omniglot", "{family: mnist_mlp"))
    with pytest.raises(SpecError, match="unknown family 'mnist_mlp'"):
        optimizer_specs.load(bad)
    with pytest.raises(SpecError, match=f"one of: {SPEC}"):
        optimizer_specs.load("nope")


@pytest.fixture(scope="module")
def smoke_records(tmp_path_factory, data_dir, cache_dir) -> Path:
    root = tmp_path_factory.mktemp("track")
    common = ["--profile", "smoke", "--runs-dir", str(root / "runs"), "--data-dir", str(data_dir)]
    common += ["--cache-dir", str(cache_dir)]
    assert cli.main(["meta-train-optimizer", SPEC, "--learned", "quadratic", *common]) == 0
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        track = ["optimizer-track", SPEC, "--weights", "runs", "--results-dir", str(root / "res"), *common]
        assert cli.main(track) == 0
    (root / "printed.txt").write_text(printed.getvalue())
    return root


def test_meta_training_resumes_and_track_writes_valid_records(smoke_records):
    run = smoke_records / "runs" / "optimizers" / SPEC / "smoke" / "quadratic"
    assert json.loads((run / "checkpoint" / "state.json").read_text())["iteration"] == 2
    assert list((run / "tensorboard").iterdir())
    loaded = optimizer_records.load_all(smoke_records / "res")
    assert not loaded.skipped
    records = [r for _, r in loaded.records]
    assert {r["task"] for r in records} == {"quadratic", "quadratic@2x"}
    names = {r["optimizer"] for r in records}
    assert names == {"sgd", "momentum", "nag", "adam", "rmsprop", "adagrad", "lstm[quadratic]"}
    adam = next(r for r in records if r["optimizer"] == "adam" and r["task"] == "quadratic")
    tuning = adam["tuning"]
    assert {0.01, 0.1} <= set(tuning["grid"]) and tuning["winner"] in tuning["grid"]
    assert tuning["scores"][tuning["grid"].index(tuning["winner"])] == min(
        s for s in tuning["scores"] if s is not None
    )
    assert (
        adam["horizon"] == 10 and len(adam["per_task"]) == 3 and adam["provenance"]["seeds"]["test"] == 1000
    )
    assert adam["provenance"]["command"] == ""  # run from Python, not as the `tfmeta` command: none to name
    # Each baseline's tuning shows progress before its family's records are written.
    printed = (smoke_records / "printed.txt").read_text().splitlines()
    tuned = [line for line in printed if "tuned rate" in line]
    assert len(tuned) == 2 * 6 and tuned[0].startswith("  quadratic (horizon 10) sgd: tuned rate")
    assert printed.index(tuned[0]) < min(i for i, line in enumerate(printed) if line.startswith("quadratic "))


def test_an_interrupted_track_resumes_and_redo_supersedes(
    smoke_records, tmp_path, data_dir, cache_dir, capsys
):
    res = tmp_path / "res"
    res.mkdir()
    for path in (smoke_records / "res").glob("*.json"):
        if "quadratic_2x" not in path.name:  # as if stopped after the first evaluation
            (res / path.name).write_text(path.read_text())
    common = ["--profile", "smoke", "--runs-dir", str(smoke_records / "runs"), "--weights", "runs"]
    common += ["--results-dir", str(res), "--data-dir", str(data_dir), "--cache-dir", str(cache_dir)]
    assert cli.main(["optimizer-track", SPEC, *common]) == 0
    printed = capsys.readouterr().out
    assert "quadratic                recorded already (7 records); --redo runs it again" in printed
    assert "quadratic (horizon 10)" not in printed and "quadratic (horizon 20) adam: tuned rate" in printed
    assert len(list(res.glob("*.json"))) == 14
    first = sorted(path.name for path in res.glob("*.json"))
    assert cli.main(["optimizer-track", SPEC, *common, "--redo", "--family", "quadratic"]) == 0
    assert sorted(path.name for path in (res / "superseded").glob("*.json")) == first
    assert len(list(res.glob("*.json"))) == 14 and not set(first) & {p.name for p in res.glob("*.json")}


def test_tampered_records_are_rejected(smoke_records, tmp_path):
    path = sorted((smoke_records / "res").glob("*.json"))[0]
    record = json.loads(path.read_text())
    record["final_loss"]["mean"] = 0.0
    with pytest.raises(RecordError, match="final_loss.mean"):
        optimizer_records.check(record)
    del record["per_task"]
    with pytest.raises(RecordError, match="per_task"):
        optimizer_records.write(record, tmp_path, "x.json")
    assert not list(tmp_path.iterdir())


def test_leaderboard_bands_and_table(smoke_records):
    entries = optimizer_records.load_all(smoke_records / "res").records
    records = board.optimizer_records(entries)
    bands = board.loss_bands(records)
    first = bands[(bands.task == "quadratic") & (bands.optimizer == "adam") & (bands.step == 0)].iloc[0]
    assert first["runs"] == 3 and first["lower"] <= first["mean"] <= first["upper"]
    table = board.summary_frame(records)
    assert len(table) == 14 and "final loss ± 95% CI" in table.columns


def test_leaderboard_page_shows_the_track(smoke_records, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    board_dir = tmp_path / "board"
    (board_dir / "optimizers").mkdir(parents=True)
    for path in (smoke_records / "res").glob("*.json"):
        (board_dir / "optimizers" / path.name).write_text(path.read_text())
    (board_dir / "optimizers" / "broken.json").write_text("{}")
    monkeypatch.setenv("TFMETA_RESULTS_DIR", str(board_dir))
    app = AppTest.from_file(str(locations.app_dir() / "app.py"), default_timeout=60).run()
    app.switch_page("views/optimizers.py").run()
    assert not app.exception, app.exception
    assert [shown(s.value) for s in app.subheader] == [
        "Which optimizer wins",
        "Task by task",
        "Meta-training",
    ]
    tasks = [shown(e.label) for e in app.expander if not e.label.startswith("Against every")]
    assert tasks == ["quadratic", "quadratic@2x"]  # per-task curves, folded
    assert any("broken.json" in shown(w.value) for w in app.warning)
    counts, best, tally, outcomes = (frame.value for frame in app.dataframe[:4])
    assert list(counts["learned"]) == ["lstm[quadratic]"]
    assert int(counts[["wins", "ties", "losses"]].sum(axis=1).iloc[0]) == 2  # the answer first: 2 tasks
    assert set(best["task"]) == {"quadratic", "quadratic@2x"} and set(best["learned"]) == {"lstm[quadratic]"}
    assert set(best["outcome"]) <= {"wins", "ties", "loses"}
    assert set(tally["baseline"]) == {"sgd", "momentum", "nag", "adam", "rmsprop", "adagrad"}
    assert set(outcomes["task"]) == {"quadratic", "quadratic@2x"}
    table = app.dataframe[4].value
    assert set(table["optimizer"]) == {
        "sgd",
        "momentum",
        "nag",
        "adam",
        "rmsprop",
        "adagrad",
        "lstm[quadratic]",
    }


@pytest.mark.slow
def test_every_committed_task_draws_a_non_empty_chart_on_a_log_axis_fitted_to_it(monkeypatch, tmp_path):
    """The shipped records on the optimizer page: a chart per task on a log loss axis whose domain is the
    task's own losses (the band's lower edge clipped to it, so a band reaching zero still draws, where an
    unclipped log axis once left quadratic@2x empty), every one holding data."""
    import json

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TFMETA_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("TFMETA_SHIPPED_RECORDS", "on")
    app = AppTest.from_file(str(locations.app_dir() / "app.py"), default_timeout=60).run()
    app.switch_page("views/optimizers.py").run()
    assert not app.exception, app.exception
    tasks = [shown(e.label) for e in app.expander if not e.label.startswith("Against every")]
    assert "quadratic@2x" in tasks
    charts = app.get("vega_lite_chart")[: len(tasks)]
    assert len(charts) == len(tasks)
    for task, chart in zip(tasks, charts, strict=True):
        line = json.loads(chart.proto.spec)["layer"][1]["encoding"]["y"]
        assert line["scale"]["type"] == "log" and 0 < line["scale"]["domain"][0] < line["scale"]["domain"][1]
        assert any(dataset.data.data for dataset in chart.proto.datasets), task
    (tally,) = [
        frame.value for frame in app.dataframe if "baseline" in frame.value and "tasks" in frame.value
    ]
    assert (tally["wins"] + tally["ties"] + tally["losses"] == tally["tasks"]).all()
    assert set(tally["baseline"]) == {"sgd", "momentum", "nag", "adam", "rmsprop", "adagrad"}

"""The more-shots analysis of the in-context learners: when it applies, the test episodes cut to the
training shot, the record block and its checks, the frame of the Methods page and the page itself."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.records import make_record, shown, write_json
from tfmeta.records import few_shot
from tfmeta.records.frames.more_shots import CUT, OWN, more_shots
from tfmeta.records.store import RecordError


def build(name: str, **config):
    from tfmeta import methods

    return methods.get(name)(**config)


def test_the_analysis_applies_to_in_context_methods_tested_with_more_shots():
    from tfmeta.harness import more_shots as analysis

    def plan(trained, tested):
        return SimpleNamespace(setting={"shot": tested}, train={"shot": trained})

    snail, protonet = build("snail"), build("protonet")
    assert analysis.applies(plan(1, 5), snail)
    assert not analysis.applies(plan(5, 5), snail) and not analysis.applies(plan(1, 1), snail)
    assert not analysis.applies(plan(1, 5), protonet)
    assert analysis.analyse(plan(1, 5), protonet, None, None) == {}


def test_cut_support_keeps_the_classes_the_queries_and_their_order(class_sets):
    from tfmeta.data.episodes import EpisodeKey, FrozenEpisodes
    from tfmeta.data.pipelines import frozen_dataset
    from tfmeta.harness.more_shots import cut_support

    episodes = FrozenEpisodes.sample(
        EpisodeKey("omniglot", "vinyals", "test", 5, 5, 15, 3, 1703), class_sets["test"]
    )
    cut = cut_support(episodes, 1)
    assert cut.key.shot == 1 and cut.hash != episodes.hash
    np.testing.assert_array_equal(cut.query_labels(), episodes.query_labels())
    for (full, _), (short, _) in zip(
        frozen_dataset(episodes, class_sets["test"]), frozen_dataset(cut, class_sets["test"]), strict=True
    ):
        np.testing.assert_array_equal(short["support_images"], full["support_images"][:, :1])
        np.testing.assert_array_equal(short["query_images"], full["query_images"])
    with pytest.raises(ValueError, match="cannot cut 5-shot episodes to 6 shots"):
        cut_support(episodes, 6)


def test_a_five_shot_test_of_a_one_shot_training_records_the_cut_support(smoke_run):
    path, record = smoke_run("snail", way=5, shot=5)
    few_shot.check(few_shot.read(path))
    block = record["analysis"]["more_shots"]
    assert (block["trained_shot"], block["test_shot"]) == (1, 5)
    assert len(block["per_episode_at_trained_shot"]) == len(record["per_episode"]) == 20
    _, one_shot = smoke_run("snail")
    assert "more_shots" not in (one_shot.get("analysis") or {})


# -- the record block and the Methods page, on hand-made records ------------------------------------------


def snail_record(seed: int = 0, cut: list[float] | None = None) -> dict:
    """A 5-way 5-shot record of a 1-shot training with its more-shots block."""
    record = make_record("snail", per_episode=[0.9 + 0.01 * (i % 5) for i in range(20)])
    record["seed"] = record["config"]["train"]["seed"] = seed
    record["benchmark"]["shot"] = 5
    cut = cut if cut is not None else [0.7 + 0.01 * (i % 3) for i in range(20)]
    record["analysis"] = {
        "more_shots": {
            "trained_shot": 1,
            "test_shot": 5,
            "accuracy_at_trained_shot": few_shot.summarize(cut),
            "per_episode_at_trained_shot": cut,
        }
    }
    return record


def other_record(method: str, shot: int, accuracy: float, seed: int = 0) -> dict:
    record = make_record(method, per_episode=[accuracy] * 20)
    record["seed"] = record["config"]["train"]["seed"] = seed
    record["benchmark"]["shot"] = shot
    return record


def test_a_more_shots_block_is_checked_against_its_record():
    few_shot.check(snail_record())
    wrong_mean = snail_record()
    wrong_mean["analysis"]["more_shots"]["accuracy_at_trained_shot"]["mean"] = 0.9
    wrong_shot = snail_record()
    wrong_shot["analysis"]["more_shots"]["test_shot"] = 4
    too_few = snail_record(cut=[0.5] * 19)
    extra = snail_record()
    extra["analysis"]["more_shots"]["note"] = "x"
    for record, message in (
        (wrong_mean, r"analysis\.more_shots\.accuracy_at_trained_shot\.mean is 0\.9 but its per-episode"),
        (wrong_shot, r"compares 1 with 4 shots, but the record is 5-shot"),
        (too_few, r"holds 19 per-episode accuracies and n_episodes 19, but the record has 20 test"),
        (extra, r"note"),
    ):
        with pytest.raises(RecordError, match=message):
            few_shot.check(record)


def test_the_more_shots_frame_sets_the_cut_support_beside_the_metric_methods_records():
    records = [
        snail_record(0, [0.7] * 20),
        snail_record(1, [0.8] * 20),
        other_record("protonet", 1, 0.9),
        other_record("protonet", 5, 0.96),
        other_record("relation", 1, 0.92),  # no 5-shot record: left out
        other_record("maml", 1, 0.9),  # not a metric method: left out
        other_record("maml", 5, 0.95),
    ]
    entries = [(Path(f"{i}.json"), record) for i, record in enumerate(records)]
    (comparison,) = more_shots(entries, "snail")
    assert (comparison.benchmark, comparison.profile, comparison.way) == ("omniglot", "smoke", 5)
    assert (comparison.trained_shot, comparison.test_shot) == (1, 5)
    rows = {(r["method"], r["shots"]): r for r in comparison.frame.to_dict("records")}
    assert sorted(rows) == [("protonet", 1), ("protonet", 5), ("snail", 1), ("snail", 5)]
    assert rows["snail", 1]["accuracy"] == pytest.approx(75.0) and rows["snail", 1]["seeds"] == 2
    assert rows["snail", 5]["accuracy"] == pytest.approx(92.0) and rows["snail", 1]["source"] == CUT
    assert rows["protonet", 5]["accuracy"] == pytest.approx(96.0) and rows["protonet", 1]["source"] == OWN
    gains = comparison.gains().set_index("method")["gain"]
    assert gains["snail"] == pytest.approx(17.0) and gains["protonet"] == pytest.approx(6.0)
    assert more_shots(entries, "protonet") == []


@pytest.mark.slow
def test_the_methods_page_draws_the_more_shots_analysis(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.records import REPO

    for i, record in enumerate(
        (snail_record(), other_record("protonet", 1, 0.9), other_record("protonet", 5, 0.96))
    ):
        write_json(tmp_path / "results", f"{i}.json", record)
    monkeypatch.setenv("TFMETA_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("TFMETA_CACHE_DIR", str(tmp_path / "cache"))
    app = AppTest.from_file(str(REPO / "leaderboard" / "app.py"), default_timeout=60)
    app.query_params["method"] = "snail"
    app.run().switch_page("views/methods.py").run()
    assert not app.exception, app.exception
    assert any(shown(h.value) == "Tested with more shots than training had" for h in app.subheader)
    datasets = [d.data.data for chart in app.get("vega_lite_chart") for d in chart.proto.datasets]
    assert any(CUT.encode() in data and OWN.encode() in data for data in datasets)  # Arrow bytes

"""Leaderboard data shaping and paired statistics, on hand-made records (no TensorFlow, no Streamlit)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.records import REPO, make_record
from tfmeta.core.stats import paired_comparison, sign_test, wilcoxon_signed_rank
from tfmeta.records import published
from tfmeta.records.frames import curves, inner_loop, methods, optimizers, overview, tables


def entry(name, per_episode, episodes_hash=None, **changes):
    record = make_record(name, per_episode)
    if episodes_hash:
        record["episodes_hash"] = episodes_hash
    record.update(changes)
    return Path(f"{name}.json"), record


GOOD = [0.9] * 15 + [0.8] * 5
BAD = [0.6] * 15 + [0.7] * 5


def test_sign_test_exact_values():
    assert sign_test(3, 0) == pytest.approx(0.25)
    assert sign_test(0, 0) == 1.0
    assert sign_test(10, 10) == 1.0
    assert sign_test(9, 1) == pytest.approx(2 * 11 / 1024)
    assert 0 < sign_test(3000, 2800) < 0.02  # large n neither overflows nor underflows


def test_numpy_accuracies_give_the_same_exact_sign_test():
    """Seed-averaged accuracies arrive as numpy arrays; their int64 counts must not overflow 2**n."""
    import numpy as np

    a, b = [1.0] * 600 + [0.5] * 400, [0.9] * 600 + [0.6] * 400
    expected = paired_comparison(a, b)
    got = paired_comparison(np.array(a), np.array(b))
    assert got == expected and 1e-10 < got.sign_p < 1e-9 and type(got.wins) is int


def test_wilcoxon_matches_the_normal_approximation_by_hand():
    # n = 10 distinct positive differences: W+ = 55, mean 27.5, variance 96.25, continuity 0.5.
    expected = math.erfc((27.5 - 0.5) / math.sqrt(96.25) / math.sqrt(2))
    assert wilcoxon_signed_rank(list(range(1, 11))) == pytest.approx(expected)
    assert wilcoxon_signed_rank([0.0, 0.0]) == 1.0
    assert wilcoxon_signed_rank([0.1, -0.1] * 10) == pytest.approx(1.0)


def test_paired_comparison_is_antisymmetric():
    ab, ba = paired_comparison(GOOD, BAD), paired_comparison(BAD, GOOD)
    assert ab.mean_difference == pytest.approx(0.25) and ba.mean_difference == pytest.approx(-0.25)
    assert (ab.wins, ab.losses, ab.ties) == (20, 0, 0) == (ba.losses, ba.wins, ba.ties)
    assert ab.wilcoxon_p == pytest.approx(ba.wilcoxon_p) and ab.significant()
    assert not paired_comparison(GOOD, GOOD).significant()
    with pytest.raises(ValueError, match="equal lengths"):
        paired_comparison([0.1], [0.1, 0.2])


def test_records_on_different_episodes_are_never_ranked_together():
    other = "sha256:" + "1" * 64
    found = tables.group_tables([entry("a", GOOD), entry("b", BAD), entry("c", GOOD, other)])
    assert [len(t.entries) for t in found] == [2, 1]
    assert {t.key.episodes_hash for t in found} == {make_record()["episodes_hash"], other}


def test_tables_split_by_setting_protocol_and_budget_class():
    shot5 = make_record("a", GOOD)
    shot5["benchmark"]["shot"] = 5
    custom = make_record("b", GOOD)
    custom["profile"], custom["config"]["train"]["episodes"] = "custom", 400
    quick = make_record("q", GOOD)
    quick["profile"] = "quick"
    quick["config"]["train"] |= {"way": 20, "query": 15, "episodes": 600}  # the quick profile's budget
    transductive = make_record("c", BAD)
    transductive["method"]["config"]["batch_norm"] = "transductive"
    trainval = make_record("d", BAD)
    trainval["config"]["train"]["part"] = "trainval"
    found = tables.group_tables(
        [entry("a", GOOD), (Path("s5.json"), shot5), (Path("custom.json"), custom)]
        + [(Path("t.json"), transductive), (Path("tv.json"), trainval), (Path("q.json"), quick)]
    )
    by_key = {(t.key.shot, t.key.protocol, t.key.budget): t for t in found}
    assert set(by_key) == {
        (1, "inductive, train classes", "smoke"),
        (5, "inductive, train classes", "smoke"),
        (1, "transductive, train classes", "smoke"),
        (1, "inductive, trainval classes", "custom"),  # the smoke profile trains on the train classes
        (1, "inductive, train classes", "custom"),
        (1, "inductive, train classes", "quick"),
    }
    own = by_key[(1, "inductive, train classes", "smoke")]
    assert found.index(own) < found.index(by_key[(1, "transductive, train classes", "smoke")])
    assert list(own.frame()["Entry page"]) == ["methods?method=a"]
    # A smaller budget never ranks beside a larger one, and its class is in every heading of its table.
    quick_table = by_key[(1, "inductive, train classes", "quick")]
    assert quick_table.key.setting.endswith("· quick budget") and "quick budget" in quick_table.key.title
    custom_table = by_key[(1, "inductive, train classes", "custom")]
    assert custom_table.frame()["Training budget"][0].startswith("400 ep")
    assert "custom budget" in custom_table.key.setting


def test_compute_frame_marks_the_pareto_front():
    from tfmeta.records.frames.compute import compute_frame, pareto_front

    assert pareto_front([(1, 90), (2, 95), (3, 94), (2, 90), (0.5, 80)]) == [True, True, False, False, True]
    cheap, costly, dominated = make_record("cheap", BAD), make_record("costly", GOOD), make_record("d", BAD)
    cheap["timing"]["train_seconds"], costly["timing"]["train_seconds"] = 10.0, 100.0
    dominated["timing"]["train_seconds"] = 200.0
    (table,) = tables.group_tables([(Path(f"{i}.json"), r) for i, r in enumerate([cheap, costly, dominated])])
    cheap["provenance"]["hardware"]["cpu_count"] = 2  # wall seconds times cores; 1 core when unknown
    frame = compute_frame(table).set_index("entry")
    assert (frame.loc["cheap", "cpu_seconds"], frame.loc["costly", "cpu_seconds"]) == (20.0, 100.0)
    assert frame["pareto"].to_dict() == {"costly": True, "cheap": True, "d": False}


def test_table_rank_order_and_gap_marks():
    (table,) = tables.group_tables([entry("bad", BAD), entry("good", GOOD), entry("good2", GOOD)])
    frame = table.frame()
    assert list(frame["Method"]) == ["good", "good2", "bad"]
    assert list(frame["Rank"]) == [1, 1, 3]  # competition ranks for equal means
    assert frame["Gap to next"][0].startswith("ties: +0.00 [+0.00, +0.00]")
    assert frame["Gap to next"][1].startswith("beats: +25.00 [")
    assert frame["Gap to next"][2] == ""
    assert frame["Accuracy (%)"][0] == "87.50 ± 1.95"
    assert frame["Batch norm"][0] == "inductive" and frame["Queries"][0] == 15
    assert frame["Training budget"][0] == "60 ep of 5w1s5q on train, adam 0.001"
    assert frame["Episodes hash"][0] == make_record()["episodes_hash"][7:19]


def test_pairwise_frame_has_every_pair_once():
    (table,) = tables.group_tables([entry("a", GOOD), entry("b", BAD), entry("c", [0.75] * 20)])
    frame = tables.pairwise_frame(table.entries)
    assert len(frame) == 3
    assert list(frame["A"]) == ["#1 a", "#1 a", "#2 c"]
    assert frame["Significant"].all()


def test_curves_count_a_shared_training_once_and_band_across_seeds_only():
    first, second = make_record("m", seconds=60), make_record("m", seconds=80)
    second["seed"] = 1
    second["curve"][1]["val_accuracy"] = 0.7
    points = curves.curve_points([(Path("1"), first), (Path("2"), first), (Path("3"), second)])
    assert points["run"].nunique() == 2
    bands = curves.curve_bands(points[points["metric"] == "val_accuracy"])
    last = bands[bands["episode"] == 60].iloc[0]
    assert last["runs"] == 2 and last["mean"] == pytest.approx(65.0)
    assert 0 <= last["lower"] < 65 < last["upper"] <= 100 and last["seconds"] == pytest.approx(70)
    alone = curves.curve_bands(curves.curve_points([(Path("1"), first)]))
    assert (alone["lower"] == alone["mean"]).all() and (alone["upper"] == alone["mean"]).all()


def test_curves_draw_one_line_per_entry_never_mixing_variants():
    bce, contrastive = make_record("siamese"), make_record("siamese")
    bce["method"]["config"] = {"loss": "bce"}
    contrastive["method"]["config"] = {"loss": "contrastive"}
    points = curves.curve_points([(Path("1"), bce), (Path("2"), contrastive)])
    assert sorted(points["method"].unique()) == ["siamese (loss=bce)", "siamese (loss=contrastive)"]


def test_reproduce_commands():
    builtin = make_record("protonet")
    builtin["method"]["import_path"] = "tfmeta.methods.protonet:PrototypicalNetwork"
    assert methods.reproduce_command(builtin) == (
        "tfmeta run omniglot --method protonet --profile smoke --way 5 --shot 1 --config units=8"
    )
    external = make_record("Mine")
    external["method"]["import_path"] = "mypkg.mine:Mine"
    assert "--method mypkg.mine:Mine" in methods.reproduce_command(external)
    machine = make_record("protonet")
    machine["seed"] = 2
    machine["config"]["spec"] = "/home/someone/work/omniglot.yaml"  # a shipped spec by its path
    assert methods.reproduce_command(machine).startswith("tfmeta run omniglot --method")
    assert "--seed 2" in methods.reproduce_command(machine)
    machine["config"]["spec"] = "/tmp/pytest-7/mine/private.yaml"  # a spec of the reader's own
    assert methods.reproduce_command(machine).startswith("tfmeta run PATH/TO/private.yaml --method")
    assert methods.without_nulls({"a": None, "b": {"c": None, "d": 1}, "e": [None, 2]}) == {
        "b": {"d": 1},
        "e": [None, 2],
    }


def test_provenance_summary_is_flat_text():
    summary = methods.provenance_summary(make_record())
    assert summary["git commit"] == "unknown" and summary["hardware"] == "test"
    record = make_record()
    record["provenance"]["hardware"] = {"cpu": "AMD EPYC", "cpu_id": "AuthenticAMD family 25 model 17",
                                        "simd": ["avx2", "avx512f"], "cpu_count": 2}  # fmt: skip
    assert methods.provenance_summary(record)["hardware"] == (
        "AMD EPYC (AuthenticAMD family 25 model 17), 2 cores, avx2 avx512f"
    )


def test_learned_optimizer_wins_ties_and_losses_come_from_paired_tests():
    def record(optimizer, finals, task="t"):
        return {
            "task": task,
            "profile": "standard",
            "optimizer": optimizer,
            "per_task": [[9.0, f] for f in finals],
        }

    base = [1.0 + 0.1 * i for i in range(12)]
    records = [
        record("lstm", [f - 0.5 for f in base]),
        record("adam", base),
        record("sgd", [f - 0.5 + 0.01 * (-1) ** i for i, f in enumerate(base)]),  # tied: signs alternate
        record("lstm", [None] + base[1:], task="u"),  # diverged on one problem
        record("adam", base, task="u"),
    ]
    outcomes = optimizers.outcomes_frame(records).set_index(["task", "baseline"])
    assert outcomes.loc[("t", "adam"), "outcome"] == "wins"
    assert outcomes.loc[("t", "sgd"), "outcome"] == "ties"
    assert outcomes.loc[("u", "adam"), "outcome"] == "loses"
    assert outcomes.loc[("t", "adam"), "vs tuned adam"] == pytest.approx(
        sum(base[i] - 0.5 for i in range(12)) / sum(base)
    )
    tally = optimizers.tally_frame(optimizers.outcomes_frame(records)).set_index("baseline")
    assert tally.loc["adam", ["wins", "ties", "losses", "tasks"]].tolist() == [1, 0, 1, 2]
    assert tally.loc["sgd", ["wins", "ties", "losses", "tasks"]].tolist() == [0, 1, 0, 1]


def test_learned_optimizer_is_ranked_against_the_best_tuned_baseline_not_adam():
    def record(optimizer, finals, task="t", rate=0.1):
        return {
            "task": task,
            "profile": "standard",
            "optimizer": optimizer,
            "optimizer_config": {"learning_rate": rate},
            "per_task": [[9.0, f] for f in finals],
            "final_loss": {"mean": sum(finals) / len(finals), "ci95": 0.1},
        }

    base = [1.0 + 0.1 * i for i in range(12)]
    records = [
        record("lstm", [f - 0.5 for f in base]),
        record("adam", base),  # the learned optimizer beats Adam ...
        record(
            "momentum", [f - 0.5 + 0.01 * (-1) ** i for i, f in enumerate(base)], rate=0.3
        ),  # ... ties this
        record("sgd", [f - 0.2 for f in base]),
        record("lstm", [f - 0.1 for f in base], task="u"),
        record("adam", base, task="u"),
        record("sgd", [f - 0.3 for f in base], task="u"),  # and loses to the best here
    ]
    best = optimizers.best_baseline_frame(records).set_index("task")
    assert best.loc["t", "best baseline"] == "momentum" and best.loc["t", "learning rate"] == 0.3
    assert best.loc["t", "outcome"] == "ties"
    assert best.loc["u", "best baseline"] == "sgd" and best.loc["u", "outcome"] == "loses"
    assert best.loc["u", "difference"] == pytest.approx(0.2)
    assert optimizers.best_baseline_frame([record("adam", base)]).empty  # no learned optimizer: no row


def test_optimizer_track_bands_over_seeds():
    assert optimizers.optimizer_records([entry("a", GOOD)]) == []
    runs = [
        {"kind": "optimizer", "task": "quadratic", "optimizer": "adam", "curve": [{"step": 0, "loss": loss}]}
        for loss in (1.0, 3.0)
    ]
    bands = optimizers.loss_bands(optimizers.optimizer_records([(Path("x"), r) for r in runs]))
    assert bands.iloc[0]["mean"] == 2.0 and bands.iloc[0]["runs"] == 2


@pytest.mark.slow
def test_the_leaderboard_never_imports_tensorflow(tmp_path):
    """Every leaderboard module, every page of the app, and a submission check run without TensorFlow."""
    (tmp_path / "r.json").write_text(json.dumps(make_record()))
    script = f"""
import os, sys
os.environ["TFMETA_RESULTS_DIR"] = {str(tmp_path)!r}
os.environ["TFMETA_SUBMISSIONS"] = "on"
import tfmeta.records.submission as s, tfmeta.records.frames.tables, tfmeta.records.frames.curves
import tfmeta.records.frames.methods, tfmeta.records.frames.optimizers
from streamlit.testing.v1 import AppTest
s.verify(s.parse(open({str(tmp_path / "r.json")!r}, "rb").read()))
app = AppTest.from_file({str(REPO / "leaderboard" / "app.py")!r}, default_timeout=60).run()
for page in ("significance", "curves", "optimizers", "methods", "submit"):
    app.switch_page(f"views/{{page}}.py").run()
    assert not app.exception, app.exception
heavy = sorted(m for m in ("tensorflow", "keras", "tensorflow_datasets") if m in sys.modules)
print("HEAVY", heavy)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "HEAVY []" in done.stdout


def test_overview_keeps_each_methods_best_per_setting():
    shot5 = make_record("a", [0.99] * 20)
    shot5["benchmark"]["shot"] = 5
    entries = [entry("a", GOOD), entry("a", BAD), entry("b", BAD), (Path("s5.json"), shot5)]
    frame = overview.overview_frame(tables.group_tables(entries))
    assert list(frame.columns) == ["Method", "5-way 1-shot", "5-way 5-shot"]
    assert frame.to_dict("records") == [
        {"Method": "a", "5-way 1-shot": "87.50 ± 1.95", "5-way 5-shot": "99.00 ± 0.00"},
        {"Method": "b", "5-way 1-shot": "62.50 ± 1.95", "5-way 5-shot": ""},
    ]


def test_published_numbers_come_from_the_one_file_with_their_sources():
    frame = overview.published_frame("omniglot", "vinyals")
    assert len(frame) == len(published.for_benchmark("omniglot", "vinyals")) == 8
    assert {"Batch norm", "Training classes", "Source"} <= set(frame.columns)
    assert len(overview.published_frame("mini_imagenet", "ravi")) == 4
    assert overview.published_frame("omniglot_lake", "lake").empty


def test_optional_cells_appear_only_where_records_have_them():
    lake = make_record("lake", GOOD)
    lake.update(
        error_rate={"mean": 0.125}, verification={"auc": 0.98765, "eer": 0.05, "n_pairs": 10}, notes="hi"
    )
    (table,) = tables.group_tables([(Path("lake.json"), lake), entry("plain", BAD)])
    rows = table.frame().to_dict("records")
    assert (
        rows[0]["Error rate (%)"] == 12.5
        and rows[0]["Verification AUC"] == 0.9877
        and rows[0]["Notes"] == "hi"
    )
    assert math.isnan(rows[1]["Error rate (%)"])


def test_analysis_frames_shape_the_hallucination_analysis():
    from tfmeta.records.frames.methods import analysis_frames

    record = {
        "analysis": {
            "trained_m": 5,
            "accuracy_vs_m": [
                {"m": 0, "accuracy": 0.9, "n_episodes": 200},
                {"m": 5, "accuracy": 0.95, "n_episodes": 200},
            ],
            "projection": [{"kind": "support", "class": 0, "x": 1.0, "y": 2.0}],
        }
    }
    by_m, projection = analysis_frames(record)
    assert by_m["accuracy"].tolist() == [90.0, 95.0]
    assert projection["class"].tolist() == ["0"]
    assert analysis_frames({}) == (None, None)


def test_batch_norm_column_shows_the_methods_own_policy():
    _, record = entry("maml", GOOD)
    assert tables.row_cells(Path("a.json"), record)["Batch norm"] == "inductive"
    record["method"]["config"]["batch_norm"] = "transductive"
    assert tables.row_cells(Path("a.json"), record)["Batch norm"] == "transductive (method; spec: inductive)"


def test_variants_name_what_sets_a_methods_records_apart():
    records = [entry("siamese", GOOD)[1], entry("siamese", BAD)[1], entry("protonet", GOOD)[1]]
    records[0]["method"]["config"].update(loss="bce", filters=64, curve_steps=10)
    records[1]["method"]["config"].update(loss="contrastive", filters=64, curve_steps=20)
    records[2]["method"]["config"].update(loss="anything")
    assert tables.variants(records) == ["loss=bce", "loss=contrastive", ""]
    del records[0]["method"]["config"]["loss"]  # a record written before the argument existed
    assert tables.variants(records)[:2] == ["loss=default", "loss=contrastive"]


def test_overview_has_a_row_per_variant():
    a, b = entry("siamese", GOOD), entry("siamese", BAD)
    a[1]["method"]["config"]["loss"], b[1]["method"]["config"]["loss"] = "bce", "contrastive"
    frame = overview.overview_frame(tables.group_tables([a, b]))
    assert frame["Method"].tolist() == ["siamese (loss=bce)", "siamese (loss=contrastive)"]


def curve(accuracy, rate=None):
    summary = {
        "steps": [0, 1, 2],
        "trained_steps": 1,
        "episodes": 20,
        "accuracy_mean": accuracy,
        "accuracy_ci95": [0.01] * 3,
        "loss_mean": [1.6, 1.0, 0.9],
        "accuracy_at_trained_steps": GOOD,
    }
    return summary if rate is None else {**summary, "learning_rate": rate}  # fmt: skip


def test_inner_loop_frames_label_each_rule_and_its_start():
    _, learned = entry("meta_lstm", GOOD)
    learned["analysis"] = {
        "inner_curve": curve([0.2, 0.9, 0.95]),
        "baseline_curves": {"sgd": {**curve([0.2, 0.5, 0.6], 0.1), "accuracy_at_trained_steps": BAD}},
        "paired_vs_baselines": {"sgd": vars(paired_comparison(GOOD, BAD))},
    }
    _, tuned = entry("finetune", GOOD)
    tuned["analysis"] = {
        "inner_curve": curve([0.2, 0.7, 0.8]),
        "baseline_curves": {"adam": curve([0.2, 0.7, 0.8], 0.01), "sgd": curve([0.2, 0.4, 0.5], 0.3)},
        "fine_tuning": {"optimizer": "adam", "learning_rate": 0.01},
    }
    entries = [(Path("a.json"), learned), (Path("b.json"), tuned), entry("protonet", GOOD)]
    frame = inner_loop.curve_frame(entries)
    assert sorted(frame["label"].unique()) == [
        "finetune start, adam (0.01)", "finetune start, sgd (0.3)", "meta_lstm start, sgd (0.1)",
        "meta_lstm: its own update",
    ]  # fmt: skip
    assert frame[frame["label"] == "meta_lstm: its own update"]["accuracy"].tolist() == pytest.approx(
        [20, 90, 95]
    )
    assert set(frame["entry"]) == {"meta_lstm", "finetune"}
    longer = {
        **learned,
        "config": {**learned["config"], "train": {**learned["config"]["train"], "episodes": 90}},
    }
    panels = inner_loop.curve_frame([*entries, (Path("c.json"), longer)])
    assert set(panels["entry"]) == {"meta_lstm (60 episodes)", "meta_lstm (90 episodes)", "finetune"}
    rows = inner_loop.paired_frame(entries).to_dict("records")
    (row,) = [row for row in rows if row["method"] == "meta_lstm"]
    assert row["against"] == "sgd" and row["own - optimizer (points)"] == pytest.approx(
        100 * (0.75 * 0.3 + 0.25 * 0.1)
    )
    assert row["outcome"] == "beats"  # decided from the per-episode accuracies


def test_inner_loop_frames_add_the_curves_from_another_records_start():
    path, learned = entry("meta_lstm", GOOD)
    own = {
        "inner_curve": curve([0.2, 0.9, 0.95]),
        "baseline_curves": {"sgd": curve([0.2, 0.5, 0.6], 0.1)},
        "paired_vs_baselines": {"sgd": vars(paired_comparison(GOOD, BAD))},
    }
    other = {
        "inner_curve": curve([0.3, 0.6, 0.7]),
        "baseline_curves": {"sgd": curve([0.3, 0.7, 0.8], 0.4)},
        "paired_vs_baselines": {"sgd": vars(paired_comparison(BAD, GOOD))},
    }
    learned["analysis"] = {
        **own,
        "curve_start": {"record": "m.json", "method": "maml", "weights_sha256": "0" * 64, **other},
    }
    frame = inner_loop.curve_frame([(path, learned)])
    assert sorted(set(zip(frame["start"], frame["label"], strict=True))) == [
        ("maml", "maml start, sgd (0.4)"), ("maml", "meta_lstm's update from maml's start"),
        ("meta_lstm", "meta_lstm start, sgd (0.1)"), ("meta_lstm", "meta_lstm: its own update"),
    ]  # fmt: skip
    mine = frame[frame["label"] == "meta_lstm's update from maml's start"]
    assert mine["accuracy"].tolist() == pytest.approx([30, 60, 70]) and set(frame["entry"]) == {"meta_lstm"}
    paired = inner_loop.paired_frame([(path, learned)])
    assert paired[["start", "learning rate"]].values.tolist() == [["meta_lstm", 0.1], ["maml", 0.4]]
    assert paired["own - optimizer (points)"].tolist()[1] == pytest.approx(
        -paired["own - optimizer (points)"].tolist()[0]
    )


def _seeded(seed: int, accuracies: list[float], created: str, episodes: int = 60) -> tuple:
    record = make_record("protonet", per_episode=accuracies)
    record["seed"] = seed
    record["config"]["train"] = {**record["config"]["train"], "seed": seed, "episodes": episodes}
    record["provenance"]["created"] = created
    return Path(f"protonet-seed{seed}-{created[:13]}.json"), record


def test_records_that_differ_only_in_seed_are_one_entry():
    a = [0.6 + 0.01 * (i % 7) for i in range(20)]
    b = [0.7 + 0.01 * (i % 5) for i in range(20)]
    c = [0.5 + 0.02 * (i % 3) for i in range(20)]
    entries = [
        _seeded(0, a, "2026-11-01T00:00:00+00:00"),
        _seeded(1, b, "2026-11-02T00:00:00+00:00"),
        _seeded(2, c, "2026-11-03T00:00:00+00:00"),
        _seeded(2, [0.1] * 20, "2026-10-01T00:00:00+00:00"),  # an older run of seed 2: superseded
        _seeded(0, [0.9] * 20, "2026-11-04T00:00:00+00:00", episodes=30),  # another budget: its own entry
    ]
    table, other_budget = tables.group_tables(entries)
    assert other_budget.key.budget == "custom" and len(other_budget.entries) == 1
    frame = table.frame()
    assert list(frame["Seeds"]) == [3]
    three = frame.iloc[0]
    means = [sum(x) / 20 for x in (a, b, c)]
    assert three["Mean (%)"] == pytest.approx(100 * sum(means) / 3)
    assert three["Across seeds (%)"].startswith("± ")
    assert other_budget.frame().iloc[0]["Across seeds (%)"] == ""
    _, combined = table.entries[0]
    assert combined["per_episode"] == pytest.approx(
        [(x + y + z) / 3 for x, y, z in zip(a, b, c, strict=True)]
    )
    assert [s["seed"] for s in combined["seeds"]] == [0, 1, 2]


def test_an_argument_added_later_at_its_old_value_keeps_records_in_one_entry():
    """Records written before `meta_batch` existed ran one task per meta-update: a new record that says
    meta_batch=1 is the same entry (seeds combine), one with meta_batch=4 is another."""
    old, same, other = (make_record("maml", GOOD) for _ in range(3))
    same["seed"], same["method"]["config"]["meta_batch"] = 1, 1
    other["method"]["config"]["meta_batch"] = 4
    assert tables.entry_key(old) == tables.entry_key(same) != tables.entry_key(other)
    assert tables.variants([old, same, other]) == ["meta_batch=1", "meta_batch=1", "meta_batch=4"]


def accuracy_pair(record: dict) -> tuple[str, str]:
    """A record's accuracy as README and docs/ print it: ("98.29", "0.17") for "98.29 +- 0.17"."""
    return f"{100 * record['accuracy']['mean']:.2f}", f"{100 * record['accuracy']['ci95']:.2f}"


def quoted_accuracy_pairs() -> set[tuple[str, str]]:
    """Every "mean +- CI" README and docs/*.md print."""
    texts = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    return {pair for path in texts for pair in re.findall(r"(\d+\.\d\d) \+- (\d\.\d\d)", path.read_text())}


# Records on the leaderboard that name no trained weights, so `tfmeta verify` cannot reproduce them, each
# awaiting its clean re-run (`tfmeta sweep standard --redo-unreproducible --seed 0 --method ...`), whose
# verified successor takes it off this list. Records of earlier budgets that could not be verified moved to
# results/superseded/ instead. Empty: every record on the leaderboard is verified.
AWAITING_VERIFIABLE_RERUNS: set[str] = set()


@pytest.mark.slow
def test_every_record_on_the_leaderboard_is_verified_except_those_awaiting_their_rerun():
    """Each few-shot record in leaderboard/results/ is listed in verified.json with its current digest
    (`tfmeta verify --mark` reproduced every per-episode accuracy from its shipped weights)."""
    from tfmeta.records import few_shot, trust

    board = REPO / "leaderboard" / "results"
    table = trust.load(board)
    records = few_shot.load_all(board).records
    unverified = {path.name for path, _ in records if not trust.is_verified(path, table)}
    assert len(records) > 80
    assert unverified == AWAITING_VERIFIABLE_RERUNS


@pytest.mark.slow
def test_readme_and_docs_quote_no_superseded_record():
    """A "mean +- CI" in README or docs/ that only a record in results/superseded/ has is a number the
    leaderboard no longer shows: the text must move to the record that replaced it."""
    from tfmeta.records import few_shot

    def pairs(folder):
        return {accuracy_pair(record) for _, record in few_shot.load_all(folder).records}

    results = REPO / "leaderboard" / "results"
    superseded = pairs(results / "superseded")
    assert len(superseded) >= 5
    assert (quoted_accuracy_pairs() & superseded) - pairs(results) == set()


def test_a_record_whose_budget_is_not_its_profiles_shows_as_custom():
    short = make_record("a", GOOD)
    short["config"]["train"]["episodes"] = 40  # the smoke profile trains 60
    found = tables.group_tables([entry("b", BAD), (Path("short.json"), short)])
    cells = {e: p for t in found for e, p in zip(t.frame()["Entry"], t.frame()["Profile"], strict=True)}
    assert cells == {"a": "custom (labelled smoke)", "b": "smoke"}
    assert [t.key.budget for t in found] == ["smoke", "custom"]
    elsewhere = make_record("c", GOOD)
    elsewhere["benchmark"]["name"] = "not-shipped-here"  # no spec to check it by: its own profile stands
    assert tables.profile_cell(elsewhere) == "smoke"


def test_the_paper_column_never_compares_across_batch_norm_protocols():
    """Reptile reports both protocols: each entry gets its own. MAML reports the transductive one only: an
    inductive MAML entry gets no paper number, not a gap that counts the protocol. Relation Networks' paper
    does not say: its number stands beside the inductive entry."""
    inductive = make_record("reptile", GOOD)
    transductive = make_record("reptile", GOOD)
    transductive["method"]["config"]["batch_norm"] = "transductive"
    for record in (inductive, transductive):
        record["benchmark"].update(dataset="omniglot", split="vinyals", batch_norm="inductive", way=5, shot=1)
    assert tables.paper_cells(inductive)["Paper (%)"] == 95.39
    assert tables.paper_cells(transductive)["Paper (%)"] == 97.68
    maml_inductive = {**inductive, "method": {**inductive["method"], "name": "maml"}}
    assert tables.paper_cells(maml_inductive) == {"Paper (%)": None, "Gap to paper": ""}
    maml_transductive = {**transductive, "method": {**transductive["method"], "name": "maml"}}
    assert tables.paper_cells(maml_transductive)["Paper (%)"] == 98.7
    relation = {**inductive, "method": {**inductive["method"], "name": "relation"}}
    assert tables.paper_cells(relation)["Paper (%)"] == 99.6

"""The fine-tuning baseline and the tuning of standard optimizers from a method's own start."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from tfmeta.data.episodes import sample_indices
from tfmeta.data.pipelines import training_dataset
from tfmeta.harness import evaluation, inner_curves, planning
from tfmeta.methods.optimization.finetune import FineTuning
from tfmeta.methods.optimization.learner import support_labels
from tfmeta.methods.optimization.step_curves import LEARNING_RATE_GRID
from tfmeta.optimizers import functional
from tfmeta.records import few_shot


def test_training_episodes_can_carry_the_class_indices_of_their_labels(class_sets):
    train = class_sets["train"]
    plain = next(iter(training_dataset(train, 5, 1, 2, seed=7)))
    episode, labels = next(iter(training_dataset(train, 5, 1, 2, seed=7, with_classes=True)))
    np.testing.assert_array_equal(episode["support_images"], plain[0]["support_images"])  # same draw
    expected = sample_indices(np.random.default_rng(7), *train.images.shape[:2], 5, 1, 2)[0]
    np.testing.assert_array_equal(episode["classes"], expected)
    for label, index in enumerate(episode["classes"].numpy()):
        image = np.round(episode["support_images"][label, 0].numpy() * 255)
        assert any(np.array_equal(image, example) for example in train.images[index].astype(np.float32))
    assert "classes" not in plain[0] and labels.shape == (10,)


def tiny_episode(class_sets, way=5, shot=1):
    val = class_sets["val"]
    images = val.images[:way, :shot].astype(np.float32) / 255.0
    return tf.constant(images.reshape(way * shot, *images.shape[2:])), support_labels(way, shot)


def test_head_only_fine_tuning_keeps_the_backbone_and_takes_exact_softmax_steps(class_sets):
    method = FineTuning(classes=10, filters=4)
    images, labels = tiny_episode(class_sets)
    method.ensure_built(images.shape[1:])
    params = method.initial_params(5)
    trajectory = method.rule_trajectory(functional.get("sgd", 0.5), params, images, labels, 3)
    n = len(method.learner.trainable_variables)
    assert len(trajectory) == 4
    for later in trajectory[1:]:
        for before, after in zip(params[:n], later[:n], strict=True):
            np.testing.assert_array_equal(before, after)
    # From a zero head the logits are uniform, so the cross-entropy gradient is X^T (1/way - onehot) / n.
    features = method.learner_outputs(params, images).numpy()
    onehot = np.eye(5)[labels.numpy()]
    kernel = -0.5 * features.T @ (1 / 5 - onehot) / 5
    np.testing.assert_allclose(trajectory[1][n], kernel, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(trajectory[1][n + 1], -0.5 * (1 / 5 - onehot).mean(0), atol=1e-6)


def test_whole_network_fine_tuning_moves_the_backbone(class_sets):
    method = FineTuning(classes=10, filters=4, whole=True)
    images, labels = tiny_episode(class_sets)
    method.ensure_built(images.shape[1:])
    params = method.initial_params(5)
    trajectory = method.rule_trajectory(functional.get("sgd", 0.5), params, images, labels, 2)
    np.testing.assert_array_equal(params[0], trajectory[1][0])  # no gradient flows through a zero head
    assert not np.allclose(params[0], trajectory[2][0])


def test_missing_class_count_and_unknown_optimizer_are_clear_errors():
    with pytest.raises(ValueError, match="classes=<number of meta-training classes>"):
        FineTuning(filters=4).ensure_built((28, 28, 1))
    with pytest.raises(KeyError, match="valid: sgd, momentum, nag, adam, rmsprop, adagrad"):
        FineTuning(classes=3, optimizer="lbfgs")


def test_config_round_trip():
    method = FineTuning(classes=7, optimizer="sgd", learning_rate=0.1, whole=True)
    again = FineTuning.from_config(method.get_config())
    assert again.get_config() == method.get_config()
    assert "head" not in method.get_config()


def test_the_analysis_draws_every_optimizer_unless_the_config_names_some():
    """The `curve_*` keys of a method config are the analysis's: the constructor never sees them, and
    the record's method config gets them back from the analysis."""
    config = {"classes": 7, "curve_baselines": ["adam"], "curve_episodes": 5}
    method = FineTuning(**inner_curves.without_analysis(FineTuning, config))
    curves = inner_curves.analysis_for(method, config)
    assert curves.config == {
        "curve_steps": 0, "curve_episodes": 5, "curve_baselines": {"adam": None}, "curve_start": None
    }  # fmt: skip
    every = inner_curves.analysis_for(method, {"classes": 7}).config["curve_baselines"]
    assert every == dict.fromkeys(functional.DEFAULT_LEARNING_RATES)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'; valid: sgd, momentum"):
        inner_curves.analysis_for(method, {"curve_baselines": ["lbfgs"]})


def test_analysis_only_config_does_not_change_the_training_id():
    the_plan = planning.plan(planning.RunOptions(spec="omniglot", method="maml", profile="smoke"))
    config = {"inner_steps": 1, "curve_baselines": {}, "curve_episodes": 100}
    analysis_only = ("curve_steps", "curve_episodes", "curve_baselines")
    same = planning.training_id(the_plan, {**config, "curve_baselines": {"sgd": None}}, analysis_only)
    assert planning.training_id(the_plan, config, analysis_only) == same
    assert planning.training_id(the_plan, {**config, "inner_steps": 2}, analysis_only) != same


def test_nothing_is_tuned_on_the_test_part():
    class Tuner:
        tunes = True

        def tune(self, data, labels):
            raise AssertionError("tuned on the test characters")

    the_plan = planning.plan(planning.RunOptions(spec="omniglot_lake", method="finetune", profile="smoke"))
    assert "skipped" in evaluation.tune(the_plan, Tuner(), class_sets={})


@pytest.fixture(scope="module")
def finetune_record(smoke_run):
    path, record = smoke_run("finetune")
    few_shot.check(json.loads(path.read_text()))
    return record


def test_fine_tuning_tunes_every_optimizer_on_validation_episodes(finetune_record):
    analysis = finetune_record["analysis"]
    tuning = analysis["tuning"]
    assert tuning["episodes_hash"] != finetune_record["episodes_hash"]  # validation classes, not test
    assert set(tuning["baselines"]) == set(functional.DEFAULT_LEARNING_RATES)
    for name, report in tuning["baselines"].items():
        assert set(LEARNING_RATE_GRID) <= set(report["grid"])  # the search starts there, may go further
        assert report["grid"] == sorted(report["grid"]) and len(report["accuracy"]) == len(report["grid"])
        assert report["accuracy"][report["grid"].index(report["learning_rate"])] == max(report["accuracy"])
        assert isinstance(report["interior"], bool)
        assert analysis["baseline_curves"][name]["learning_rate"] == report["learning_rate"]
        assert analysis["baseline_curves"][name]["tuned"]
    assert analysis["fine_tuning"] == {
        "optimizer": "adam",
        "learning_rate": tuning["baselines"]["adam"]["learning_rate"],
    }


def test_verify_searches_again_only_the_rate_the_predictions_use(smoke_run, data_dir, cache_dir, monkeypatch):
    """`tfmeta verify` re-evaluates predictions: fine-tuning's own rate (Adam's) is searched again on the
    validation episodes, the other five optimizers' rates, which only the analysis's curves use, are not;
    every test episode still reproduces, with no warning about the training optimizer's state in the
    weights file."""
    import warnings

    from tfmeta.harness import reproduction
    from tfmeta.optimizers import grid

    path, record = smoke_run("finetune")
    searched, search = [], grid.search

    def counted(objective, start, **options):
        searched.append(start)
        return search(objective, start, **options)

    monkeypatch.setattr(grid, "search", counted)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done = reproduction.verify(
            path, reproduction.Sources([path.parents[1] / "runs"], str(data_dir), str(cache_dir))
        )
    assert not [w for w in caught if "optimizer" in str(w.message)], [str(w.message) for w in caught]
    assert done.episodes == len(record["per_episode"])
    assert len(searched) == 1  # Adam's, of the six tuned when the record was made


def test_fine_tuning_curves_start_at_chance_and_learn(finetune_record):
    """A zero head scores every class alike, so step 0 picks class 0: exactly 1/way of balanced queries."""
    analysis = finetune_record["analysis"]
    steps = finetune_record["method"]["config"]["test_inner_steps"]  # the smoke profile's
    for curve in [analysis["inner_curve"], *analysis["baseline_curves"].values()]:
        assert curve["accuracy_mean"][0] == pytest.approx(0.2)
        assert curve["trained_steps"] == steps and len(curve["steps"]) == 2 * steps + 1
        assert max(curve["accuracy_mean"]) > 0.35
    paired = analysis["paired_vs_baselines"]["adam"]  # the method's own rule is Adam: all ties
    assert paired["ties"] == paired["n"] and paired["mean_difference"] == 0


def test_curves_from_a_records_trained_start(smoke_run, data_dir, cache_dir):
    """`curve_start` names a record; the harness loads its method with the weights it names and the
    analysis runs again from that start. Named here: the fine-tuning record itself, so the training is
    reused (an analysis-only argument) and the curves from its start are its own curves, which shows the
    weights were the trained ones."""
    from tfmeta.harness import pipeline, planning

    path, record = smoke_run("finetune")
    again = pipeline.make_record(
        planning.RunOptions(
            spec="omniglot", method="finetune", profile="smoke", data_dir=str(data_dir),
            cache_dir=str(cache_dir), runs_dir=path.parent.parent / "runs", verbose=0,
            method_config={"curve_start": str(path), "curve_baselines": {"sgd": 0.1}},
        )
    )  # fmt: skip
    few_shot.check(again)
    assert again["per_episode"] == record["per_episode"]
    start = again["analysis"]["curve_start"]
    assert start["record"] == path.name and start["method"] == "finetune"
    assert start["weights_sha256"] == record["weights"]["sha256"]
    assert start["inner_curve"]["accuracy_mean"] == again["analysis"]["inner_curve"]["accuracy_mean"]
    assert set(start["baseline_curves"]) == {"sgd"} and set(start["paired_vs_baselines"]) == {"sgd"}

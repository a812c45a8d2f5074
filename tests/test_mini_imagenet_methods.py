"""On a miniImageNet fixture in the real format: the smoke profile through the harness, every registered
method trained and evaluated at the spec's widths, and the committed frozen episode files are exactly
those the shipped class lists define (no images needed)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from tests import mini_imagenet_fixtures as fixtures
from tfmeta import methods
from tfmeta.config import specs
from tfmeta.core import registries
from tfmeta.data import mini_imagenet
from tfmeta.data.episodes import FrozenEpisodes
from tfmeta.data.pipelines import training_dataset
from tfmeta.harness import building, evaluation, freeze, pipeline, planning


@pytest.fixture(scope="module")
def fixture_sets(tmp_path_factory):
    """Real builder, real JPEGs: 5 classes per part (enough for 5-way), 16 images each (1 + 15 queries)."""
    chosen = fixtures.subset(classes_per_part=5, images_per_class=16)
    root = tmp_path_factory.mktemp("mini-smoke")
    folder = fixtures.write_image_folder(root / "data", fixtures.random_images(chosen), lossless=False)
    return lambda parts: mini_imagenet.load_class_sets("ravi", parts, folder, root / "cache", subset=chosen)


@pytest.fixture
def mini_spec(fixture_sets, tmp_path, monkeypatch):
    """A copy of the miniImageNet spec (its frozen episodes of the fixture go beside it) whose class sets
    come from the fixture."""
    spec_path = tmp_path / "mini_imagenet.yaml"
    shutil.copy(specs.resolve("mini_imagenet"), spec_path)
    monkeypatch.setattr(building, "load_class_sets", lambda dataset, split, parts, *_: fixture_sets(parts))
    return spec_path


@pytest.mark.slow
def test_smoke_profile_runs_on_mini_imagenet(mini_spec, tmp_path):
    """The whole harness path, record included, once; every method's full smoke run is on Omniglot."""
    options = planning.RunOptions(
        spec=mini_spec,
        method="protonet",
        profile="smoke",
        runs_dir=tmp_path / "runs",
        results_dir=tmp_path / "results",
        verbose=0,
    )
    _, record = pipeline.run(options)
    assert record["benchmark"]["dataset"] == "mini_imagenet" and record["benchmark"]["split"] == "ravi"
    assert record["accuracy"]["n_episodes"] == 10 and len(record["per_episode"]) == 10
    assert all(math.isfinite(point["loss"]) for point in record["curve"])


@pytest.mark.slow
@pytest.mark.parametrize("method", registries.method_names())
def test_every_method_trains_and_evaluates_on_mini_imagenet_images(method, mini_spec):
    """Each method at the spec's miniImageNet widths takes a training step on 84x84 colour episodes and
    answers the frozen test episodes through the harness's own steps (training on real data, and the
    analyses, are covered once per method on Omniglot)."""
    options = planning.RunOptions(spec=mini_spec, method=method, profile="smoke", verbose=0)
    the_plan = planning.plan(options)
    config = the_plan.benchmark.method_defaults(method, methods.get(method), "smoke")
    data = building.load_data(the_plan, options)
    model = building.build_method(the_plan, methods.get(method), config, data)
    assert model.get_config().get("filters") == config.get("filters")
    block = the_plan.train
    stream = training_dataset(
        data.class_sets[block["part"]], block["way"], block["shot"], block["query"], 0, model.uses_class_ids
    )
    history = model.fit(stream, epochs=1, steps_per_epoch=1, verbose=0)
    assert all(math.isfinite(value) for value in history.history["loss"])
    labels = data.test_set.query_labels()
    if model.embeds_images:
        test_classes = data.class_sets[the_plan.benchmark.data["test"]["part"]]
        result = evaluation.evaluate(model, data.test_data, labels, 0, data.test_set, test_classes)
    else:  # an inner loop per episode at 84x84 is what costs: two episodes take the same path as ten
        labels = labels[:2]
        result = evaluation.evaluate(model, data.test_data.take(2), labels, 0)
    assert len(result.per_episode) == len(labels) and all(0.0 <= a <= 1.0 for a in result.per_episode)
    assert result.logits.shape == (*labels.shape, 5) and np.isfinite(result.logits).all()


def test_committed_episode_files_follow_from_the_class_lists_alone(tmp_path):
    regenerated = freeze.freeze("mini_imagenet", tmp_path)
    committed = specs.load("mini_imagenet").episodes_dir
    assert len(regenerated) == 9
    for episodes in regenerated:
        stored = FrozenEpisodes.load(committed / episodes.key.filename)
        assert stored.hash == episodes.hash
        names = tuple(mini_imagenet.class_names("ravi", episodes.key.part))
        assert stored.class_fingerprint == FrozenEpisodes.draw(episodes.key, names, 600).class_fingerprint
    test_600 = [e for e in regenerated if e.key.part == "test" and e.key.count == 600]
    assert {(e.key.way, e.key.shot, e.key.query) for e in test_600} == {(5, 1, 15), (5, 5, 15)}


def test_frozen_episodes_match_a_prepared_class_set(fixture_sets):
    """`draw` from names and counts equals `sample` from the prepared images."""
    class_set = fixture_sets({"test"})["test"]
    key = freeze.EpisodeKey("mini_imagenet", "ravi", "test", 5, 1, 15, 4, 0)
    drawn = FrozenEpisodes.draw(key, class_set.names, class_set.images.shape[1])
    assert drawn.hash == FrozenEpisodes.sample(key, class_set).hash
    np.testing.assert_array_equal(drawn.classes, FrozenEpisodes.sample(key, class_set).classes)

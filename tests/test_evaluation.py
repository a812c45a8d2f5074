"""Evaluation paths give the same answers: one episode per step, a batch of episodes per step, and each
distinct image embedded once (methods that `embeds_images`)."""

from __future__ import annotations

import numpy as np
import pytest

from tfmeta import methods
from tfmeta.core.episode_index import EpisodeKey
from tfmeta.data.episodes import FrozenEpisodes
from tfmeta.data.pipelines import frozen_dataset
from tfmeta.harness import evaluation, training


@pytest.fixture(scope="module")
def test_episodes(class_sets):
    key = EpisodeKey("omniglot", "vinyals", "test", way=5, shot=2, query=3, count=12, seed=4)
    episodes = FrozenEpisodes.sample(key, class_sets["test"])
    return episodes, frozen_dataset(episodes, class_sets["test"]), class_sets["test"]


def _model(name, data):
    model = methods.get(name)(filters=8)
    model.compile(optimizer=training.make_optimizer({"name": "adam", "learning_rate": 1e-3}))
    training.build(model, data)
    return model


@pytest.mark.parametrize("name", ["protonet", "relation"])
def test_batched_and_by_image_evaluation_agree_with_one_episode_per_step(name, test_episodes):
    episodes, data, class_set = test_episodes
    labels = episodes.query_labels()
    model = _model(name, data)
    model.episodes_per_step = 1
    alone = evaluation.evaluate(model, data, labels, 0)
    model.episodes_per_step = 5  # 12 episodes: batches of 5, 5 and 2
    batched = evaluation.evaluate(model, data, labels, 0)
    np.testing.assert_allclose(batched.logits, alone.logits, rtol=1e-4, atol=1e-5)
    assert batched.per_episode == alone.per_episode
    if model.embeds_images:
        by_image = evaluation.evaluate(model, data, labels, 0, episodes, class_set)
        np.testing.assert_allclose(by_image.logits, alone.logits, rtol=1e-4, atol=1e-5)
        assert by_image.per_episode == alone.per_episode

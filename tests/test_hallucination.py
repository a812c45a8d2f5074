"""Hallucinated support examples (Wang et al. 2018) on Prototypical Networks."""

from __future__ import annotations

import numpy as np
import pytest

from tfmeta.methods.hallucination import (
    HallucinatingPrototypicalNetwork,
    Hallucinator,
    NoiseAugmentedPrototypicalNetwork,
)
from tfmeta.methods.protonet import PrototypicalNetwork


@pytest.fixture
def episode(class_sets):
    images = class_sets["test"].images[:5, :4].astype(np.float32) / 255  # 5-way 1-shot, 3 queries
    query = images[:, 1:].reshape(15, 28, 28, 1)
    return {"support_images": images[:, :1], "query_images": query}


def test_hallucinations_depend_on_the_noise():
    generator = Hallucinator(noise_dim=8, hidden=16)
    seeds = np.ones((4, 6), dtype=np.float32)
    generator.build(seeds.shape)
    generator.gate.assign(1.0)
    rng = np.random.default_rng(1)
    first = np.asarray(generator(seeds, rng.normal(size=(4, 8)).astype(np.float32)))
    second = np.asarray(generator(seeds, rng.normal(size=(4, 8)).astype(np.float32)))
    assert first.shape == (4, 6)
    assert not np.allclose(first, second)


def test_untrained_generator_copies_its_seed():
    generator = Hallucinator(noise_dim=8)
    seeds = np.arange(12, dtype=np.float32).reshape(2, 6)
    out = generator(seeds, np.random.default_rng(0).normal(size=(2, 8)).astype(np.float32))
    np.testing.assert_allclose(np.asarray(out), seeds)


def test_m_zero_is_exactly_protonet(episode):
    plain, hallucinating = PrototypicalNetwork(), HallucinatingPrototypicalNetwork(m=0)
    plain(episode), hallucinating(episode)
    hallucinating.encoder.set_weights(plain.encoder.get_weights())
    np.testing.assert_array_equal(np.asarray(hallucinating(episode)), np.asarray(plain(episode)))


def test_hallucinated_examples_join_each_class(episode):
    model = HallucinatingPrototypicalNetwork(m=3)
    model(episode)
    support = np.random.default_rng(0).normal(size=(5, 2, 64)).astype(np.float32)
    assert tuple(model.augment_support(support).shape) == (5, 5, 64)


def test_noise_baseline_has_no_generator_and_varies(episode):
    model = NoiseAugmentedPrototypicalNetwork(m=4)
    assert model.hallucinator is None and model.get_config()["augmentation"] == "feature_noise"
    first, second = np.asarray(model(episode)), np.asarray(model(episode))
    assert not np.allclose(first, second)


def test_unknown_augmentation_lists_valid_ones():
    with pytest.raises(ValueError, match="valid: generator, feature_noise"):
        HallucinatingPrototypicalNetwork(augmentation="gan")


def test_analysis_reports_accuracy_against_m_and_a_projection(class_sets):
    from tfmeta.core.episode_index import EpisodeKey
    from tfmeta.data.episodes import FrozenEpisodes
    from tfmeta.data.pipelines import frozen_dataset

    episodes = FrozenEpisodes.sample(
        EpisodeKey("omniglot", "vinyals", "test", 5, 1, 3, 4, 0), class_sets["test"]
    )
    model = HallucinatingPrototypicalNetwork(m=2)
    model.compile(optimizer="adam", **model.compile_arguments())
    data = frozen_dataset(episodes, class_sets["test"])
    model(next(iter(data))[0])  # an untrained G copies its seeds: every m gives ProtoNet's accuracy
    analysis = model.analyse(data, episodes.query_labels())
    accuracies = {row["m"]: row["accuracy"] for row in analysis["accuracy_vs_m"]}
    assert sorted(accuracies) == [0, 1, 2, 5, 10, 20] and len(set(accuracies.values())) == 1
    assert analysis["trained_m"] == 2 and model.m == 2
    kinds = [point["kind"] for point in analysis["projection"]]
    assert kinds.count("support") == 5 and kinds.count("hallucinated") == 10 and kinds.count("query") == 15


def test_an_evaluation_draws_the_same_noise_whatever_drew_before(class_sets):
    """Each `predict` restarts the test-time noise from the seed, so a re-evaluation of the same weights
    (`tfmeta verify`, or a run that reuses a finished training) reproduces the first one episode by episode
    although training and earlier evaluations advanced the generator."""
    from tfmeta.core.episode_index import EpisodeKey
    from tfmeta.data.episodes import FrozenEpisodes
    from tfmeta.data.pipelines import frozen_dataset

    episodes = FrozenEpisodes.sample(
        EpisodeKey("omniglot", "vinyals", "test", 5, 1, 3, 4, 0), class_sets["test"]
    )
    data = frozen_dataset(episodes, class_sets["test"])
    model = HallucinatingPrototypicalNetwork(m=5, seed=3)
    episode = next(iter(data))[0]
    model(episode)
    model.hallucinator.gate.assign(1.0)  # G's output now depends on its noise
    first = model.predict(data, verbose=0)
    assert not np.allclose(np.asarray(model(episode)), np.asarray(model(episode)))  # draws advance it
    np.testing.assert_array_equal(model.predict(data, verbose=0), first)

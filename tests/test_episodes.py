"""Episode sampling and frozen test episodes."""

from __future__ import annotations

import numpy as np
import pytest

from tfmeta.core.episode_index import EpisodeKey
from tfmeta.data.episodes import FrozenEpisodes, frozen_episodes, materialize, sample_indices
from tfmeta.data.pipelines import frozen_dataset, training_dataset

KEY = EpisodeKey("omniglot", "vinyals", "test", way=5, shot=2, query=3, count=30, seed=7)


def test_frozen_episodes_are_a_pure_function_of_their_key(class_sets):
    first = FrozenEpisodes.sample(KEY, class_sets["test"])
    second = FrozenEpisodes.sample(KEY, class_sets["test"])
    assert first.hash == second.hash
    np.testing.assert_array_equal(first.classes, second.classes)
    other_seed = FrozenEpisodes.sample(EpisodeKey(**{**KEY.__dict__, "seed": 8}), class_sets["test"])
    assert other_seed.hash != first.hash


def test_hash_covers_indices_and_class_list(class_sets):
    episodes = FrozenEpisodes.sample(KEY, class_sets["test"])
    changed = episodes.examples.copy()
    changed[0, 0, [0, 1]] = changed[0, 0, [1, 0]]
    assert (
        FrozenEpisodes(KEY, episodes.class_fingerprint, episodes.classes, changed, episodes.orders).hash
        != episodes.hash
    )
    assert (
        FrozenEpisodes(KEY, "another list", episodes.classes, episodes.examples, episodes.orders).hash
        != episodes.hash
    )


def test_index_file_round_trip_and_tamper_detection(class_sets, tmp_path):
    saved = frozen_episodes(KEY, class_sets["test"], tmp_path)
    loaded = frozen_episodes(KEY, class_sets["test"], tmp_path)
    assert loaded.hash == saved.hash
    path = tmp_path / KEY.filename
    with np.load(path) as data:
        arrays = dict(data)
    arrays["classes"][0, 0] += 1
    np.savez_compressed(path, **arrays)
    with pytest.raises(ValueError, match="is corrupt"):
        FrozenEpisodes.load(path)


def test_index_file_for_another_class_list_is_refused(class_sets, tmp_path):
    frozen_episodes(KEY, class_sets["test"], tmp_path)
    with pytest.raises(ValueError, match="another class list"):
        frozen_episodes(KEY, class_sets["val"], tmp_path)


def test_episode_contents_match_their_labels(class_sets):
    test = class_sets["test"]
    episodes = FrozenEpisodes.sample(KEY, test)
    for index in range(3):
        episode, labels = episodes.episode(test, index)
        assert episode["support_images"].shape == (5, 2, 28, 28, 1)
        assert episode["query_images"].shape == (15, 28, 28, 1)
        assert sorted(np.bincount(labels)) == [3] * 5
        classes, examples = episodes.classes[index], episodes.examples[index]
        assert len(set(examples[0])) == 5  # support and query drawn without overlap
        for query_image, label in zip(episode["query_images"], labels, strict=True):
            pool = test.images[classes[label]].astype(np.float32) / 255
            assert any(np.array_equal(query_image, image) for image in pool[examples[label, 2:]])
        np.testing.assert_array_equal(episodes.query_labels()[index], labels)


def test_training_stream_is_seeded(class_sets):
    def first_labels(seed):
        return [
            labels.numpy().tolist()
            for _, labels in training_dataset(class_sets["train"], 5, 1, 2, seed).take(3)
        ]

    assert first_labels(3) == first_labels(3)
    assert first_labels(3) != first_labels(4)


def test_too_many_ways_is_a_clear_error(class_sets):
    key = EpisodeKey("omniglot", "vinyals", "val", way=700, shot=1, query=1, count=1, seed=0)
    with pytest.raises(ValueError, match="700-way episodes need 700 classes; this class set has 688"):
        FrozenEpisodes.sample(key, class_sets["val"])


def test_pipelines_give_the_numpy_episodes_bit_for_bit(class_sets):
    """The in-graph gather of the tf.data pipelines is the same episode stream as NumPy's materialize."""
    train = class_sets["train"]
    rng = np.random.default_rng([11, 0])
    expected = [
        materialize(train, *sample_indices(rng, *train.images.shape[:2], 5, 2, 3), 2) for _ in range(4)
    ]
    for (episode, labels), (want, want_labels) in zip(
        training_dataset(train, 5, 2, 3, seed=[11, 0]).take(4), expected, strict=True
    ):
        np.testing.assert_array_equal(episode["support_images"].numpy(), want["support_images"])
        np.testing.assert_array_equal(episode["query_images"].numpy(), want["query_images"])
        np.testing.assert_array_equal(labels.numpy(), want_labels)

    key = EpisodeKey("omniglot", "vinyals", "test", way=5, shot=1, query=2, count=3, seed=5)
    frozen = FrozenEpisodes.sample(key, class_sets["test"])
    for index, (episode, labels) in enumerate(frozen_dataset(frozen, class_sets["test"])):
        want, want_labels = frozen.episode(class_sets["test"], index)
        np.testing.assert_array_equal(episode["query_images"].numpy(), want["query_images"])
        np.testing.assert_array_equal(episode["support_images"].numpy(), want["support_images"])
        np.testing.assert_array_equal(labels.numpy(), want_labels)

"""Prototypical Networks' defining computation on tiny inputs."""

from __future__ import annotations

import numpy as np

from tfmeta.methods.protonet import PrototypicalNetwork, squared_distances


def test_squared_distances():
    queries = np.array([[0.0, 0.0], [1.0, 2.0]], dtype=np.float32)
    prototypes = np.array([[1.0, 0.0], [1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    expected = [[1.0, 5.0, 25.0], [4.0, 0.0, 8.0]]
    np.testing.assert_allclose(np.asarray(squared_distances(queries, prototypes)), expected)


def test_logits_are_negative_distances_to_class_means(class_sets):
    images = class_sets["test"].images[:3, :4].astype(np.float32) / 255  # 3 classes, 4 examples
    episode = {"support_images": images[:, :3], "query_images": images[:, 3]}
    model = PrototypicalNetwork()
    logits = np.asarray(model(episode))
    features = np.asarray(model.encoder(images.reshape(12, 28, 28, 1))).reshape(3, 4, -1)
    prototypes = features[:, :3].mean(axis=1)
    expected = -((features[:, 3][:, None] - prototypes[None]) ** 2).sum(-1)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-3)


def test_query_identical_to_a_one_shot_support_image_gets_its_class(class_sets):
    images = class_sets["test"].images[:5, :1].astype(np.float32) / 255  # 5-way 1-shot
    episode = {"support_images": images, "query_images": images[[3, 0, 4], 0]}
    logits = np.asarray(PrototypicalNetwork()(episode))
    assert logits.argmax(axis=1).tolist() == [3, 0, 4]
    np.testing.assert_allclose(logits.max(axis=1), 0.0, atol=1e-3)


def test_config_round_trip():
    model = PrototypicalNetwork(filters=32)
    clone = PrototypicalNetwork.from_config(model.get_config())
    assert clone.filters == 32 and clone.backbone_name == "conv4"

"""The defining computations of the Siamese, Matching and Relation networks on tiny inputs."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tfmeta.methods import losses
from tfmeta.methods.matching import MatchingNetwork, MatchingNetworkFCE
from tfmeta.methods.relation import OneHotMeanSquaredError, RelationNetwork
from tfmeta.methods.siamese import SiameseNetwork


def _episode(class_sets, way=5, shot=1, queries=(3, 0, 4)):
    """Support from the first `way` test classes; queries are copies of the first support image of
    the classes listed in `queries`."""
    images = class_sets["test"].images[:way, :shot].astype(np.float32) / 255
    return {"support_images": images, "query_images": images[list(queries), 0]}, list(queries)


@pytest.mark.parametrize(
    "model",
    [
        SiameseNetwork(),
        SiameseNetwork(loss="arcface"),
        MatchingNetwork(),
        MatchingNetworkFCE(),
    ],
    ids=["siamese_bce", "siamese_cosine", "matching", "matching_fce"],
)
def test_query_identical_to_a_support_image_gets_its_class(class_sets, model):
    episode, labels = _episode(class_sets)
    logits = np.asarray(model(episode))
    assert logits.shape == (3, 5)
    if isinstance(model, MatchingNetworkFCE):
        return  # the attention LSTM moves query embeddings: no identity guarantee before training
    assert logits.argmax(axis=1).tolist() == labels


def test_siamese_scores_average_the_pair_scores_over_shots(class_sets):
    episode, _ = _episode(class_sets, way=3, shot=2, queries=(0, 1))
    model = SiameseNetwork()
    scores = np.asarray(model(episode))
    images = np.concatenate([episode["support_images"].reshape(6, 28, 28, 1), episode["query_images"]])
    features = model.encoder(images)
    pairs = np.asarray(model.pair_scores(features[6:], features[:6])).reshape(2, 3, 2)
    np.testing.assert_allclose(scores, pairs.mean(axis=-1), rtol=1e-5, atol=1e-5)
    l1 = np.abs(np.asarray(features[6:])[:, None] - np.asarray(features[:6])[None]).sum(-1)
    np.testing.assert_allclose(pairs.reshape(2, 6), -0.1 * l1, rtol=1e-4, atol=1e-4)  # initial head


def test_siamese_config_round_trip_and_bad_loss():
    model = SiameseNetwork(loss="triplet", margin=0.3)
    clone = SiameseNetwork.from_config(model.get_config())
    assert (clone.loss_name, clone.margin, clone.pair_head) == ("triplet", 0.3, None)
    with pytest.raises(ValueError, match="valid losses: bce, contrastive"):
        SiameseNetwork(loss="hinge")


LABELS = np.array([0, 1, 2])
GOOD = np.array([[0.9, 0.1, 0.0], [0.0, 0.8, 0.2], [0.1, 0.0, 0.95]], dtype=np.float32)  # cosines


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_every_loss_prefers_correct_scores(name):
    loss = losses.get(name)
    good, bad = float(loss(LABELS, GOOD)), float(loss(LABELS, GOOD[:, ::-1].copy()))
    assert 0.0 <= good < bad


def test_pair_bce_weighs_same_and_different_pairs_equally():
    logits = np.array([[2.0, -1.0, 0.5]], dtype=np.float32)
    softplus = np.log1p(np.exp(-np.abs(logits))) + np.maximum(logits, 0)  # -log(1 - sigmoid)
    positive = softplus[0, 0] - logits[0, 0]  # -log(sigmoid(2))
    expected = 0.5 * (positive + softplus[0, 1:].mean())
    np.testing.assert_allclose(float(losses.PairBinaryCrossentropy()([0], logits)), expected, rtol=1e-5)


def test_margins_vanish_when_satisfied_and_reduce_to_softmax_at_zero():
    separated = np.array([[1.0, -1.0, -1.0]], dtype=np.float32)
    assert float(losses.TripletLoss(margin=0.2)([0], separated)) == 0.0
    assert float(losses.ContrastiveLoss(margin=1.0)([0], separated)) < 1e-5
    cosines = np.array([[0.3, 0.5, -0.2]], dtype=np.float32)
    plain = keras.losses.categorical_crossentropy(np.eye(3)[[0]], 10 * cosines, from_logits=True)
    for loss in (losses.AMSoftmaxLoss(margin=0.0, scale=10), losses.ArcFaceLoss(0.0, 10)):
        np.testing.assert_allclose(float(loss([0], cosines)), float(plain[0]), rtol=1e-4)
    # A margin makes the same scores cost more.
    assert float(losses.AMSoftmaxLoss(0.35, 10)([0], cosines)) > float(plain[0])
    assert float(losses.ArcFaceLoss(0.5, 10)([0], cosines)) > float(plain[0])


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_matching_attention_sums_to_one_over_the_support_set(scale):
    rng = np.random.default_rng(0)
    queries, support = rng.normal(size=(4, 8)), rng.normal(size=(6, 8))
    attention = MatchingNetwork.attention(queries.astype("float32"), support.astype("float32"), scale)
    attention = np.asarray(attention)
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, rtol=1e-5)
    cosine = (
        scale
        * (queries / np.linalg.norm(queries, axis=1, keepdims=True))
        @ (support / np.linalg.norm(support, axis=1, keepdims=True)).T
    )
    np.testing.assert_allclose(attention, np.exp(cosine) / np.exp(cosine).sum(1, keepdims=True), rtol=1e-4)


@pytest.mark.parametrize("model", [MatchingNetwork(), MatchingNetworkFCE(processing_steps=2)])
def test_matching_probabilities_sum_attention_over_each_class(class_sets, model):
    episode, _ = _episode(class_sets, way=4, shot=3, queries=(0, 1, 2, 3, 1))
    probabilities = np.exp(np.asarray(model(episode)))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)


def test_matching_config_records_the_variant():
    assert MatchingNetwork().get_config()["fce"] is False
    config = MatchingNetworkFCE(processing_steps=3).get_config()
    assert config["fce"] is True and config["processing_steps"] == 3
    assert MatchingNetwork.from_config(config).fce is True
    assert MatchingNetwork.from_config(MatchingNetwork(scale=10.0).get_config()).scale == 10.0


def test_relation_scores_lie_in_unit_interval_and_average_shots(class_sets):
    episode, _ = _episode(class_sets, way=4, shot=2, queries=(0, 3, 1))
    model = RelationNetwork()
    scores = np.asarray(model(episode))
    assert scores.shape == (3, 4) and np.all((scores >= 0) & (scores <= 1))
    maps = model.embedding(episode["support_images"].reshape(8, 28, 28, 1))
    assert maps.shape == (8, 5, 5, 64)  # 28 -> 26 -> 13 -> 11 -> 5 -> 5 -> 5
    class_maps = np.asarray(maps).reshape(4, 2, 5, 5, 64).mean(axis=1)
    query_maps = model.embedding(episode["query_images"])
    np.testing.assert_allclose(scores, np.asarray(model.relation_scores(query_maps, class_maps)), atol=1e-5)


def test_relation_first_convolution_equals_one_over_concatenated_maps():
    """conv_q(q) + conv_s(s) is the paper's convolution over the channel concatenation [s, q]."""
    model = RelationNetwork(filters=4)
    rng = np.random.default_rng(1)
    queries, classes = rng.normal(size=(2, 5, 5, 4)), rng.normal(size=(3, 5, 5, 4))
    model.relation_scores(queries.astype("float32"), classes.astype("float32"))  # builds the layers
    joint = keras.layers.Conv2D(4, 3, padding="same")
    pairs = np.concatenate(
        [np.broadcast_to(classes[None], (2, 3, 5, 5, 4)), np.broadcast_to(queries[:, None], (2, 3, 5, 5, 4))],
        -1,
    ).reshape(6, 5, 5, 8)
    joint.build(pairs.shape)
    kernel = np.concatenate([model.conv_class.kernel.numpy(), model.conv_query.kernel.numpy()], axis=2)
    joint.set_weights([kernel, model.conv_class.bias.numpy()])
    summed = np.asarray(model.conv_query(queries)[:, None] + model.conv_class(classes)[None]).reshape(
        6, 5, 5, 4
    )
    np.testing.assert_allclose(summed, np.asarray(joint(pairs)), rtol=1e-4, atol=1e-4)


def test_relation_loss_is_mean_squared_error_against_one_hot():
    scores = np.array([[0.9, 0.2], [0.4, 0.3]], dtype=np.float32)
    expected = np.mean([[(0.9 - 1) ** 2, 0.2**2], [0.4**2, (0.3 - 1) ** 2]])
    np.testing.assert_allclose(float(OneHotMeanSquaredError()([0, 1], scores)), expected, rtol=1e-5)

"""The losses of tfmeta's methods, in one place.

`cross_entropy` is the inner-loop loss of the optimization-based learners; `OneHotMeanSquaredError` is the
relation score's loss of Relation Networks (Sung et al. 2018). The rest are losses on query-to-class
similarity scores, for metric learners trained episode by episode (the Siamese network's choices).

Every score loss takes the episode's query labels and a score matrix and returns one loss per query:

    y_true: [queries], labels in 0..way-1 (any dtype; Keras casts them to float);
    y_pred: [queries, way], a similarity of each query to each class (higher = more alike).

For `PairBinaryCrossentropy` the scores are logits of "same class"; for the others they are cosine
similarities in [-1, 1], from which the Euclidean distance between unit vectors is sqrt(2 - 2 cos).
Each (query, class) entry is one same/different pair: the column of the query's label is the "same" pair,
the other columns are "different" pairs.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import ops

_EPSILON = 1e-6


def cross_entropy(logits, labels) -> tf.Tensor:
    """Mean sparse softmax cross-entropy."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


@keras.saving.register_keras_serializable(package="tfmeta")
class OneHotMeanSquaredError(keras.losses.Loss):
    """Mean-squared error between scores [Q, way] and the one-hot encoding of sparse labels [Q]."""

    def __init__(self, name: str = "one_hot_mse", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        targets = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return ops.mean(ops.square(y_pred - targets), axis=-1)


def _targets(y_true, y_pred):
    """One-hot float targets [queries, way] for sparse labels."""
    return ops.one_hot(
        ops.cast(ops.reshape(y_true, (-1,)), "int32"), ops.shape(y_pred)[-1], dtype=y_pred.dtype
    )


def _balanced(positive_terms, negative_terms, targets):
    """Per-query mean of the positive-pair term plus the mean of the negative-pair terms, halved."""
    negatives = ops.sum((1.0 - targets) * negative_terms, axis=-1) / ops.maximum(
        ops.sum(1.0 - targets, axis=-1), 1.0
    )
    positives = ops.sum(targets * positive_terms, axis=-1)
    return 0.5 * (positives + negatives)


def _squared_distance(cosine):
    """Squared Euclidean distance between unit vectors with cosine similarity `cosine`."""
    return ops.maximum(2.0 - 2.0 * cosine, 0.0)


class _ScoreLoss(keras.losses.Loss):
    """Shared constructor and config of the losses below."""

    def __init__(self, margin: float, scale: float = 1.0, name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = margin
        self.scale = scale

    def get_config(self):
        return {**super().get_config(), "margin": self.margin, "scale": self.scale}


@keras.saving.register_keras_serializable(package="tfmeta")
class PairBinaryCrossentropy(_ScoreLoss):
    """Binary cross-entropy on same/different pairs, as in Koch et al. 2015.

    Same and different pairs are weighted equally (the paper sampled them balanced), so a 20-way episode
    does not train mostly on "different".

    Args:
        margin: unused; kept so every loss shares one signature. Defaults to 0.
    """

    def __init__(self, margin: float = 0.0, scale: float = 1.0, name: str = "pair_bce", **kwargs):
        super().__init__(margin, scale, name=name, **kwargs)

    def call(self, y_true, y_pred):
        targets = _targets(y_true, y_pred)
        # -log sigmoid(x) = softplus(-x), -log(1 - sigmoid(x)) = softplus(x): stable for large logits.
        return _balanced(ops.softplus(-y_pred), ops.softplus(y_pred), targets)


@keras.saving.register_keras_serializable(package="tfmeta")
class ContrastiveLoss(_ScoreLoss):
    """Contrastive loss (Hadsell, Chopra & LeCun 2006): d^2 for same pairs, max(0, margin - d)^2 otherwise.

    Args:
        margin: distance beyond which different pairs cost nothing; unit vectors are at most 2 apart.
            Defaults to 1.0.
    """

    def __init__(self, margin: float = 1.0, scale: float = 1.0, name: str = "contrastive", **kwargs):
        super().__init__(margin, scale, name=name, **kwargs)

    def call(self, y_true, y_pred):
        squared = _squared_distance(y_pred)
        distance = ops.sqrt(squared + _EPSILON)
        return _balanced(squared, ops.square(ops.relu(self.margin - distance)), _targets(y_true, y_pred))


@keras.saving.register_keras_serializable(package="tfmeta")
class TripletLoss(_ScoreLoss):
    """Triplet loss (Schroff et al. 2015, FaceNet): max(0, d(a, p)^2 - d(a, n)^2 + margin).

    Each query is an anchor, its class's support is the positive, and every other class gives a
    negative; the loss averages over all those triplets.

    Args:
        margin: required gap between squared distances. Defaults to 0.2 (FaceNet).
    """

    def __init__(self, margin: float = 0.2, scale: float = 1.0, name: str = "triplet", **kwargs):
        super().__init__(margin, scale, name=name, **kwargs)

    def call(self, y_true, y_pred):
        targets = _targets(y_true, y_pred)
        squared = _squared_distance(y_pred)
        positive = ops.sum(targets * squared, axis=-1, keepdims=True)
        violations = ops.relu(positive - squared + self.margin) * (1.0 - targets)
        return ops.sum(violations, axis=-1) / ops.maximum(ops.sum(1.0 - targets, axis=-1), 1.0)


@keras.saving.register_keras_serializable(package="tfmeta")
class AMSoftmaxLoss(_ScoreLoss):
    """Additive-margin softmax (Wang et al. 2018, https://arxiv.org/abs/1801.05599).

    Cross-entropy over `scale * (cos - margin * onehot)`: the true class must win by a cosine margin.

    Args:
        margin: cosine margin. Defaults to 0.35 (the paper).
        scale: logit scale. Defaults to 30 (the paper).
    """

    def __init__(self, margin: float = 0.35, scale: float = 30.0, name: str = "am_softmax", **kwargs):
        super().__init__(margin, scale, name=name, **kwargs)

    def call(self, y_true, y_pred):
        targets = _targets(y_true, y_pred)
        logits = self.scale * (y_pred - self.margin * targets)
        return keras.losses.categorical_crossentropy(targets, logits, from_logits=True)


@keras.saving.register_keras_serializable(package="tfmeta")
class ArcFaceLoss(_ScoreLoss):
    """Additive angular margin (Deng et al. 2019, ArcFace, https://arxiv.org/abs/1801.07698).

    Cross-entropy over `scale * cos(theta + margin)` for the true class and `scale * cos(theta)` for the
    others. Where `theta + margin` would pass pi the target logit continues linearly, as in the paper's
    code, so that the margin never rewards a worse angle.

    Args:
        margin: angular margin in radians. Defaults to 0.5 (the paper).
        scale: logit scale. Defaults to 64 (the paper).
    """

    def __init__(self, margin: float = 0.5, scale: float = 64.0, name: str = "arcface", **kwargs):
        super().__init__(margin, scale, name=name, **kwargs)

    def call(self, y_true, y_pred):
        targets = _targets(y_true, y_pred)
        cosine = ops.clip(y_pred, -1.0 + _EPSILON, 1.0 - _EPSILON)
        sine = ops.sqrt(1.0 - ops.square(cosine))
        shifted = cosine * math.cos(self.margin) - sine * math.sin(self.margin)
        fallback = cosine - math.sin(math.pi - self.margin) * self.margin
        target_logit = ops.where(cosine > math.cos(math.pi - self.margin), shifted, fallback)
        logits = self.scale * (targets * target_logit + (1.0 - targets) * cosine)
        return keras.losses.categorical_crossentropy(targets, logits, from_logits=True)


LOSSES = {
    "bce": PairBinaryCrossentropy,
    "contrastive": ContrastiveLoss,
    "triplet": TripletLoss,
    "am_softmax": AMSoftmaxLoss,
    "arcface": ArcFaceLoss,
}


def get(name: str, margin: float | None = None, scale: float | None = None) -> keras.losses.Loss:
    """The loss called `name`, with the paper's margin and scale unless given.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid losses: {', '.join(LOSSES)}")
    overrides = {k: v for k, v in (("margin", margin), ("scale", scale)) if v is not None}
    return LOSSES[name](**overrides)

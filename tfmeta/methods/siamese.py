"""Siamese networks for one-shot recognition."""

from __future__ import annotations

import keras
from keras import ops

from tfmeta.backbones import BACKBONES, koch_net
from tfmeta.methods import losses
from tfmeta.methods.base import EmbeddingMethod


@keras.saving.register_keras_serializable(package="tfmeta")
class SiameseNetwork(EmbeddingMethod):
    """Siamese networks (Koch, Zemel & Salakhutdinov 2015, https://www.cs.cmu.edu/~rsalakhu/papers/oneshot1.pdf).

    Twin encoders with shared weights embed both images of a pair; the pair is scored for "same class".
    An N-way K-shot query goes to the class whose support images score highest (mean over the K shots;
    the paper's one-shot case has K = 1). Every (query, support class) entry of an episode is one
    same/different pair, so the harness's episodes double as batches of balanced pairs.

    Scores depend on `loss`:
        "bce" (the paper): logit = w . |f(x1) - f(x2)| + b, a learned weighted L1 distance (w starts at
            -0.1 everywhere), trained with binary cross-entropy;
        "contrastive", "triplet", "am_softmax", "arcface": the cosine similarity of the two embeddings,
            trained with that loss from `tfmeta.methods.losses`.

    Shapes: support [way, shot, H, W, C], query [Q, H, W, C] -> scores [Q, way].

    Args:
        backbone: "conv4" (the few-shot standard) or "koch" (the paper's deeper net, see `koch_net`).
            Defaults to "conv4".
        filters: width of the backbone. Defaults to 64.
        loss: one of `losses.LOSSES`. Defaults to "bce".
        margin: the loss's margin; None takes the loss's published default. Defaults to None.
        scale: the loss's logit scale (AM-Softmax, ArcFace); None takes the published default.
            Defaults to None.
    """

    paper = (
        "Koch et al. 2015, Siamese Neural Networks for One-shot Image Recognition, "
        "https://www.cs.cmu.edu/~rsalakhu/papers/oneshot1.pdf"
    )
    scores_pairs = True  # each score is a same/different pair score: the harness adds verification AUC/EER

    def __init__(
        self,
        backbone: str = "conv4",
        filters: int = 64,
        loss: str = "bce",
        margin: float | None = None,
        scale: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        encoders = {**BACKBONES, "koch": koch_net}
        if backbone not in encoders:
            raise ValueError(f"unknown backbone {backbone!r}; valid backbones: {', '.join(encoders)}")
        self.loss_function = losses.get(loss, margin, scale)  # validates the name
        self.backbone_name, self.filters = backbone, filters
        self.loss_name, self.margin, self.scale = loss, margin, scale
        self.encoder = encoders[backbone](filters)
        # Starting from a negative L1 distance, an identical pair already scores highest before training.
        self.pair_head = None
        if loss == "bce":
            self.pair_head = keras.layers.Dense(
                1, kernel_initializer=keras.initializers.Constant(-0.1), name="pair_head"
            )

    def classify(self, support_features, query_features):
        way, shot = int(support_features.shape[0]), int(support_features.shape[1])
        scores = self.pair_scores(query_features, ops.reshape(support_features, (way * shot, -1)))
        return ops.mean(ops.reshape(scores, (-1, way, shot)), axis=-1)  # [Q, way]

    def pair_scores(self, first, second):
        """Scores [n, m] of every pair of rows of `first` [n, D] and `second` [m, D]."""
        if self.pair_head is not None:
            distances = ops.abs(first[:, None, :] - second[None, :, :])  # [n, m, D]
            return ops.squeeze(self.pair_head(distances), axis=-1)
        return ops.matmul(_unit(first), ops.transpose(_unit(second)))

    def compile_arguments(self) -> dict:
        return {
            "loss": self.loss_function,
            "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        }

    def get_config(self):
        return {
            **super().get_config(),
            "backbone": self.backbone_name,
            "filters": self.filters,
            "loss": self.loss_name,
            "margin": self.margin,
            "scale": self.scale,
        }


def _unit(x):
    return x / (ops.norm(x, axis=-1, keepdims=True) + 1e-8)

"""Prototypical Networks."""

from __future__ import annotations

import keras
from keras import ops

from tfmeta.backbones import BACKBONES
from tfmeta.methods.base import EmbeddingMethod


@keras.saving.register_keras_serializable(package="tfmeta")
class PrototypicalNetwork(EmbeddingMethod):
    """Prototypical Networks (Snell, Swersky & Zemel 2017, https://arxiv.org/abs/1703.05175).

    Each class is represented by its prototype, the mean embedding of its support examples; a query is
    classified by a softmax over its negative squared Euclidean distances to the prototypes.

    Args:
        backbone: name of the embedding network in `tfmeta.backbones.BACKBONES`. Defaults to "conv4".
        filters: channels of the backbone's convolutions. Defaults to 64.
    """

    paper = "Snell et al. 2017, Prototypical Networks for Few-shot Learning, https://arxiv.org/abs/1703.05175"

    def __init__(self, backbone: str = "conv4", filters: int = 64, **kwargs):
        super().__init__(**kwargs)
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; valid backbones: {', '.join(BACKBONES)}")
        self.backbone_name = backbone
        self.filters = filters
        self.encoder = BACKBONES[backbone](filters)

    def classify(self, support_features, query_features):
        prototypes = ops.mean(self.augment_support(support_features), axis=1)
        return -squared_distances(query_features, prototypes)

    def augment_support(self, support_features):
        """Hook for variants that add support examples in feature space: [way, n, d] -> [way, n', d]."""
        return support_features

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone_name, "filters": self.filters}


def squared_distances(queries, prototypes):
    """Squared Euclidean distances [n_queries, n_prototypes] between two sets of row vectors."""
    return ops.sum(ops.square(queries[:, None, :] - prototypes[None, :, :]), axis=-1)

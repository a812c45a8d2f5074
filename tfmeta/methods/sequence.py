"""The black-box (in-context) family's common part: a network that reads the labelled support set as an
input sequence and answers each query from it, with no distance or gradient step built in.

Santoro et al. 2016 (Meta-Learning with Memory-Augmented Neural Networks, ICML) posed few-shot learning
this way: training data with their labels and a test item go in, the test item's label comes out, and
learning and prediction are one forward pass. SNAIL (`tfmeta.methods.snail`) and the Transformer
in-context learner (`tfmeta.methods.transformer`) are the two members here.

Each image is embedded by Conv-4 alone (test-time batch norm uses its moving statistics), so at test time
the harness may embed every distinct image once (`embeds_images`) and run the sequence model per episode
(`classify`), which it does under `tf.vectorized_map`. A support item's label enters the sequence as a
vector `way` wide, so a model reads episodes of the way it was built with and no other: it is trained
per way.
"""

from __future__ import annotations

from tfmeta.backbones import BACKBONES
from tfmeta.methods.base import EmbeddingMethod


class SequenceMethod(EmbeddingMethod):
    """Base class of the in-context learners: Conv-4 features of the episode's images, then `read`, the
    sequence model, maps support features `[way, shot, d]` (the first index is the label) and query
    features `[n, d]` to query logits `[n, way]`. Each query is answered from the support set and itself
    alone, never from another query.

    Args:
        way: classes per episode, the width of the label inputs and of the logits. Defaults to 5.
        backbone: name of the embedding network in `tfmeta.backbones.BACKBONES`. Defaults to "conv4".
        filters: channels of the backbone's convolutions. Defaults to 64.
    """

    in_context = True

    def __init__(self, way: int = 5, backbone: str = "conv4", filters: int = 64, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(way, int) or way < 2:
            raise ValueError(f"way must be a number of classes, 2 or more, got {way!r}")
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; valid backbones: {', '.join(BACKBONES)}")
        self.way, self.backbone_name, self.filters = way, backbone, filters
        self.encoder = BACKBONES[backbone](filters)

    def call(self, episode, training=False):
        support, queries = self.embed_episode(episode, training)
        return self.read(support, queries, training=training)

    def classify(self, support_features, query_features):
        return self.read(support_features, query_features)

    def read(self, support, queries, training=False):
        """Query logits `[n, way]` from support features `[way, shot, d]` and query features `[n, d]`."""
        raise NotImplementedError(f"{type(self).__name__} must implement read(support, queries, training)")

    def check_way(self, way: int) -> None:
        if way != self.way:
            raise ValueError(
                f"{type(self).__name__} was built with way={self.way} (its label inputs and logits are "
                f"{self.way} wide) but the episode is {way}-way; train one with way={way} on {way}-way "
                "episodes"
            )

    def get_config(self):
        return {
            **super().get_config(),
            "way": self.way,
            "backbone": self.backbone_name,
            "filters": self.filters,
        }

"""A cosine nearest-neighbour few-shot learner: the worked example of docs/submitting.md.

It lives outside the tfmeta package, as your own method would, and runs through the same harness as the
built-in ones:

    PYTHONPATH=docs/examples tfmeta run omniglot --method cosine_nn:CosineNearestNeighbour --profile smoke
"""

from __future__ import annotations

import keras
from keras import ops

from tfmeta.backbones import BACKBONES
from tfmeta.methods.base import FewShotMethod


@keras.saving.register_keras_serializable(package="cosine_nn")
class CosineNearestNeighbour(FewShotMethod):
    """Nearest neighbour by cosine similarity in a learned Conv-4 embedding.

    A query's logit for a class is its highest cosine similarity to any support example of that class,
    times a learned scale (a softmax temperature, as in Gidaris & Komodakis 2018). With one shot this is a
    cosine-similarity Prototypical Network; with more shots it keeps every support example instead of
    averaging them.

    Args:
        backbone: embedding network in `tfmeta.backbones.BACKBONES`. Defaults to "conv4".
        filters: channels of the backbone's convolutions. Defaults to 64.
        scale: initial value of the learned logit scale. Defaults to 10.0.
    """

    paper = (
        "Example method of docs/submitting.md; cosine classifier with a learned scale as in Gidaris & "
        "Komodakis 2018, https://arxiv.org/abs/1804.09458"
    )

    def __init__(self, backbone: str = "conv4", filters: int = 64, scale: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        self.backbone_name, self.filters, self.initial_scale = backbone, filters, scale
        self.encoder = BACKBONES[backbone](filters)
        self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(scale), name="scale")

    def call(self, episode, training=False):
        """Query logits [way * query, way] for one episode (layout in `tfmeta.data.episodes`)."""
        support, query, way, shot = self.split_episode(episode)
        images = ops.concatenate([ops.reshape(support, (way * shot, *support.shape[2:])), query], axis=0)
        features = ops.normalize(self.encoder(images, training=training), axis=-1)
        similarity = ops.matmul(features[way * shot :], ops.transpose(features[: way * shot]))
        nearest = ops.max(ops.reshape(similarity, (-1, way, shot)), axis=-1)
        return self.scale * nearest

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "backbone": self.backbone_name,
            "filters": self.filters,
            "scale": self.initial_scale,
        }

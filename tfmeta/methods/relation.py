"""Relation Networks."""

from __future__ import annotations

import keras
from keras import ops

from tfmeta.backbones import relation_embedding
from tfmeta.methods.base import FewShotMethod
from tfmeta.methods.losses import OneHotMeanSquaredError


@keras.saving.register_keras_serializable(package="tfmeta")
class RelationNetwork(FewShotMethod):
    """Relation Networks (Sung et al. 2018, https://arxiv.org/abs/1711.06025).

    The embedding module maps images to feature maps; each class's map is the mean over its K shots. The
    relation module scores every (query, class) pair from the channel-wise concatenation of their maps:
    two [3x3 conv, batch norm, ReLU, 2x2 max-pool] blocks, a ReLU layer of `hidden` units, and one
    sigmoid unit. Training regresses the scores onto one-hot targets with mean-squared error.

    The first relation convolution is linear in its concatenated input, conv([s, q]) = conv_s(s) +
    conv_q(q), so it is computed once per class and once per query and summed for every pair: the same
    function as the paper's, without a convolution over way x queries concatenated maps.

    The paper sums the K shots' maps, with one model trained per shot. Here one model trained on 1-shot
    episodes serves every test shot, and the mean, identical to the sum at K = 1, keeps K-shot class maps
    at the scale training saw: with the sum, a model trained at 1-shot scored 40.4% on 5-way 5-shot.

    Shapes: support [way, shot, H, W, C], query [Q, H, W, C] -> relation scores [Q, way] in [0, 1]
    (returned as the logits: their argmax is the prediction).

    Args:
        filters: channels of every convolution. Defaults to 64.
        hidden: units of the relation module's hidden layer. Defaults to 8 (the paper, Omniglot).
        batch_norm_momentum: momentum of the batch-norm running statistics used at test time. The
            authors' code keeps only the last training batch's statistics (PyTorch momentum 1, Keras 0);
            0.9 averages the last ten or so, and settles within a smoke run, unlike Keras's 0.99, with
            which test accuracy stays at chance for the first hundred episodes. Defaults to 0.9.
    """

    paper = "Sung et al. 2018, Learning to Compare: Relation Network for Few-Shot Learning, https://arxiv.org/abs/1711.06025"
    embeds_images = True
    scores_pairs = True

    def __init__(self, filters: int = 64, hidden: int = 8, batch_norm_momentum: float = 0.9, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.hidden, self.batch_norm_momentum = filters, hidden, batch_norm_momentum
        self.embedding = relation_embedding(filters, batch_norm_momentum)
        self.conv_class = keras.layers.Conv2D(filters, 3, padding="same", name="relation_conv1_class")
        self.conv_query = keras.layers.Conv2D(
            filters, 3, padding="same", use_bias=False, name="relation_conv1_query"
        )
        self.pair_block = keras.Sequential(
            [
                keras.layers.BatchNormalization(momentum=batch_norm_momentum),
                keras.layers.ReLU(),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(filters, 3, padding="same"),
                keras.layers.BatchNormalization(momentum=batch_norm_momentum),
                keras.layers.ReLU(),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                keras.layers.Dense(hidden, activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ],
            name="relation_module",
        )

    def call(self, episode, training=False):
        support, query, way, shot = self.split_episode(episode)
        images = ops.concatenate([ops.reshape(support, (way * shot, *support.shape[2:])), query], axis=0)
        maps = self.embedding(images, training=training)
        class_maps = ops.mean(ops.reshape(maps[: way * shot], (way, shot, *maps.shape[1:])), axis=1)
        return self.relation_scores(maps[way * shot :], class_maps, training)

    def embed(self, images):
        return self.embedding(images, training=False)

    def classify(self, support_features, query_features):
        return self.relation_scores(query_features, ops.mean(support_features, axis=1))

    def relation_scores(self, query_maps, class_maps, training=False):
        """Scores [Q, way] in [0, 1] from query maps [Q, h, w, c] and class maps [way, h, w, c]."""
        pairs = self.conv_query(query_maps)[:, None] + self.conv_class(class_maps)[None]  # [Q, way, h, w, c]
        n_queries, way = ops.shape(pairs)[0], ops.shape(pairs)[1]
        scores = self.pair_block(ops.reshape(pairs, (-1, *pairs.shape[2:])), training=training)
        return ops.reshape(scores, (n_queries, way))

    def compile_arguments(self) -> dict:
        return {
            "loss": OneHotMeanSquaredError(),
            "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        }

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "hidden": self.hidden,
            "batch_norm_momentum": self.batch_norm_momentum,
        }

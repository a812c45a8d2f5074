"""A Transformer that learns in context: the labelled support set and the queries as one set of tokens."""

from __future__ import annotations

import keras
from keras import ops

from tfmeta.methods.sequence import SequenceMethod


@keras.saving.register_keras_serializable(package="tfmeta")
class TransformerICL(SequenceMethod):
    """A plain Transformer in-context learner over the support set with label tokens: the black-box
    few-shot learner of Santoro et al. 2016 (Meta-Learning with Memory-Augmented Neural Networks, ICML
    2016, https://arxiv.org/abs/1605.06065) in the form in-context learning made common (Kirsch et al.
    2022, General-Purpose In-Context Learning by Meta-Learning Transformers,
    https://arxiv.org/abs/2212.04458; Garg et al. 2022, What Can Transformers Learn In-Context? A Case
    Study of Simple Function Classes, https://arxiv.org/abs/2208.01633).

    Tokens: each image's Conv-4 embedding, projected to `width`, plus a learned label embedding: its
    class's for a support item, a "no label" one (index `way`) for a query. `depth` pre-norm Transformer
    encoder blocks (Keras `MultiHeadAttention` of `heads` heads, layer norm, a GELU feed-forward layer of
    `feedforward` units, residual connections) read them; the query tokens' outputs, layer-normed, go
    through a dense layer to `way` logits.

    The attention mask lets a support token attend to the support tokens, and a query token to the
    support tokens and itself: no query sees another, and all queries of an episode go through one pass.
    There are no position encodings, so the logits do not depend on the order of the support items.

    The label embeddings and the logits are `way` wide, so the model is trained per way; another way is
    refused, naming it.

    Args:
        way: classes per episode. Defaults to 5.
        width: token width. Defaults to 128.
        depth: Transformer blocks. Defaults to 4.
        heads: attention heads per block (`width` must be a multiple). Defaults to 4.
        feedforward: hidden units of each block's feed-forward layer. Defaults to 256.
        filters: channels of the Conv-4 embedding. Defaults to 64.
        backbone: name of the embedding network in `tfmeta.backbones.BACKBONES`. Defaults to "conv4".
    """

    # Keras's MultiHeadAttention crashes the process under `tf.vectorized_map` (a segmentation fault,
    # TensorFlow 2.21), which answers several episodes, or every episode's features, in one step: test
    # episodes are answered one per step, each embedding its own images.
    embeds_images = False
    episodes_per_step = 1
    paper = (
        "Santoro et al. 2016, Meta-Learning with Memory-Augmented Neural Networks, "
        "https://arxiv.org/abs/1605.06065; as a Transformer: Kirsch et al. 2022, General-Purpose "
        "In-Context Learning by Meta-Learning Transformers, https://arxiv.org/abs/2212.04458"
    )

    def __init__(
        self,
        way: int = 5,
        width: int = 128,
        depth: int = 4,
        heads: int = 4,
        feedforward: int = 256,
        filters: int = 64,
        backbone: str = "conv4",
        **kwargs,
    ):
        super().__init__(way=way, backbone=backbone, filters=filters, **kwargs)
        if width % heads:
            raise ValueError(f"width ({width}) must be a multiple of heads ({heads})")
        self.width, self.depth, self.heads, self.feedforward = width, depth, heads, feedforward
        self.project = keras.layers.Dense(width, name="project")
        # Unit-variance label embeddings: at Keras's default scale (uniform in +-0.05) the label is a small
        # fraction of a token whose image part has a norm of several units, and training stays at chance.
        self.label_embedding = keras.layers.Embedding(
            way + 1,
            width,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="label_embedding",
        )
        self.attention = [
            keras.layers.MultiHeadAttention(heads, width // heads, name=f"attention_{i}")
            for i in range(depth)
        ]
        self.attention_norms = [
            keras.layers.LayerNormalization(name=f"attention_norm_{i}") for i in range(depth)
        ]
        self.feedforward_layers = [
            keras.Sequential(
                [keras.layers.Dense(feedforward, activation="gelu"), keras.layers.Dense(width)],
                name=f"feedforward_{i}",
            )
            for i in range(depth)
        ]
        self.feedforward_norms = [
            keras.layers.LayerNormalization(name=f"feedforward_norm_{i}") for i in range(depth)
        ]
        self.final_norm = keras.layers.LayerNormalization(name="final_norm")
        self.head = keras.layers.Dense(way, name="logits")

    def read(self, support, queries, training=False):
        way, shot = int(support.shape[0]), int(support.shape[1])
        self.check_way(way)
        n_support, n_queries = way * shot, ops.shape(queries)[0]
        labels = ops.concatenate(
            [ops.repeat(ops.arange(way), shot), ops.full((n_queries,), way, dtype="int32")], axis=0
        )
        images = ops.concatenate([ops.reshape(support, (n_support, -1)), queries], axis=0)
        tokens = (self.project(images) + self.label_embedding(labels))[None]
        mask = self.attention_mask(n_support, n_support + n_queries)[None]
        for attention, norm, feedforward, feedforward_norm in zip(
            self.attention, self.attention_norms, self.feedforward_layers, self.feedforward_norms, strict=True
        ):
            normed = norm(tokens)
            tokens = tokens + attention(normed, normed, attention_mask=mask, training=training)
            tokens = tokens + feedforward(feedforward_norm(tokens), training=training)
        return self.head(self.final_norm(tokens[0, n_support:]))

    @staticmethod
    def attention_mask(n_support: int, length):
        """[length, length] booleans, True where a token (row) may attend to a token (column): every
        token to the `n_support` support tokens, a query token also to itself."""
        positions = ops.arange(length)
        return (positions[None, :] < n_support) | (positions[None, :] == positions[:, None])

    def get_config(self):
        return {
            **super().get_config(),
            "width": self.width,
            "depth": self.depth,
            "heads": self.heads,
            "feedforward": self.feedforward,
        }

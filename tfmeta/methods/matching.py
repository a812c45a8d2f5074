"""Matching Networks, with and without full context embeddings."""

from __future__ import annotations

import keras
from keras import ops

from tfmeta.backbones import BACKBONES
from tfmeta.methods.base import EmbeddingMethod

_EPSILON = 1e-8


@keras.saving.register_keras_serializable(package="tfmeta")
class MatchingNetwork(EmbeddingMethod):
    """Matching Networks (Vinyals et al. 2016, https://arxiv.org/abs/1606.04080).

    A query attends over the support set with a softmax of cosine similarities, a(x, x_i); its class
    distribution is the attention-weighted sum of the support labels, P(y | x, S) = sum_i a(x, x_i) y_i.
    The logits returned are log P, so the harness's softmax cross-entropy is the paper's loss.

    Full context embeddings (`fce=True`) make both embeddings depend on the whole support set:
        g(x_i, S): a bidirectional LSTM runs over the support embeddings g'(x_i);
                   g = h_forward + h_backward + g'(x_i).
        f(x, S):   an attention LSTM runs `processing_steps` (K) steps for each query: with h_0 = r_0 = 0,
                   h_k, c_k = LSTM([f'(x), r_{k-1}], h_{k-1}, c_{k-1});  h_k += f'(x);
                   r_k = sum_i softmax_i(h_k . g(x_i)) g(x_i);  f = h_K.
    The record's method config says which variant ran (`fce`).

    Metric scaling (`scale`, Oreshkin et al. 2018, TADAM, https://arxiv.org/abs/1805.10123): the cosine
    similarities are multiplied by `scale` before the softmax. Conv-4 features end in a ReLU, so their
    cosines lie in [0, 1] and, unscaled (the paper), the attention can hardly be sharp: a 20-way episode's
    loss cannot fall far below log 20 and learning is slow. `scale=1` is the paper.

    Shapes: support [way, shot, H, W, C], query [Q, H, W, C] -> log-probabilities [Q, way].

    Args:
        fce: use full context embeddings. Defaults to False.
        processing_steps: K, the attention LSTM's steps (with `fce`). Defaults to 5.
        backbone: name in `tfmeta.backbones.BACKBONES`. Defaults to "conv4".
        filters: width of the backbone. Defaults to 64.
        fce_units: the LSTMs' width, which must equal the embedding width for the skip connections;
            None takes `filters`, Conv-4's width on 28x28 images (84x84 images need 25 * filters).
            Defaults to None.
        scale: the metric scale multiplying the cosine similarities. Defaults to 1.0 (the paper).
        batch_norm_momentum: momentum of the backbone's batch-norm running statistics (used at test
            time); None keeps the backbone's (Keras's 0.99). The LSTMs of FCE are sensitive to the
            scale of their inputs, so `MatchingNetworkFCE` uses 0.9, which settles within a smoke run.
            Defaults to None.
    """

    paper = "Vinyals et al. 2016, Matching Networks for One Shot Learning, https://arxiv.org/abs/1606.04080"

    def __init__(
        self,
        fce: bool = False,
        processing_steps: int = 5,
        backbone: str = "conv4",
        filters: int = 64,
        fce_units: int | None = None,
        batch_norm_momentum: float | None = None,
        scale: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; valid backbones: {', '.join(BACKBONES)}")
        if processing_steps < 1:
            raise ValueError(f"processing_steps must be at least 1, got {processing_steps}")
        self.fce, self.processing_steps, self.scale = fce, processing_steps, scale
        self.backbone_name, self.filters, self.fce_units = backbone, filters, fce_units
        self.encoder = BACKBONES[backbone](filters)
        self.batch_norm_momentum = batch_norm_momentum
        if batch_norm_momentum is not None:
            for layer in self.encoder.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.momentum = batch_norm_momentum
        self.support_lstm = self.query_cell = None
        if fce:
            units = fce_units or filters
            self.support_lstm = keras.layers.Bidirectional(
                keras.layers.LSTM(units, return_sequences=True), merge_mode="sum"
            )
            self.query_cell = keras.layers.LSTMCell(units)

    def classify(self, support_features, query_features):
        way, shot = int(support_features.shape[0]), int(support_features.shape[1])
        support_features = ops.reshape(support_features, (way * shot, -1))
        if self.fce:
            support_features = self.embed_support(support_features)
            query_features = self.embed_queries(query_features, support_features)
        attention = self.attention(query_features, support_features, self.scale)  # [Q, way * shot]
        probabilities = ops.sum(ops.reshape(attention, (-1, way, shot)), axis=-1)
        return ops.log(probabilities + _EPSILON)

    @staticmethod
    def attention(queries, support, scale: float = 1.0):
        """Softmax over the support set [Q, n] of `scale` times the cosine similarities of queries [Q, D]
        and support [n, D]."""
        cosine = ops.matmul(_unit(queries), ops.transpose(_unit(support)))
        return ops.softmax(scale * cosine, axis=-1)

    def embed_support(self, support):
        """g(x_i, S): [n, D] -> [n, D], a bidirectional LSTM over the support set plus a skip connection."""
        return support + self.support_lstm(support[None])[0]

    def embed_queries(self, queries, support):
        """f(x, S): [Q, D] -> [Q, D], the attention LSTM's K processing steps over the embedded support."""
        hidden = ops.zeros_like(queries)
        cell_state = ops.zeros_like(queries)
        read = ops.zeros_like(queries)
        for _ in range(self.processing_steps):
            output, (hidden, cell_state) = self.query_cell(
                ops.concatenate([queries, read], axis=-1), [hidden, cell_state]
            )
            hidden = output + queries
            read = ops.matmul(ops.softmax(ops.matmul(hidden, ops.transpose(support)), axis=-1), support)
        return hidden

    def get_config(self):
        return {
            **super().get_config(),
            "fce": self.fce,
            "processing_steps": self.processing_steps,
            "backbone": self.backbone_name,
            "filters": self.filters,
            "fce_units": self.fce_units,
            "batch_norm_momentum": self.batch_norm_momentum,
            "scale": self.scale,
        }


@keras.saving.register_keras_serializable(package="tfmeta")
class MatchingNetworkFCE(MatchingNetwork):
    """Matching Networks with full context embeddings by default, registered as `matching_fce`."""

    def __init__(self, fce: bool = True, batch_norm_momentum: float | None = 0.9, **kwargs):
        super().__init__(fce=fce, batch_norm_momentum=batch_norm_momentum, **kwargs)


def _unit(x):
    return x / (ops.norm(x, axis=-1, keepdims=True) + _EPSILON)

"""SNAIL, the Simple Neural AttentIve Learner."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from tfmeta.methods.sequence import SequenceMethod


@keras.saving.register_keras_serializable(package="tfmeta")
class SNAIL(SequenceMethod):
    """SNAIL (Mishra, Rohaninejad, Chen & Abbeel 2018, A Simple Neural Attentive Meta-Learner,
    https://arxiv.org/abs/1707.03141).

    The episode is read as the paper's sequence: the `way * shot` support items, each its Conv-4 embedding
    concatenated with its one-hot label, then the query with a label of zeros; the logits are read at the
    query's position. The network is the paper's Omniglot one: AttentionBlock(64, 32), TCBlock(T, 128),
    AttentionBlock(256, 128), TCBlock(T, 128), AttentionBlock(512, 256) and a 1x1 convolution (a dense
    layer per position) to `way` logits, where T = way * shot + 1 and a TC block stacks ceil(log2 T) dense
    blocks of dilations 2, 4, 8, ... (`CausalDenseBlock`, `CausalAttentionBlock`). The embedding is
    tfmeta's Conv-4, four blocks of 64 3x3 filters, batch norm, ReLU and 2x2 max-pool, 64-d on Omniglot:
    the paper's Omniglot embedding is four such blocks of 64 filters too.

    Each query is the last element of its own sequence (support, query), as in the paper, so no query sees
    another. The network is causal, so the support positions' activations are the same in every such
    sequence: they are computed once, and each query's position from them.

    Support order: the paper's sequence has an order, and a causal network can read labels off positions
    when the order is fixed. Training therefore presents the support set in a fresh random order each
    episode, so that the labels must be read; a test episode is read in one fixed order, a permutation
    drawn once from a fixed seed per support size.

    SNAIL is trained per way (the labels and logits are `way` wide; another way is refused, naming it) and
    its TC blocks are sized for `shot`: a test episode with more shots is a longer sequence than training
    had, answered by the same blocks (the harness then records `analysis.more_shots`).

    Args:
        way: classes per episode. Defaults to 5.
        shot: support items per class of the training sequences, which with `way` sets T and the depth of
            the TC blocks. Defaults to 1.
        filters: channels of the Conv-4 embedding. Defaults to 64.
        tc_filters: channels each dense block adds. Defaults to 128 (the paper).
        backbone: name of the embedding network in `tfmeta.backbones.BACKBONES`. Defaults to "conv4".
    """

    paper = "Mishra et al. 2018, A Simple Neural Attentive Meta-Learner, https://arxiv.org/abs/1707.03141"

    def __init__(
        self,
        way: int = 5,
        shot: int = 1,
        filters: int = 64,
        tc_filters: int = 128,
        backbone: str = "conv4",
        **kwargs,
    ):
        super().__init__(way=way, backbone=backbone, filters=filters, **kwargs)
        if not isinstance(shot, int) or shot < 1:
            raise ValueError(f"shot must be a positive number of support items per class, got {shot!r}")
        self.shot, self.tc_filters = shot, tc_filters
        length = way * shot + 1
        dilations = [2**i for i in range(1, math.ceil(math.log2(length)) + 1)]
        self.sequence_blocks = [
            CausalAttentionBlock(64, 32, name="attention_1"),
            *(CausalDenseBlock(d, tc_filters, name=f"tc_1_dense_{d}") for d in dilations),
            CausalAttentionBlock(256, 128, name="attention_2"),
            *(CausalDenseBlock(d, tc_filters, name=f"tc_2_dense_{d}") for d in dilations),
            CausalAttentionBlock(512, 256, name="attention_3"),
        ]
        self.output_layer = keras.layers.Dense(way, name="logits")
        self.order_seed = keras.random.SeedGenerator()

    def read(self, support, queries, training=False):
        items, queries = self.sequence(support, queries, training)
        for block in self.sequence_blocks:
            items, queries = block(items, queries)
        return self.output_layer(queries)

    def sequence(self, support, queries, training=False):
        """The network's inputs: the support items `[way * shot, d + way]` (features and one-hot label) in
        their reading order, and each query `[n, d + way]` with a label of zeros."""
        way, shot = int(support.shape[0]), int(support.shape[1])
        self.check_way(way)
        n = way * shot
        labels = ops.one_hot(ops.repeat(ops.arange(way), shot), way, dtype=support.dtype)
        items = ops.concatenate([ops.reshape(support, (n, -1)), labels], axis=-1)
        items = ops.take(items, self.support_order(n, training), axis=0)
        no_label = ops.zeros((ops.shape(queries)[0], way), queries.dtype)
        return items, ops.concatenate([queries, no_label], axis=-1)

    def support_order(self, n: int, training: bool):
        """Positions of the `n` support items: a random order in training, a fixed one at test."""
        if training:
            return keras.random.shuffle(ops.arange(n), seed=self.order_seed)
        return ops.convert_to_tensor(np.random.default_rng(n).permutation(n).astype("int32"))

    def get_config(self):
        return {**super().get_config(), "shot": self.shot, "tc_filters": self.tc_filters}


@keras.saving.register_keras_serializable(package="tfmeta")
class CausalDenseBlock(keras.layers.Layer):
    """SNAIL's dense block: a causal convolution of kernel size 2 and dilation `dilation` with a gated
    activation, tanh(x_f) * sigmoid(x_g), of `filters` channels, concatenated to its input.

    It maps (support `[T, c]`, queries `[n, c]`) to (support `[T, c + filters]`, queries `[n, c +
    filters]`): the support items are positions 0..T-1 of one sequence, each query position T of its own.
    A position t reads itself and position t - dilation (zeros before the start).
    """

    def __init__(self, dilation: int, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.dilation, self.filters = dilation, filters
        self.now = keras.layers.Dense(2 * filters, name="now")
        self.past = keras.layers.Dense(2 * filters, use_bias=False, name="past")

    def call(self, support, queries):
        length, d = int(support.shape[0]), self.dilation
        zeros = ops.zeros_like(support[:1])
        if d < length:
            earlier = ops.concatenate([ops.repeat(zeros, d, axis=0), support[: length - d]], axis=0)
        else:
            earlier = ops.repeat(zeros, length, axis=0)
        query_earlier = support[length - d : length - d + 1] if d <= length else zeros
        support_out = self.gate(self.now(support) + self.past(earlier))
        queries_out = self.gate(self.now(queries) + self.past(query_earlier))
        return (
            ops.concatenate([support, support_out], axis=-1),
            ops.concatenate([queries, queries_out], axis=-1),
        )

    def gate(self, x):
        filtered, gated = x[..., : self.filters], x[..., self.filters :]
        return ops.tanh(filtered) * ops.sigmoid(gated)

    def get_config(self):
        return {**super().get_config(), "dilation": self.dilation, "filters": self.filters}


@keras.saving.register_keras_serializable(package="tfmeta")
class CausalAttentionBlock(keras.layers.Layer):
    """SNAIL's attention block: single-head dot-product attention of `key_size` keys over the positions up
    to and including one's own, reading `value_size` values, concatenated to the input.

    It maps (support `[T, c]`, queries `[n, c]`) to (support `[T, c + value_size]`, queries `[n, c +
    value_size]`): a support item attends to the items before it and itself, a query to every support
    item and itself (the last position of its own sequence).
    """

    def __init__(self, key_size: int, value_size: int, **kwargs):
        super().__init__(**kwargs)
        self.key_size, self.value_size = key_size, value_size
        self.keys = keras.layers.Dense(key_size, name="keys")
        self.query = keras.layers.Dense(key_size, name="query")
        self.values = keras.layers.Dense(value_size, name="values")

    def call(self, support, queries):
        scale = 1.0 / math.sqrt(self.key_size)
        keys, values = self.keys(support), self.values(support)
        length = int(support.shape[0])
        logits = ops.matmul(self.query(support), ops.transpose(keys)) * scale
        earlier = ops.arange(length)[None, :] <= ops.arange(length)[:, None]
        weights = ops.softmax(ops.where(earlier, logits, -1e9), axis=-1)
        support_read = ops.matmul(weights, values)

        asked = self.query(queries)
        own = ops.sum(asked * self.keys(queries), axis=-1, keepdims=True) * scale
        weights = ops.softmax(ops.concatenate([ops.matmul(asked, ops.transpose(keys)) * scale, own], -1))
        queries_read = ops.matmul(weights[:, :length], values) + weights[:, length:] * self.values(queries)
        return (
            ops.concatenate([support, support_read], axis=-1),
            ops.concatenate([queries, queries_read], axis=-1),
        )

    def get_config(self):
        return {**super().get_config(), "key_size": self.key_size, "value_size": self.value_size}

"""Differentiable unrolled optimisation with a coordinatewise learned optimizer.

The optimizee's parameters are plain tensors and its loss a pure function of them, so one
`tf.GradientTape` around the unroll gives the meta-gradient with respect to the optimizer network's
weights (Andrychowicz et al. 2016, https://arxiv.org/abs/1606.04474, section 2 and figure 2). As in the
paper, the optimizee's gradients can be treated as constants (`second_order=False`), which drops the
second derivatives of the optimizee from the meta-gradient.
"""

from __future__ import annotations

import tensorflow as tf

from tfmeta.optimizers.coordinatewise import CoordinatewiseLSTM, State
from tfmeta.optimizers.preprocessing import coordinate_features


def flatten(tensors: list[tf.Tensor]) -> tf.Tensor:
    """All coordinates of a list of tensors as one vector `[N]`."""
    return tf.concat([tf.reshape(t, [-1]) for t in tensors], axis=0)


def unflatten(vector: tf.Tensor, like: list[tf.Tensor]) -> list[tf.Tensor]:
    """The inverse of `flatten`, shaped like `like`."""
    sizes = [t.shape.num_elements() for t in like]
    return [tf.reshape(part, t.shape) for part, t in zip(tf.split(vector, sizes), like, strict=True)]


def learned_step(
    network: CoordinatewiseLSTM,
    params: list[tf.Tensor],
    grads: list[tf.Tensor],
    state: State,
    p: float = 10.0,
    extra_inputs: tuple[str, ...] = (),
    step=0,
) -> tuple[list[tf.Tensor], State]:
    """One update of every coordinate by the network: returns the new parameters and LSTM state."""
    flat = flatten(params)
    features = coordinate_features(flatten(grads), p, extra_inputs, parameter=flat, step=step)
    update, state = network.step(features, state)
    return unflatten(flat + update[:, 0], params), state


def unrolled_meta_loss(
    network: CoordinatewiseLSTM,
    loss_fn,
    params: list[tf.Tensor],
    state: State,
    start,
    unroll: int,
    p: float = 10.0,
    second_order: bool = False,
    extra_inputs: tuple[str, ...] = (),
) -> tuple[tf.Tensor, list[tf.Tensor], State]:
    """Runs `unroll` learned updates from step `start`; the meta-loss is the sum of the optimizee losses
    after each update (averaged over the batch of problems).

    Args:
        loss_fn: `loss_fn(params, step) -> [B]` losses of a batch of problems.
        params: the parameters at `start` (constants: truncated BPTT does not reach past them).
        state: the LSTM state at `start`.

    Returns:
        (meta-loss, parameters after the unroll, LSTM state after the unroll).
    """
    meta_loss = tf.constant(0.0, network.variable_dtype)
    for k in range(unroll):
        with tf.GradientTape() as tape:
            tape.watch(params)
            losses = loss_fn(params, start + k)
            total = tf.reduce_sum(losses)
        grads = tape.gradient(total, params)
        if not second_order:
            grads = [tf.stop_gradient(g) for g in grads]
        if k > 0:
            meta_loss += tf.reduce_mean(losses)
        params, state = learned_step(network, params, grads, state, p, extra_inputs, start + k)
    meta_loss += tf.reduce_mean(loss_fn(params, start + unroll))
    return meta_loss, params, state

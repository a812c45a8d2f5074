"""Gradient preprocessing for coordinatewise learned optimizers.

Andrychowicz et al. 2016, "Learning to learn by gradient descent by gradient descent"
(https://arxiv.org/abs/1606.04474), appendix A: gradients span many orders of magnitude, so each
coordinate is fed to the LSTM as two numbers,

    (log|g| / p, sign(g))   if |g| >= exp(-p)
    (-1, exp(p) * g)        otherwise,

with p = 10 in the paper (the authors' code used 5). Shared with the meta-learner LSTM of Ravi &
Larochelle 2017, which preprocesses gradients and losses the same way.
"""

from __future__ import annotations

import math

import tensorflow as tf


def log_sign(values: tf.Tensor, p: float = 10.0) -> tf.Tensor:
    """The two-channel preprocessing of the paper.

    Args:
        values: any shape `S`, float.
        p: the scale; magnitudes below exp(-p) are represented linearly. Defaults to 10.

    Returns:
        Float tensor of shape `S + [2]`.
    """
    values = tf.convert_to_tensor(values)
    magnitude = tf.abs(values)
    large = magnitude >= math.exp(-p)
    safe = tf.where(large, magnitude, tf.ones_like(magnitude))
    first = tf.where(large, tf.math.log(safe) / p, -tf.ones_like(values))
    second = tf.where(large, tf.sign(values), math.exp(p) * values)
    return tf.stack([first, second], axis=-1)


EXTRA_INPUTS = ("parameter", "step")


def coordinate_features(
    gradient: tf.Tensor,
    p: float = 10.0,
    extra_inputs: tuple[str, ...] = (),
    parameter: tf.Tensor | None = None,
    step: tf.Tensor | None = None,
) -> tf.Tensor:
    """Per-coordinate input features of a learned optimizer.

    Args:
        gradient: flat gradient `[N]`.
        p: preprocessing scale (see `log_sign`). Defaults to 10.
        extra_inputs: optional extra channels, in this order when present: `"parameter"` (the current
            parameter value, clipped to [-10, 10]) and `"step"` (log(1 + t) / 10, the same for every
            coordinate). The optimizee loss is not an option: Keras hands an optimizer only gradients.
            Defaults to `()`.
        parameter: flat parameter `[N]`, needed for `"parameter"`.
        step: scalar iteration count, needed for `"step"`.

    Returns:
        `[N, 2 + len(extra_inputs)]` features in the gradient's float dtype.
    """
    unknown = set(extra_inputs) - set(EXTRA_INPUTS)
    if unknown:
        raise ValueError(f"unknown extra inputs {sorted(unknown)}; valid: {', '.join(EXTRA_INPUTS)}")
    gradient = tf.convert_to_tensor(gradient)
    dtype = gradient.dtype if gradient.dtype.is_floating else tf.float32
    gradient = tf.cast(gradient, dtype)
    columns = [log_sign(gradient, p)]
    if "parameter" in extra_inputs:
        columns.append(tf.clip_by_value(tf.cast(parameter, dtype), -10.0, 10.0)[:, None])
    if "step" in extra_inputs:
        t = tf.math.log1p(tf.cast(step, dtype)) / 10.0
        columns.append(tf.fill([tf.shape(gradient)[0], 1], t))
    return tf.concat(columns, axis=-1)


def num_features(extra_inputs: tuple[str, ...] = ()) -> int:
    return 2 + len(extra_inputs)

"""The functional update rules reproduce the Keras optimizers step by step."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfmeta import optimizers
from tfmeta.optimizers import functional


@pytest.mark.parametrize("name", optimizers.BASELINES)
def test_rule_matches_the_keras_optimizer(name):
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(4,)).astype("float32")]
    variables = [keras.Variable(s) for s in start]
    reference = optimizers.get(name, learning_rate=0.05)
    rule = functional.get(name, learning_rate=0.05)
    params = [tf.constant(s) for s in start]
    state = rule.init(params)
    for _ in range(5):
        grads = [tf.constant(rng.normal(size=s.shape).astype("float32")) for s in start]
        reference.apply(grads, variables)
        params, state = rule.update(params, grads, state)
    for variable, param in zip(variables, params, strict=True):
        np.testing.assert_allclose(param.numpy(), variable.numpy(), rtol=1e-5, atol=1e-6)


def test_rules_are_differentiable():
    rule = functional.get("adam", learning_rate=0.1)
    x = tf.constant([1.0, -2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        params, state = [x], rule.init([x])
        for _ in range(3):
            params, state = rule.update(params, [2.0 * params[0]], state)
        loss = tf.reduce_sum(tf.square(params[0]))
    assert np.all(np.isfinite(tape.gradient(loss, x).numpy()))


def test_unknown_rule_lists_the_valid_ones():
    with pytest.raises(KeyError, match="adagrad"):
        functional.get("lbfgs")

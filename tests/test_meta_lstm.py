"""The meta-learner LSTM: its cell-state update, and a meta-gradient that reaches every meta-parameter."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.tiny_episodes import tiny_episode
from tfmeta.methods.optimization.learner import support_labels
from tfmeta.methods.optimization.maml import FirstOrderMAML
from tfmeta.methods.optimization.meta_lstm import MetaLearnerLSTM

WAY, SHOT, QUERY = 3, 2, 2


def episode():
    return tiny_episode(WAY, SHOT, QUERY)


@pytest.mark.slow
def test_with_constant_gates_the_cell_update_is_gradient_descent():
    """f = 1 and i = sigmoid(b_I) everywhere: c_t = c_{t-1} - i * grad is SGD at rate sigmoid(b_I)."""
    data, _ = episode()
    keras.utils.set_random_seed(0)
    lstm = MetaLearnerLSTM(filters=2, way=WAY, input_gate_bias=-1.5, forget_gate_bias=40.0)
    lstm(data)
    for weight in (lstm.meta_lstm.out_kernel, lstm.meta_lstm.out_bias):
        weight.assign(tf.zeros_like(weight))
    keras.utils.set_random_seed(0)
    sgd = FirstOrderMAML(filters=2, way=WAY, inner_learning_rate=float(tf.sigmoid(-1.5)))
    sgd(data)
    for target, source in zip(sgd.learner.trainable_variables, lstm.learner.trainable_variables, strict=True):
        target.assign(source)
    images = tf.reshape(data["support_images"], (WAY * SHOT, 16, 16, 1))
    labels = support_labels(WAY, SHOT)
    expected = sgd.adapt(sgd.initial_params(), images, labels, 3)[-1]
    actual = lstm.adapt(lstm.initial_params(), images, labels, 3)[-1]
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a.numpy(), e.numpy(), atol=1e-5)


@pytest.mark.slow
def test_one_meta_update_changes_every_meta_parameter():
    data, query_labels = episode()
    keras.utils.set_random_seed(0)
    method = MetaLearnerLSTM(filters=2, way=WAY, inner_steps=2)
    method(data)
    method.compile(optimizer=keras.optimizers.SGD(0.1), **method.compile_arguments())
    before = [v.numpy().copy() for v in method.trainable_variables]
    names = [v.path for v in method.trainable_variables]
    assert any("gate_kernel" in n for n in names) and any("kernel0" in n for n in names)
    method.train_on_batch(data, query_labels)
    unchanged = [
        n for n, b, v in zip(names, before, method.trainable_variables, strict=True) if np.all(b == v)
    ]
    assert not unchanged


def test_config_round_trip():
    config = MetaLearnerLSTM(filters=4, input_gate_bias=-2.0).get_config()
    assert MetaLearnerLSTM.from_config(config).get_config() == config

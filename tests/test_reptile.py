"""Reptile's meta-update: the compiled optimizer applied to theta - theta'."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.tiny_episodes import tiny_episode
from tfmeta.methods.losses import cross_entropy
from tfmeta.methods.optimization.reptile import Reptile

WAY, SHOT, QUERY = 3, 1, 2


def episode():
    return tiny_episode(WAY, SHOT, QUERY)


@pytest.mark.slow
def test_outer_sgd_at_rate_one_moves_the_initialisation_to_the_adapted_weights():
    keras.utils.set_random_seed(0)
    method = Reptile(filters=2, way=WAY, inner_steps=3, inner_learning_rate=0.05)
    data, query_labels = episode()
    method(data)
    method.compile(optimizer=keras.optimizers.SGD(1.0), **method.compile_arguments())
    images = tf.concat([tf.reshape(data["support_images"], (WAY * SHOT, 16, 16, 1)), data["query_images"]], 0)
    labels = tf.concat([tf.range(WAY), query_labels], 0)
    expected = method.adapt(method.initial_params(), images, labels, 3)[-1]
    method.train_on_batch(data, query_labels)
    for variable, value in zip(method.learner.trainable_variables, expected, strict=True):
        np.testing.assert_allclose(variable.numpy(), value.numpy(), atol=1e-5)


def test_one_inner_step_is_a_scaled_gradient_of_the_task_loss():
    keras.utils.set_random_seed(0)
    method = Reptile(filters=2, way=WAY, inner_learning_rate=0.05)
    data, _ = episode()
    method(data)
    images = tf.reshape(data["support_images"], (WAY * SHOT, 16, 16, 1))
    labels = tf.range(WAY)
    params = method.initial_params()
    with tf.GradientTape() as tape:
        tape.watch(params)
        loss = cross_entropy(method.forward(params, images), labels)
    grads = tape.gradient(loss, params)
    adapted = method.adapt(params, images, labels, 1)[-1]
    for p, a, g in zip(params, adapted, grads, strict=True):
        np.testing.assert_allclose((p - a).numpy(), 0.05 * g.numpy(), atol=1e-6)


def test_config_round_trip():
    config = Reptile(filters=4, inner_steps=2).get_config()
    assert Reptile.from_config(config).get_config() == config
    assert config["inner_steps"] == 2 and config["test_inner_steps"] == 10 and config["inner_batch"] is None


def test_inner_batches_are_disjoint_slices_of_a_permutation():
    method = Reptile(filters=2, way=WAY, inner_steps=3, inner_batch=2)
    method.compile(optimizer=keras.optimizers.SGD(1.0), **method.compile_arguments())
    batches = method.inner_batches(9).numpy()
    assert batches.shape == (3, 2)
    assert len(set(batches.ravel())) == 6 and set(batches.ravel()) <= set(range(9))


@pytest.mark.slow
def test_with_inner_batches_the_meta_update_follows_the_mini_batch_trajectory():
    keras.utils.set_random_seed(0)
    method = Reptile(filters=2, way=WAY, inner_steps=2, inner_batch=2, inner_learning_rate=0.05)
    data, query_labels = episode()
    method(data)
    method.compile(optimizer=keras.optimizers.SGD(1.0), **method.compile_arguments())
    images = tf.concat([tf.reshape(data["support_images"], (WAY * SHOT, 16, 16, 1)), data["query_images"]], 0)
    labels = tf.concat([tf.range(WAY), query_labels], 0)
    batches = method.inner_batches(WAY * (SHOT + QUERY))  # the optimizer's step is still 0
    expected = method.adapt(method.initial_params(), images, labels, 2, batches=batches)[-1]
    full_batch = method.adapt(method.initial_params(), images, labels, 2)[-1]
    method.train_on_batch(data, query_labels)
    for variable, value in zip(method.learner.trainable_variables, expected, strict=True):
        np.testing.assert_allclose(variable.numpy(), value.numpy(), atol=1e-5)
    assert not np.allclose(expected[0].numpy(), full_batch[0].numpy(), atol=1e-5)


def test_inner_batch_must_be_positive():
    with pytest.raises(ValueError, match="inner_batch"):
        Reptile(inner_batch=0)


@pytest.mark.slow
def test_a_meta_batch_moves_towards_the_mean_of_the_adapted_weights():
    """The batched update of section 3: with SGD at rate 1, theta becomes the mean of the tasks' theta'."""
    from tests.tiny_episodes import tiny_meta_batch

    keras.utils.set_random_seed(0)
    method = Reptile(filters=2, way=WAY, inner_steps=2, inner_learning_rate=0.05, meta_batch=2)
    (episodes, labels), singles = tiny_meta_batch(WAY, SHOT, QUERY, tasks=2)
    method(singles[0][0])
    method.compile(optimizer=keras.optimizers.SGD(1.0), **method.compile_arguments())
    adapted = []
    for data, query_labels in singles:
        support = tf.reshape(data["support_images"], (WAY * SHOT, 16, 16, 1))
        images = tf.concat([support, data["query_images"]], 0)
        task_labels = tf.concat([tf.range(WAY), query_labels], 0)
        adapted.append(method.adapt(method.initial_params(), images, task_labels, 2)[-1])
    method.train_on_batch(episodes, labels)
    for i, variable in enumerate(method.learner.trainable_variables):
        expected = np.mean([task[i].numpy() for task in adapted], axis=0)
        np.testing.assert_allclose(variable.numpy(), expected, atol=1e-5)

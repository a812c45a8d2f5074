"""The LSTM optimizer (Andrychowicz et al. 2016): preprocessing, Keras integration, serialisation,
meta-gradient against finite differences, meta-training, NaN handling and resume."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfmeta.optimizers import LSTMOptimizer, pretrained_path
from tfmeta.optimizers.coordinatewise import CoordinatewiseLSTM
from tfmeta.optimizers.meta_train import MetaTrainConfig, MetaTrainer
from tfmeta.optimizers.preprocessing import coordinate_features, log_sign
from tfmeta.optimizers.unroll import unrolled_meta_loss
from tfmeta.tasks import get
from tfmeta.tasks.base import Problems
from tfmeta.tasks.quadratic import Quadratic


def test_preprocessing_golden_values():
    out = log_sign(tf.constant([1.0, -math.exp(-2.0), 1e-6, -1e-6, 0.0]), p=10.0).numpy()
    expected = [
        [0.0, 1.0],
        [-0.2, -1.0],
        [-1.0, math.exp(10) * 1e-6],
        [-1.0, -math.exp(10) * 1e-6],
        [-1.0, 0.0],
    ]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    features = coordinate_features(
        tf.ones([3]), 5.0, ("parameter", "step"), parameter=tf.ones([3]) * 20, step=0
    )
    assert features.shape == (3, 4) and float(features[0, 2]) == 10.0 and float(features[0, 3]) == 0.0
    with pytest.raises(ValueError, match="valid: parameter, step"):
        coordinate_features(tf.ones([3]), extra_inputs=("loss",))


def _tiny_models():
    return [
        keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)]
        ),
        keras.Sequential(
            [keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(1)]
        ),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("model", _tiny_models(), ids=["mlp", "convnet"])
def test_runs_on_any_architecture_with_fit(model):
    optimizer = LSTMOptimizer.from_pretrained("quadratic")
    model.compile(optimizer=optimizer, loss="mse")
    x = np.random.default_rng(0).random((32, *model.input_shape[1:])).astype("float32")
    model.fit(x, np.ones((32, 1)), epochs=2, verbose=0)
    assert int(optimizer.iterations) == 2
    # One hidden and one cell state per layer and per coordinate: a buffer per state, all variables in it.
    n = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    assert [tuple(v.shape) for v in optimizer.variables[2:]] == [(20, n)] * 4
    assert optimizer.state_bytes_per_parameter() == 4 * 20 * 4


def test_apply_gradients_matches_the_network_update():
    optimizer = LSTMOptimizer(seed=3, learning_rate=0.5)
    variable = keras.Variable(np.ones((2, 3), "float32"))
    gradient = tf.constant(np.arange(6, dtype="float32").reshape(2, 3) - 2.5)
    optimizer.apply_gradients([(gradient, variable)])
    state = optimizer.network.initial_state(6)
    update, _ = optimizer.network.step(coordinate_features(tf.reshape(gradient, [-1])), state)
    np.testing.assert_allclose(variable.numpy().ravel(), 1.0 + 0.5 * update.numpy().ravel(), rtol=1e-6)


def test_one_call_over_all_variables_equals_each_variable_alone():
    """The fused step (all coordinates in one LSTM call, under XLA, gates computed by tanh) is the
    coordinatewise rule (sigmoid gates), variable by variable; and a step that updates only some
    variables leaves the others' states alone."""
    rng = np.random.default_rng(1)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    values = [rng.standard_normal(shape).astype("float32") for shape in shapes]
    steps = [[rng.standard_normal(shape).astype("float32") for shape in shapes] for _ in range(3)]
    optimizer = LSTMOptimizer(seed=5, learning_rate=0.7)
    variables = [keras.Variable(v) for v in values]
    for grads in steps:
        optimizer.apply_gradients(zip([tf.constant(g) for g in grads], variables, strict=True))
    for index, value in enumerate(values):
        state = optimizer.network.initial_state(value.size)
        expected = value.ravel()
        for grads in steps:
            update, state = optimizer.network.step(coordinate_features(grads[index].ravel()), state)
            expected = expected + 0.7 * update.numpy().ravel()
        np.testing.assert_allclose(variables[index].numpy().ravel(), expected, rtol=1e-5, atol=1e-6)

    # The state buffers hold one column a coordinate.
    before = np.concatenate([v.numpy() for v in optimizer.variables[2:]], axis=0)
    optimizer.apply_gradients([(tf.constant(steps[0][1]), variables[1])])
    after = np.concatenate([v.numpy() for v in optimizer.variables[2:]], axis=0)
    columns = np.cumsum([0] + [int(np.prod(shape)) for shape in shapes])
    np.testing.assert_array_equal(after[:, : columns[1]], before[:, : columns[1]])
    np.testing.assert_array_equal(after[:, columns[2] :], before[:, columns[2] :])
    assert not np.array_equal(after[:, columns[1] : columns[2]], before[:, columns[1] : columns[2]])


def test_config_round_trip_and_weights_in_keras_format(tmp_path):
    optimizer = LSTMOptimizer(units=8, preprocess_p=5.0, extra_inputs=("step",), seed=1)
    path = tmp_path / "opt.weights.h5"
    optimizer.save_meta_weights(path)
    again = LSTMOptimizer.from_config({**optimizer.get_config(), "pretrained": str(path), "seed": 2})
    assert again.get_config()["units"] == 8 and again.extra_inputs == ("step",)
    for a, b in zip(optimizer.network.get_weights(), again.network.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(again))
    assert isinstance(restored, LSTMOptimizer) and restored.pretrained == str(path)


def test_shipped_weights_load_and_unknown_names_are_listed():
    assert pretrained_path("quadratic").name == "quadratic.weights.h5"
    with pytest.raises(FileNotFoundError, match="shipped: .*quadratic"):
        pretrained_path("nope")


def _float64_quadratic():
    rng = np.random.default_rng(0)
    w, y, theta = rng.standard_normal((1, 3, 3)), rng.standard_normal((1, 3)), rng.standard_normal((1, 3))
    family = Quadratic(dim=3)
    return family, [tf.constant(theta)], {"w": tf.constant(w), "y": tf.constant(y)}


@pytest.mark.parametrize("second_order", [True, False])
def test_meta_gradient_matches_finite_differences(second_order):
    """Central differences of the unrolled meta-loss along a random direction, in float64.

    With second_order=False the finite differences are taken of the same meta-loss with the gradients fed
    to the LSTM frozen at their unperturbed values: the function whose exact gradient the first-order
    meta-gradient (second derivatives of the optimizee dropped, as in the paper) is.
    """
    family, params, data = _float64_quadratic()
    network = CoordinatewiseLSTM(units=4, seed=0, dtype="float64")

    def meta_loss(frozen=None):
        calls = iter(frozen or [])

        def loss_fn(p, step):
            loss = family.loss(p, data, step)
            if frozen is None:
                return loss
            # Same value as the loss, but its gradient with respect to p is the frozen gradient.
            with tf.GradientTape() as tape:
                tape.watch(p)
                total = tf.reduce_sum(family.loss(p, data, step))
            shift = next(calls) - tf.stop_gradient(tape.gradient(total, p)[0])
            return loss + tf.reduce_sum((p[0] - tf.stop_gradient(p[0])) * shift, axis=-1)

        return unrolled_meta_loss(
            network, loss_fn, params, network.initial_state(3), 0, 4, 10.0, second_order
        )[0]

    with tf.GradientTape() as tape:
        value = meta_loss()
    grads = tape.gradient(value, network.trainable_variables)
    frozen = None
    if not second_order:
        frozen = _optimizee_gradients(network, family, params, data)
    direction = [
        tf.constant(np.random.default_rng(1).standard_normal(v.shape)) for v in network.trainable_variables
    ]
    analytic = sum(float(tf.reduce_sum(g * d)) for g, d in zip(grads, direction, strict=True))
    eps, original = 1e-5, [v.numpy() for v in network.trainable_variables]
    values = []
    for sign in (1, -1):
        for v, o, d in zip(network.trainable_variables, original, direction, strict=True):
            v.assign(o + sign * eps * d.numpy())
        values.append(float(meta_loss(frozen)))
    numeric = (values[0] - values[1]) / (2 * eps)
    assert abs(analytic - numeric) <= 1e-6 * max(1.0, abs(numeric)), (analytic, numeric)


def _optimizee_gradients(network, family, params, data):
    """The optimizee gradients along the unperturbed unroll (what second_order=False treats as constants)."""
    recorded = []

    def loss_fn(p, step):
        with tf.GradientTape() as tape:
            tape.watch(p)
            total = tf.reduce_sum(family.loss(p, data, step))
        recorded.append(tape.gradient(total, p)[0])
        return family.loss(p, data, step)

    unrolled_meta_loss(network, loss_fn, params, network.initial_state(3), 0, 4)
    # loss_fn runs once per step and once more for the final loss; the unroll differentiates the first ones.
    return [g for g in recorded]


@pytest.mark.slow
def test_meta_training_lowers_the_meta_loss(tmp_path):
    config = MetaTrainConfig(iterations=30, horizon=20, unroll=5, meta_batch=8, learning_rate=0.01, seed=0)
    curve = MetaTrainer(get("quadratic"), config, tmp_path).train(verbose=False)
    losses = [point["meta_loss"] for point in curve]
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    summary = json.loads((tmp_path / "curve.json").read_text())
    assert len(summary["curve"]) == 30 and (tmp_path / "meta.weights.h5").exists()


def test_meta_training_resumes_from_its_checkpoint(tmp_path):
    first = MetaTrainer(
        get("quadratic"), MetaTrainConfig(iterations=2, horizon=4, unroll=2, meta_batch=2), tmp_path
    )
    first.train(verbose=False)
    config = MetaTrainConfig(iterations=3, horizon=4, unroll=2, meta_batch=2)
    second = MetaTrainer(get("quadratic"), config, tmp_path)
    assert second.restore() and second.iteration == 2
    for a, b in zip(first.network.get_weights(), second.network.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(second.train(verbose=False)) == 3


class _ExplodingQuadratic(Quadratic):
    """A quadratic whose loss becomes NaN from step 3 on."""

    def loss(self, params, data, step):
        loss = super().loss(params, data, step)
        return loss + tf.where(tf.cast(step, tf.int32) >= 3, np.nan, 0.0)


def test_non_finite_meta_loss_keeps_the_last_good_weights(tmp_path, capsys):
    config = MetaTrainConfig(iterations=1, horizon=6, unroll=2, meta_batch=2, max_bad_runs=0)
    trainer = MetaTrainer(_ExplodingQuadratic(), config, tmp_path)
    before = [w.copy() for w in trainer.network.get_weights()]
    with pytest.raises(FloatingPointError, match="diverged.*last good weights"):
        trainer.train(verbose=False)
    assert "non-finite meta-loss" in capsys.readouterr().out
    report = json.loads((tmp_path / "nan_report.json").read_text())
    assert report["events"][0]["step"] == 2
    saved = CoordinatewiseLSTM()
    saved.load_weights(tmp_path / "meta.weights.h5")
    for a, b in zip(before, saved.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_problems_are_batched_along_the_first_axis():
    problems = get("quadratic").sample(3, 0, "test", 5)
    assert isinstance(problems, Problems) and problems.size == 3

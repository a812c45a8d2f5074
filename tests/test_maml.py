"""MAML's meta-gradient against finite differences, and first-order MAML against the exact dropped term."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfmeta.harness.inner_curves import InnerCurves
from tfmeta.methods.losses import cross_entropy
from tfmeta.methods.optimization import maml
from tfmeta.methods.optimization.learner import support_labels

WAY, SHOT, QUERY, SIZE = 3, 2, 2, 16


@pytest.fixture
def float64():
    # Keras keeps a global dtype policy once any layer has asked for it, so set it beside floatx.
    previous, previous_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx(previous)
    keras.config.set_dtype_policy(previous_policy)


def tiny(cls, **kwargs):
    """A 2-filter Conv-4 learner on 16x16 images (1x1x2 features), built, with a fixed episode."""
    keras.utils.set_random_seed(3)
    kwargs.setdefault("head", "learned")
    method = cls(filters=2, way=WAY, inner_steps=2, inner_learning_rate=0.5, **kwargs)
    rng = np.random.default_rng(0)
    support = tf.constant(rng.uniform(size=(WAY * SHOT, SIZE, SIZE, 1)))
    query = tf.constant(rng.uniform(size=(WAY * QUERY, SIZE, SIZE, 1)))
    method.ensure_built(support.shape[1:])
    return method, support, query


def meta_loss_and_gradient(method, support, query, params=None):
    """The query loss after the inner loop from `params` (the learner's weights by default), and its
    gradient with respect to `params`."""
    if params is None:
        params = method.initial_params()[: len(method.learner.trainable_variables)]
    head = method.initial_params(WAY)[len(params) :]  # zeros with head="zero", else nothing
    support_y = support_labels(WAY, SHOT)
    query_y = tf.repeat(tf.range(WAY), QUERY)
    with tf.GradientTape() as tape:
        tape.watch(params)
        adapted = method.adapt(params + head, support, support_y, method.inner_steps)[-1]
        loss = cross_entropy(method.forward(adapted, query), query_y)
    return loss, tape.gradient(loss, params)


def flat(tensors):
    return np.concatenate([np.ravel(t) for t in tensors])


@pytest.mark.slow
@pytest.mark.parametrize("head", ["learned", "zero"])
def test_second_order_meta_gradient_matches_finite_differences(float64, head):
    method, support, query = tiny(maml.MAML, head=head)
    params = method.initial_params()[: len(method.learner.trainable_variables)]  # not a zero head
    _, grads = meta_loss_and_gradient(method, support, query, params)
    rng = np.random.default_rng(1)
    errors = []
    for _ in range(4):
        direction = [tf.constant(rng.normal(size=p.shape)) for p in params]
        norm = np.linalg.norm(flat(direction))
        direction = [d / norm for d in direction]
        eps = 1e-5
        plus = meta_loss_and_gradient(
            method, support, query, [p + eps * d for p, d in zip(params, direction, strict=True)]
        )
        minus = meta_loss_and_gradient(
            method, support, query, [p - eps * d for p, d in zip(params, direction, strict=True)]
        )
        numeric = (plus[0] - minus[0]).numpy() / (2 * eps)
        analytic = float(flat(grads) @ flat(direction))
        errors.append(abs(numeric - analytic) / max(abs(analytic), 1e-8))
    print("finite-difference relative errors:", errors)
    assert max(errors) < 1e-6, errors


def hessian_vector_product(method, params, images, labels, vector):
    with tf.GradientTape() as outer:
        outer.watch(params)
        with tf.GradientTape() as inner:
            inner.watch(params)
            loss = cross_entropy(method.forward(params, images), labels)
        grads = inner.gradient(loss, params)
        dot = tf.add_n([tf.reduce_sum(g * v) for g, v in zip(grads, vector, strict=True)])
    return outer.gradient(dot, params)


def test_first_order_differs_from_second_order_exactly_by_the_dropped_term(float64):
    second, support, query = tiny(maml.MAML)
    first, _, _ = tiny(maml.FirstOrderMAML)
    _, exact = meta_loss_and_gradient(second, support, query)
    _, approximate = meta_loss_and_gradient(first, support, query)
    # The chain rule through K steps theta_{k+1} = theta_k - alpha grad L_s(theta_k) multiplies the query
    # gradient by (I - alpha H_k) for k = K-1 .. 0; first-order MAML keeps the identity of each factor.
    labels = support_labels(WAY, SHOT)
    trajectory = first.adapt(first.initial_params(), support, labels, first.inner_steps)
    vector = approximate
    for params in reversed(trajectory[:-1]):
        product = hessian_vector_product(first, params, support, labels, vector)
        vector = [v - first.inner_learning_rate * h for v, h in zip(vector, product, strict=True)]
    dropped = flat(vector) - flat(approximate)
    assert np.linalg.norm(dropped) > 1e-2 * np.linalg.norm(flat(approximate))  # not a vacuous check
    np.testing.assert_allclose(flat(exact) - flat(approximate), dropped, atol=1e-9, rtol=1e-6)


def test_first_order_config_round_trip():
    method = maml.FirstOrderMAML(filters=4, inner_steps=2)
    config = method.get_config()
    assert config["second_order"] is False and config["batch_norm"] == "transductive"
    again = maml.FirstOrderMAML.from_config(config)
    assert again.get_config() == config


def test_wrong_way_is_a_clear_error():
    method = maml.MAML(filters=2, way=5)
    episode = {"support_images": tf.zeros((3, 1, 16, 16, 1)), "query_images": tf.zeros((3, 16, 16, 1))}
    with pytest.raises(ValueError, match="way=3"):
        method(episode)


def test_a_zero_head_serves_any_way():
    method = maml.MAML(filters=2, way=5, head="zero")
    for way in (3, 7):
        episode = {
            "support_images": tf.random.uniform((way, 1, 16, 16, 1)),
            "query_images": tf.random.uniform((2 * way, 16, 16, 1)),
        }
        assert method(episode).shape == (2 * way, way)


@pytest.mark.slow
def test_analysis_curves_from_the_same_start():
    """`analyse` stores the inner-step curve and, per baseline optimizer, the curve from the same
    initialisation; SGD at MAML's inner rate retraces MAML's own curve."""
    method = maml.MAML(filters=2, way=3, test_inner_steps=2)
    curves = InnerCurves(method, curve_baselines={"sgd": 0.4, "adam": 0.01})
    data, labels = _episodes(3)
    analysis = curves.analyse(data, labels)
    curve = analysis["inner_curve"]
    assert curve["steps"] == [0, 1, 2, 3, 4] and curve["episodes"] == 3 and curve["trained_steps"] == 2
    baselines = analysis["baseline_curves"]
    assert set(baselines) == {"sgd", "adam"} and baselines["adam"]["learning_rate"] == 0.01
    np.testing.assert_allclose(baselines["sgd"]["loss_mean"], curve["loss_mean"], rtol=1e-5)
    assert baselines["adam"]["loss_mean"] != curve["loss_mean"]
    at_two = [baselines["sgd"]["accuracy_at_trained_steps"], curve["accuracy_at_trained_steps"]]
    assert len(at_two[0]) == 3 and at_two[0] == at_two[1]
    assert curves.config["curve_baselines"] == {"sgd": 0.4, "adam": 0.01}


@pytest.mark.slow
def test_curves_from_another_learners_start(capsys, tmp_path):
    """With a `curve_start`, `tune` chooses rates from both starts and `analyse` runs the own update and
    the baselines again from the other learner's start: SGD at MAML's inner rate retraces MAML's update
    from there too, and the curves differ from those of the own start. Each tuned rate and each set of
    curves prints a progress line; each finished search is kept in the tuning memo, and a second `tune`
    takes its rates from there. A learner of other shapes is refused, naming both."""
    method = maml.MAML(filters=2, way=3, test_inner_steps=2)
    curves = InnerCurves(method, curve_baselines={"sgd": 0.4, "adam": None}, curve_start="x.json")
    keras.utils.set_random_seed(7)
    other = maml.MAML(filters=2, way=3)
    episodes, labels = _episodes(3)
    method.ensure_built((16, 16, 1))
    other.ensure_built((16, 16, 1))
    curves.use_start(other, "x.json", "maml", "ab" * 32)
    memo_file = tmp_path / "tuning.json"
    tuning = curves.tune(episodes, labels, memo=memo_file)
    assert set(tuning) == {"baselines", "curve_start_baselines"}
    chosen = tuning["curve_start_baselines"]["adam"]["learning_rate"]
    assert curves.tuned_rates_other_start == {"adam": chosen}
    memo = json.loads(memo_file.read_text())
    assert memo == {
        "adam from own, 2 steps": tuning["baselines"]["adam"],
        f"adam from maml {'ab' * 32}, 2 steps": tuning["curve_start_baselines"]["adam"],
    }
    memo["adam from own, 2 steps"]["learning_rate"] = 0.125  # a search that was never run
    memo_file.write_text(json.dumps(memo))
    printed = capsys.readouterr().out
    assert "adam from the own start: learning rate" in printed
    assert f"adam from the maml's start: learning rate {chosen:g}" in printed
    again = curves.tune(episodes, labels, memo=memo_file)
    assert again["baselines"]["adam"]["learning_rate"] == 0.125 and curves.tuned_rates == {"adam": 0.125}
    assert again["curve_start_baselines"] == tuning["curve_start_baselines"]
    assert capsys.readouterr().out.count(f"from {memo_file}") == 2
    curves.tuned_rates = {"adam": tuning["baselines"]["adam"]["learning_rate"]}
    analysis = curves.analyse(episodes, labels)
    assert analysis["curve_start"]["baseline_curves"]["adam"]["learning_rate"] == chosen
    printed = capsys.readouterr().out
    assert printed.count("Inner-loop curves: the method's update and 2 optimizers") == 2
    start = analysis["curve_start"]
    assert (start["record"], start["method"], start["weights_sha256"]) == ("x.json", "maml", "ab" * 32)
    np.testing.assert_allclose(
        start["baseline_curves"]["sgd"]["loss_mean"], start["inner_curve"]["loss_mean"], rtol=1e-5
    )
    assert start["inner_curve"]["loss_mean"] != analysis["inner_curve"]["loss_mean"]
    assert set(start["paired_vs_baselines"]) == {"sgd", "adam"}

    wider = maml.MAML(filters=3, way=3)
    wider.ensure_built((16, 16, 1))
    with pytest.raises(
        ValueError, match=r"curve_start 'x.json' is a MAML whose parameters have shapes .*3\)"
    ):
        curves.use_start(wider, "x.json", "maml", "ab" * 32)


def _episodes(n: int):
    """`n` 3-way 1-shot 2-query episodes of 16x16 noise and their labels (the curves' arithmetic only)."""
    rng = np.random.default_rng(0)
    episodes = [
        {
            "support_images": rng.uniform(size=(3, 1, 16, 16, 1)).astype("float32"),
            "query_images": rng.uniform(size=(6, 16, 16, 1)).astype("float32"),
        }
        for _ in range(n)
    ]
    labels = np.tile(np.repeat(np.arange(3), 2), (n, 1))
    data = tf.data.Dataset.from_generator(
        lambda: ((e, y) for e, y in zip(episodes, labels, strict=True)),
        output_signature=(
            {
                "support_images": tf.TensorSpec((3, 1, 16, 16, 1), tf.float32),
                "query_images": tf.TensorSpec((6, 16, 16, 1), tf.float32),
            },
            tf.TensorSpec((6,), tf.int64),
        ),
    )
    return data, labels


@pytest.mark.slow
def test_a_meta_batch_takes_the_mean_of_the_per_task_meta_gradients():
    """Second-order MAML (first-order MAML and the meta-learner LSTM share this `train_step`)."""
    from tests.tiny_episodes import tiny_meta_batch

    keras.utils.set_random_seed(3)
    method = maml.MAML(filters=2, way=WAY, inner_steps=2, inner_learning_rate=0.5, meta_batch=3)
    (episodes, labels), singles = tiny_meta_batch(WAY, SHOT, QUERY, tasks=3)
    method(singles[0][0])
    method.compile(optimizer=keras.optimizers.SGD(1.0), **method.compile_arguments())
    loss, grads, _, logits = method.meta_gradients(episodes, labels)
    alone = [method.meta_gradients({k: v[None] for k, v in e.items()}, y[None]) for e, y in singles]
    assert float(loss) == pytest.approx(np.mean([float(a[0]) for a in alone]), rel=1e-6)
    assert logits.shape == (3 * WAY * QUERY, WAY)
    for i, grad in enumerate(grads):
        np.testing.assert_allclose(grad, np.mean([a[1][i] for a in alone], axis=0), rtol=1e-4, atol=1e-5)
    before = [v.numpy() for v in method.trainable_variables]
    method.train_on_batch(episodes, labels)  # one meta-update: SGD at rate 1 subtracts the mean gradient
    for variable, start, grad in zip(method.trainable_variables, before, grads, strict=True):
        np.testing.assert_allclose(variable.numpy(), start - grad.numpy(), rtol=1e-4, atol=1e-5)


def test_meta_batch_must_be_a_positive_number_of_tasks():
    with pytest.raises(ValueError, match="meta_batch must be a positive number of tasks per meta-update"):
        maml.MAML(meta_batch=0)


def test_inductive_batch_norm_classifies_each_query_from_the_support_set_alone():
    """Inductive: a query's logits are the same whatever other queries share the episode, and equal
    those of a pass normalised by the support set; transductive: they change with the other queries."""
    from tests.tiny_episodes import tiny_episode

    def built(policy):
        keras.utils.set_random_seed(3)  # the same initialisation for both policies
        method = maml.FirstOrderMAML(filters=2, way=WAY, inner_steps=1, batch_norm=policy)
        method(tiny_episode(WAY, SHOT, QUERY)[0])
        return method

    episode, _ = tiny_episode(WAY, SHOT, QUERY)
    alone = {**episode, "query_images": episode["query_images"][:1]}
    inductive, transductive = built("inductive"), built("transductive")
    np.testing.assert_allclose(inductive(alone)[0], inductive(episode)[0], atol=1e-5)
    assert np.abs(transductive(alone)[0] - transductive(episode)[0]).max() > 1e-3
    support, labels, _, _ = inductive.flat_support(episode)
    params = inductive.initial_params()
    np.testing.assert_allclose(
        inductive.query_forward(params, support, support), inductive.forward(params, support), atol=1e-5
    )
    assert inductive.get_config()["batch_norm"] == "inductive"
    with pytest.raises(ValueError, match="valid: transductive, inductive"):
        maml.MAML(batch_norm="running")

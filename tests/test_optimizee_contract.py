"""Shared contract of the optimizer track: every task family and every registered optimizer.

A new family or optimizer must pass these before it joins the track (as in learned_optimization's
contract smoke tests).
"""

from __future__ import annotations

import numpy as np
import pytest

from tfmeta import optimizers, tasks
from tfmeta.core import registries
from tfmeta.optimizers.evaluate import Runner


@pytest.fixture(scope="module")
def families(data_dir, cache_dir):
    return {name: tasks.get(name, data_dir, cache_dir) for name in registries.OFFLINE_FAMILIES}


@pytest.mark.parametrize("name", registries.OFFLINE_FAMILIES)
def test_family_contract(families, name):
    family = families[name]
    first, again = family.sample(2, 7, "train", 4), family.sample(2, 7, "train", 4)
    held_out = family.sample(2, 7, "test", 4)
    assert first.size == 2 and all(p.shape[0] == 2 for p in first.params)
    for a, b in zip(first.params, again.params, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # a pure function of the seed
    assert any(
        not np.array_equal(a.numpy(), b.numpy())
        for a, b in zip(first.data.values(), held_out.data.values(), strict=True)
    )
    for loss in (family.loss(first.params, first.data, 3), family.eval_loss(first.params, first.data)):
        assert loss.shape == (2,) and np.all(np.isfinite(loss.numpy()))
    assert family.config()["name"] == family.name


@pytest.mark.parametrize(
    "family_name, optimizer_name",
    [(f, o) for f in registries.OFFLINE_FAMILIES for o in ("sgd", "lstm")]
    + [("quadratic", o) for o in optimizers.BASELINES],
)
def test_every_optimizer_runs_every_family(families, family_name, optimizer_name):
    family = families[family_name]
    problems = family.sample(2, 3, "test", 3)
    kwargs = {"pretrained": "quadratic"} if optimizer_name == "lstm" else {"learning_rate": 0.01}
    runner = Runner(family, optimizers.get(optimizer_name, **kwargs), problems)
    losses = runner.run(problems, 3)
    assert losses.shape == (2, 4) and np.all(np.isfinite(losses))
    np.testing.assert_allclose(runner.run(problems, 3), losses, rtol=1e-5)  # restarts from scratch


def test_mnist_family_is_registered_without_downloading():
    family = tasks.get("mlp_mnist")
    assert family.config()["dataset"] == "mnist" and "mlp_mnist" not in registries.OFFLINE_FAMILIES


def test_registries_list_valid_names():
    with pytest.raises(KeyError, match="valid families: quadratic, mlp_omniglot"):
        tasks.get("mnist")
    with pytest.raises(KeyError, match="valid optimizers: sgd, momentum, nag, adam, rmsprop, adagrad, lstm"):
        optimizers.get("lion")

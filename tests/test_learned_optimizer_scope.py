"""What docs/optimizers.md and the `LSTMOptimizer` docstring say about where the shipped optimizers work
holds for the committed records of the optimizer track, and the state per parameter they give is the
code's. A record that changes a verdict fails here, naming the sentence to rewrite."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tests.records import REPO
from tfmeta import tasks
from tfmeta.core import registries
from tfmeta.optimizers import LSTMOptimizer
from tfmeta.records import optimizer as optimizer_records
from tfmeta.records.frames import optimizers as frames

DOCS = REPO / "docs" / "optimizers.md"
MLP_RULE, QUADRATIC_RULE = "lstm[mlp]", "lstm[quadratic]"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    loaded = optimizer_records.load_all(REPO / "leaderboard" / "results" / optimizer_records.SUBFOLDER)
    return [record for _, record in loaded.records if record["profile"] == "standard"]


def _learned(records, name):
    return [r for r in records if r["optimizer"] == name]


def _outcomes_against_best(records) -> dict[tuple[str, str], str]:
    frame = frames.best_baseline_frame(records)
    return {(row.task, row.learned): row.outcome for row in frame.itertuples()}


def test_the_mlp_rule_works_on_sigmoid_mlps_up_to_twice_its_horizon(records):
    """The docs: on the MLP it was meta-trained on, on one with twice the units, on one with a second
    hidden layer, and on runs twice its horizon, its mean final loss is the lowest of all optimizers and
    it never loses to the best tuned baseline; no record runs longer than twice the horizon."""
    sigmoid = [r for r in _learned(records, MLP_RULE) if r["family"].get("activation") == "sigmoid"]
    trained = {
        (r["family"]["hidden"], r["family"]["layers"])
        for r in sigmoid
        if r["family"]["name"] == "mlp_omniglot"
    }
    assert trained == {(20, 1)}
    variants = {
        (r["family"]["hidden"], r["family"]["layers"], r["horizon"] // r["trained_horizon"]) for r in sigmoid
    }
    assert {(20, 1, 1), (40, 1, 1), (20, 2, 1), (20, 1, 2)} <= variants, variants
    outcomes = _outcomes_against_best(records)
    for record in sigmoid:
        finals = {r["optimizer"]: r["final_loss"]["mean"] for r in records if r["task"] == record["task"]}
        assert min(finals, key=finals.get) == MLP_RULE, (record["task"], finals)
        assert outcomes[(record["task"], MLP_RULE)] != "loses", record["task"]
    learned = [r for r in records if r["optimizer"] not in registries.BASELINES]
    assert max(r["horizon"] / r["trained_horizon"] for r in learned) == 2


def test_the_quadratic_rule_ties_the_best_baseline_on_its_family(records):
    """The docs: `"quadratic"` ties the best tuned baseline on its quadratics, at its horizon and twice it."""
    quadratic = _learned(records, QUADRATIC_RULE)
    assert {r["horizon"] // r["trained_horizon"] for r in quadratic} == {1, 2}
    outcomes = _outcomes_against_best(records)
    assert {outcomes[(r["task"], QUADRATIC_RULE)] for r in quadratic} == {"ties"}


def test_the_mlp_rule_fails_on_relu(records):
    """The docs: on the same MLP with ReLU units it loses to every tuned baseline, and on the ReLU convnet
    to the best one."""
    relu = [r for r in _learned(records, MLP_RULE) if r["family"].get("activation") == "relu"]
    assert relu
    outcomes = frames.outcomes_frame(records)
    for record in relu:
        mine = outcomes[(outcomes.task == record["task"]) & (outcomes.learned == MLP_RULE)]
        assert set(mine.baseline) == set(registries.BASELINES) and set(mine.outcome) == {"loses"}
    (convnet,) = [r for r in _learned(records, MLP_RULE) if r["family"]["name"] == "convnet_omniglot"]
    assert _outcomes_against_best(records)[(convnet["task"], MLP_RULE)] == "loses"


def test_the_largest_track_problem_is_the_40_unit_mlp():
    """The docs: the track's problems are small, the largest being the 40-unit MLP (about twelve
    thousand parameters, against the million of the performance table's largest model)."""
    rng = np.random.default_rng(0)
    sizes = {
        name: sum(int(np.prod(p.shape[1:])) for p in tasks.get(name)._init(rng, 1))
        for name in ("mlp_omniglot", "mlp_omniglot_40", "mlp_omniglot_2layer", "mlp_omniglot_relu")
    }
    assert max(sizes, key=sizes.get) == "mlp_omniglot_40" and 10_000 < sizes["mlp_omniglot_40"] < 15_000


def test_the_state_per_parameter_is_the_one_the_docs_give():
    """The docs' count, `2 x num_layers x units` values per parameter (80 at the defaults, 320 bytes in
    float32) against Adam's 2, is what the optimizers allocate."""
    text = " ".join(DOCS.read_text().split())
    assert "`2 x num_layers x units` values per parameter: 80 float32 values, 320 bytes" in text
    assert "where Adam keeps 2" in text
    assert "(2 layers of 20 units;" in text
    variables = [keras.Variable(np.zeros((3, 4), "float32")), keras.Variable(np.zeros(5, "float32"))]
    parameters = sum(int(np.prod(v.shape)) for v in variables)

    def per_parameter(optimizer) -> int:
        optimizer.build(variables)
        return sum(int(np.prod(v.shape)) for v in optimizer.variables if len(v.shape)) // parameters

    lstm = LSTMOptimizer(seed=0)
    assert (lstm.num_layers, lstm.units) == (2, 20)
    assert per_parameter(lstm) == 2 * lstm.num_layers * lstm.units == 80
    assert lstm.state_bytes_per_parameter() == 320
    assert per_parameter(keras.optimizers.Adam()) == 2

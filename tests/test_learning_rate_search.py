"""The learning-rate search every tuned baseline goes through: a winner on the grid's edge is not trusted."""

from __future__ import annotations

import math

import pytest

from tfmeta.optimizers.grid import search

SPEC_GRID = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]


def bowl(optimum: float):
    """A loss with its minimum at `optimum`, quadratic in log10 of the rate."""
    return lambda rate: (math.log10(rate) - math.log10(optimum)) ** 2


@pytest.mark.parametrize("optimum", [7.0, 0.00002, 0.05])
def test_the_winner_ends_interior_with_neighbours_a_third_of_a_decade_away(optimum):
    found = search(bowl(optimum), SPEC_GRID)
    assert found["interior"]
    i = found["grid"].index(found["winner"])
    below, above = found["grid"][i - 1], found["grid"][i + 1]
    assert found["winner"] / below <= 10 ** (1 / 3) + 1e-6 and above / found["winner"] <= 10 ** (1 / 3) + 1e-6
    assert abs(math.log10(found["winner"] / optimum)) <= 0.25  # within a quarter-decade of the optimum
    assert found["scores"] == [bowl(optimum)(r) for r in found["grid"]]


def test_the_edge_of_divergence_bounds_the_winner():
    found = search(lambda rate: None if rate > 0.5 else -rate, [0.01, 0.1])
    assert found["winner"] < 0.5 and found["interior"]
    assert any(score is None for score in found["scores"])  # the diverged rate above is recorded


def test_a_winner_still_on_the_edge_after_every_extension_is_not_called_interior():
    found = search(lambda rate: -rate, [0.01, 0.1], max_extensions=2)
    assert not found["interior"] and found["winner"] == max(found["grid"])


def test_everything_diverging_is_an_error_naming_the_rates():
    with pytest.raises(FloatingPointError, match="every learning rate of"):
        search(lambda rate: float("nan"), [0.01, 0.1], max_extensions=1)

"""Verdicts over seeds and episodes: the hierarchical t test, Holm's step-down and exact counts.

Synthetic data throughout (accuracies are binomial counts out of `QUERIES`), and the committed records of
four leaderboard comparisons, two of which a test over episodes alone calls significant.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from tfmeta.core.stats import paired_comparison
from tfmeta.records import verdicts
from tfmeta.records.entries import entry_key, training_seed
from tfmeta.records.verdicts import Comparison, compare, compare_many, holm

QUERIES = 300
RESULTS = Path(__file__).resolve().parents[1] / "leaderboard" / "results"


def entry(rng: np.random.Generator, seed_means: list[float], difficulty: np.ndarray) -> np.ndarray:
    """[seeds, episodes] accuracies: each seed's mean plus a per-episode difficulty shared by all entries,
    answered with binomial noise over `QUERIES` queries."""
    chances = np.clip(np.asarray(seed_means)[:, None] + difficulty[None, :], 0, 1)
    return rng.binomial(QUERIES, chances) / QUERIES


def with_p(p: float, df: float = 20.0, sign: int = 1, seeds: tuple[int, int] = (3, 3)) -> Comparison:
    """A comparison with standard error 1 whose two-sided p is `p` (A ahead of B when `sign` > 0)."""
    return with_statistic(sign * float(stats.t.isf(p / 2, df)), df, seeds)


def with_statistic(difference: float, df: float = 20.0, seeds: tuple[int, int] = (3, 3)) -> Comparison:
    """A comparison with standard error 1, so that `difference` is its t statistic."""
    p = float(2 * stats.t.sf(abs(difference), df))
    half = float(stats.t.isf(0.025, df))
    return Comparison(
        difference=difference, low=difference - half, high=difference + half, level=0.95, p=p,
        standard_error=1.0, df=df, components=(0.4, 0.4, 0.2), seeds_a=seeds[0], seeds_b=seeds[1],
        episodes=100, seed_aware=min(seeds) >= 3, queries=None,
    )  # fmt: skip


def agrees(verdict: verdicts.Verdict, alpha: float = 0.05) -> bool:
    """outcome != ties <=> the printed interval excludes zero <=> the adjusted p is below alpha."""
    excludes = verdict.low > 0 or verdict.high < 0
    return (verdict.outcome != "ties") == excludes == (verdict.p_adjusted < alpha)


def test_seed_variance_the_episode_test_misses_gives_an_interval_across_zero():
    rng = np.random.default_rng(11)
    difficulty = rng.normal(0, 0.03, 1000)
    a = entry(rng, [0.946, 0.940, 0.934], difficulty)  # seed spread 0.6 pts, mean 94.0
    b = entry(rng, [0.944, 0.938, 0.932], difficulty)  # the same spread, 0.2 pts lower
    old = paired_comparison(a.mean(axis=0), b.mean(axis=0))
    c = compare(a, b)
    (verdict,) = holm([c])
    message = f"Wilcoxon p = {old.wilcoxon_p:.2g}; {verdict.text()}; {c}"
    assert old.wilcoxon_p < 0.001, message
    assert c.low < 0 < c.high and verdict.outcome == "ties", message
    assert c.queries == QUERIES and c.seed_aware and c.p > 0.2, message
    seeds_a, seeds_b, episodes = c.components
    assert seeds_a > 5 * episodes and seeds_b > 5 * episodes, message  # the seeds dominate
    assert 2 <= c.df < 5, message  # and so the t quantile is far from 1.96


def test_a_clear_difference_over_three_seeds_each_beats():
    rng = np.random.default_rng(12)
    difficulty = rng.normal(0, 0.03, 600)
    a = entry(rng, [0.952, 0.950, 0.948], difficulty)
    b = entry(rng, [0.932, 0.930, 0.928], difficulty)
    (verdict,) = holm([compare(a, b)])
    assert verdict.outcome == "beats" and verdict.low > 0, verdict.text()
    assert verdict.note == "" and verdict.comparison.seed_aware
    assert abs(verdict.comparison.difference - 0.02) < 0.003
    (reverse,) = holm([compare(b, a)])
    assert reverse.outcome == "loses to" and reverse.high < 0, reverse.text()
    assert re.fullmatch(
        r"beats: \+[12]\.\d\d \[\+1\.\d\d, \+2\.\d\d\] pts \(p = [0-9.e-]+, 3 vs 3 seeds\)", verdict.text()
    ), verdict.text()
    assert verdict.p_adjusted < 1e-3


def test_the_closed_form_by_hand():
    a = np.array([[0.6, 0.8, 0.7, 0.9], [0.5, 0.9, 0.6, 0.8], [0.7, 0.7, 0.8, 0.9]])
    b = np.array([[0.5, 0.7, 0.7, 0.6], [0.6, 0.6, 0.5, 0.8]])
    c = compare(a, b, level=0.9)
    seed_a = np.var(a.mean(axis=1), ddof=1) / 3
    seed_b = np.var(b.mean(axis=1), ddof=1) / 2
    episode = np.var(a.mean(axis=0) - b.mean(axis=0), ddof=1) / 4
    se = math.sqrt(seed_a + seed_b + episode)
    df = se**4 / (seed_a**2 / 2 + seed_b**2 / 1 + episode**2 / 3)
    difference = a.mean() - b.mean()
    half = stats.t.ppf(0.95, df) * se
    assert c.queries == 10 and (c.seeds_a, c.seeds_b, c.episodes) == (3, 2, 4)
    assert c.difference == pytest.approx(difference, abs=1e-15)
    assert c.components == pytest.approx((seed_a, seed_b, episode), rel=1e-12)
    assert (c.standard_error, c.df) == pytest.approx((se, df), rel=1e-12)
    assert c.p == pytest.approx(2 * stats.t.sf(abs(difference) / se, df), rel=1e-9)
    assert (c.low, c.high) == pytest.approx((difference - half, difference + half), rel=1e-9)
    assert c.statistic == pytest.approx(abs(difference) / se, rel=1e-12)
    assert c.interval(0.9) == (c.low, c.high)
    assert c.interval(0.99)[0] < c.low and c.interval(0.99)[1] > c.high


def test_one_seed_a_side_is_the_paired_t_test_and_one_episode_is_welchs():
    rng = np.random.default_rng(3)
    difficulty = rng.normal(0, 0.05, 800)
    a, b = entry(rng, [0.9], difficulty), entry(rng, [0.895], difficulty)
    c = compare(a, b)
    paired = stats.ttest_rel(a[0], b[0])
    assert c.p == pytest.approx(paired.pvalue, rel=1e-9) and c.df == 799
    assert c.components[:2] == (0.0, 0.0)
    # One episode: seeds only, Welch's unequal-variance t test of the seed means.
    a, b = np.array([[0.61], [0.70], [0.64], [0.66]]), np.array([[0.58], [0.66], [0.57]])
    c = compare(a, b)
    welch = stats.ttest_ind(a[:, 0], b[:, 0], equal_var=False)
    assert c.p == pytest.approx(welch.pvalue, rel=1e-9) and c.df == pytest.approx(welch.df, rel=1e-12)
    assert c.components[2] == 0.0
    # One seed on one episode against one seed: nothing is estimable.
    c = compare([[0.5]], [[0.4]])
    assert (c.standard_error, c.df, c.p, c.low, c.high) == (math.inf, 0.0, 1.0, -math.inf, math.inf)
    assert holm([c])[0].outcome == "ties"


def test_the_test_holds_its_level_with_three_seeds_whose_spread_dominates():
    rng = np.random.default_rng(1)
    rejections, runs = 0, 500
    for _ in range(runs):
        difficulty = rng.normal(0, 0.03, 100)
        a = entry(rng, list(0.9 + rng.normal(0, 0.003, 3)), difficulty)
        b = entry(rng, list(0.9 + rng.normal(0, 0.003, 3)), difficulty)
        rejections += compare(a, b).p < 0.05
    assert 0.02 <= rejections / runs <= 0.085, f"{rejections} of {runs} rejected at 0.05 under the null"


def test_holm_does_not_reject_the_smallest_p_between_alpha_over_m_and_alpha():
    family = [with_p(0.041), with_p(0.3), with_p(0.5), with_p(0.7), with_p(0.9)]
    assert family[0].p == pytest.approx(0.041)
    (alone,) = holm([family[0]])
    assert alone.outcome == "beats"
    results = holm(family)
    assert [v.outcome for v in results] == ["ties"] * 5
    stop_level = 1 - 0.05 / 5
    assert all(v.level == pytest.approx(stop_level) for v in results)
    assert results[0].low <= 0 <= results[0].high
    assert results[0].p_adjusted == pytest.approx(5 * 0.041)
    assert all(agrees(v) for v in results)


def test_holm_steps_down_where_bonferroni_would_not():
    family = [with_p(0.03), with_p(0.004, sign=-1), with_p(0.011)]  # below 0.05, 0.05/3, 0.05/2
    results = holm(family)
    assert [v.outcome for v in results] == ["beats", "loses to", "beats"], [v.text() for v in results]
    assert [v.level for v in results] == pytest.approx([0.95, 1 - 0.05 / 3, 0.975])
    assert [v.p_adjusted for v in results] == pytest.approx([0.03, 0.012, 0.022])  # max(3 * 0.004, 2 * 0.011)
    assert all(agrees(v) for v in results)
    # The interval printed is the t interval at the Holm level.
    low, high = family[2].interval(0.975)
    assert (results[2].low, results[2].high) == (low, high)


def test_a_statistic_exactly_at_the_holm_threshold_is_not_rejected_and_one_bit_above_is():
    for df, alpha, m in [(20.0, 0.05, 1), (2.37, 0.05, 3), (999.0, 0.01, 2), (3.5, 0.1, 5)]:
        threshold = -float(verdicts.special.stdtrit(df, alpha / m / 2))
        fillers = [with_p(0.9)] * (m - 1)
        at = holm([with_statistic(threshold, df), *fillers], alpha)[0]
        above = holm([with_statistic(math.nextafter(threshold, math.inf), df), *fillers], alpha)[0]
        below = holm([with_statistic(-math.nextafter(threshold, math.inf), df), *fillers], alpha)[0]
        assert at.outcome == "ties" and at.low <= 0 <= at.high and at.p_adjusted >= alpha, at
        assert above.outcome == "beats" and above.low > 0 and above.p_adjusted < alpha, above
        assert below.outcome == "loses to" and below.high < 0 and below.p_adjusted < alpha, below


def test_every_verdict_of_random_families_agrees_with_its_interval_and_adjusted_p():
    rng = np.random.default_rng(5)
    outcomes = set()
    for family in range(300):
        m = int(rng.integers(1, 9))
        comparisons = []
        for _ in range(m):
            episodes, gap = int(rng.integers(2, 120)), rng.choice([0.0, 0.005, 0.02, 0.05])
            seeds_a, seeds_b = int(rng.integers(1, 5)), int(rng.integers(1, 5))
            difficulty = rng.normal(0, 0.05, episodes)
            a = entry(rng, list(0.8 + gap * rng.choice([-1, 1]) + rng.normal(0, 0.01, seeds_a)), difficulty)
            b = entry(rng, list(0.8 + rng.normal(0, 0.01, seeds_b)), difficulty)
            comparisons.append(compare(a, b, queries=QUERIES))
        alpha = float(rng.choice([0.05, 0.1, 0.01]))
        if family % 3 == 0:  # a comparison on the edge of a Holm level, either side of it by a bit
            divisor = int(rng.integers(1, m + 1))
            df = float(rng.uniform(1.5, 50))
            edge = -float(verdicts.special.stdtrit(df, alpha / divisor / 2))
            comparisons[int(rng.integers(m))] = with_statistic(
                math.nextafter(edge, rng.choice([math.inf, -math.inf, edge])), df
            )
        results = holm(comparisons, alpha=alpha)
        ps = sorted(c.p for c in comparisons)
        adjusted = np.maximum.accumulate([min(1, (m - k) * p) for k, p in enumerate(ps)])
        for verdict in results:
            outcomes.add(verdict.outcome)
            assert agrees(verdict, alpha), verdict
            assert verdict.family == m and verdict.comparison in comparisons
            assert any(
                math.isclose(verdict.p_adjusted, p, rel_tol=1e-9) or abs(verdict.p_adjusted - alpha) < 1e-12
                for p in adjusted
            ), verdict
            assert (verdict.outcome == "beats") == (verdict.low > 0), verdict
            assert (verdict.outcome == "loses to") == (verdict.high < 0), verdict
        # Holm's rule: the rejected are a prefix of the ranking by p.
        ranked = sorted(range(m), key=lambda i: (comparisons[i].p, i))
        rejected = [results[i].outcome != "ties" for i in ranked]
        assert rejected == sorted(rejected, reverse=True)
    assert outcomes == {"beats", "ties", "loses to"}


def test_the_same_inputs_give_identical_verdicts():
    rng = np.random.default_rng(6)
    difficulty = rng.normal(0, 0.04, 300)
    a, b = entry(rng, [0.9, 0.91, 0.905], difficulty), entry(rng, [0.9, 0.895], difficulty)
    first, second = compare(a, b), compare(a.copy(), b.copy())
    assert first == second
    assert [v.text() for v in holm([first, first])] == [v.text() for v in holm([second, second])]
    # Counts are exact: the order of the seeds and the denominator change nothing.
    assert compare(a[::-1], b[::-1]) == first
    assert compare(a, b, queries=3 * QUERIES) == dataclass_with(first, queries=3 * QUERIES)


def dataclass_with(comparison: Comparison, **changes) -> Comparison:
    return dataclasses.replace(comparison, **changes)


def test_notes_for_one_and_two_seeds():
    rng = np.random.default_rng(7)
    difficulty = rng.normal(0, 0.04, 100)
    three, two, one = (entry(rng, [0.9] * n, difficulty) for n in (3, 2, 1))
    notes = [v.note for v in holm([compare(three, one), compare(two, three), compare(three, three)])]
    assert notes == ["one seed: test-episode noise only", "fewer than 3 seeds: seed spread poorly known", ""]
    single = holm([compare(one, three)])[0]
    assert "1 vs 3 seeds; one seed: test-episode noise only)" in single.text()
    assert not single.comparison.seed_aware and holm([compare(three, three)])[0].comparison.seed_aware
    assert single.comparison.components[0] == 0.0 and single.comparison.components[1] > 0


def test_shapes_that_do_not_pair_are_refused():
    with pytest.raises(ValueError, match=r"\(3, 100\) and \(3, 99\)"):
        compare(np.full((3, 100), 0.5), np.full((3, 99), 0.5))
    with pytest.raises(ValueError, match=r"\(100,\)"):
        compare(np.full(100, 0.5), np.full((3, 100), 0.5))
    with pytest.raises(ValueError, match=r"\(0, 100\)"):
        compare(np.empty((0, 100)), np.full((3, 100), 0.5))
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        compare(np.full((3, 100), 0.5), np.full((3, 100), 0.5), level=1.0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        holm([with_p(0.01)], alpha=0.0)
    with pytest.raises(ValueError, match="different numbers of episodes"):
        verdicts.per_seed([{"seed": 0, "per_episode": [0.5] * 3}, {"seed": 1, "per_episode": [0.5] * 4}])
    with pytest.raises(ValueError, match="same training seed"):
        verdicts.per_seed([{"seed": 0, "per_episode": [0.5] * 3}, {"seed": 0, "per_episode": [0.6] * 3}])


def test_per_seed_orders_rows_by_training_seed():
    records = [{"seed": 2, "per_episode": [0.2, 0.4]}, {"seed": 0, "per_episode": [0.1, 0.3]}]
    assert verdicts.per_seed(records).tolist() == [[0.1, 0.3], [0.2, 0.4]]


def test_identical_entries_tie_with_p_one_and_a_zero_interval():
    rng = np.random.default_rng(8)
    a = entry(rng, [0.9, 0.9, 0.9], rng.normal(0, 0.04, 200))
    same = np.repeat(a[:1], 3, axis=0)
    c = compare(same, same[:2])
    (verdict,) = holm([c])
    assert (c.difference, c.low, c.high, c.p, c.standard_error) == (0.0, 0.0, 0.0, 1.0, 0.0)
    assert verdict.outcome == "ties" and verdict.text().startswith("ties: +0.00 [+0.00, +0.00] pts (p = 1,")
    # The same seeds listed in another order: the difference and the episode component are exactly zero
    # (counts, not floating point); the seeds still vary.
    c = compare(a, a[::-1])
    assert c.difference == 0.0 and c.components[2] == 0.0 and c.standard_error > 0
    assert c.p == 1.0 and c.low == -c.high and holm([c])[0].outcome == "ties"


def test_a_constant_offset_on_every_seed_and_episode_has_p_zero():
    rng = np.random.default_rng(9)
    counts = rng.integers(1, QUERIES, 150)
    a = np.repeat((counts / QUERIES)[None], 3, axis=0)
    b = np.repeat(((counts - 1) / QUERIES)[None], 2, axis=0)
    c = compare(a, b)
    assert (c.standard_error, c.p, c.df) == (0.0, 0.0, math.inf)
    assert c.difference == c.low == c.high == pytest.approx(1 / QUERIES)
    verdict = holm([with_p(0.5), c, with_p(0.3)])[1]
    assert verdict.outcome == "beats" and verdict.low == verdict.high > 0 and verdict.p_adjusted == 0.0
    assert "(Holm p = 0, 3 vs 2 seeds" in verdict.text()  # exact: SE = 0 < |D|
    assert holm([compare(b, a)])[0].outcome == "loses to"


def test_a_p_value_below_the_smallest_float_reads_as_a_bound_not_as_zero():
    far = with_statistic(60.0, df=1e6)  # a two-sided tail far below 1e-308: it underflows to 0
    verdict = holm([far])[0]
    assert verdict.p_adjusted == 0.0 and not math.isinf(far.statistic)
    assert "(p < 1e-300, 3 vs 3 seeds)" in verdict.text()


def test_thirds_tie_exactly_where_floating_point_does_not():
    a, b = np.array([[1 / 3, 2 / 3]]), np.array([[2 / 3, 1 / 3], [0.0, 1.0]])
    assert verdicts.tied(a, b, 3)
    assert not verdicts.tied(a, np.array([[2 / 3, 2 / 3]]), 3)
    c = compare(a, b)
    assert c.queries == 3 and c.difference == 0.0 and c.p == 1.0


def test_correct_counts_are_exact_integers():
    counts = verdicts.correct_counts([74 / 75, 1.0, 0.0, 1 / 75 + 1e-9], 75)
    assert counts.dtype == np.int64 and counts.tolist() == [74, 75, 0, 1]
    with pytest.raises(ValueError, match="not a count out of 75"):
        verdicts.correct_counts([0.5], 75)
    with pytest.raises(ValueError, match="not a count out of 75"):
        verdicts.correct_counts([76 / 75], 75)
    assert verdicts.query_count({"benchmark": {"way": 20, "query": 15}}) == 300
    rng = np.random.default_rng(9)
    noisy = rng.normal(0.9, 0.01, (2, 50))
    floating = compare(noisy, noisy + 0.001)
    assert floating.queries is None and floating.difference == pytest.approx(-0.001)
    with pytest.raises(ValueError, match="not a count out of 300"):
        compare(noisy, noisy, queries=300)


def test_text_form_in_points():
    spread = with_statistic(2.6, df=20.0)
    (verdict,) = holm([dataclass_with(spread, difference=0.0099, standard_error=0.0099 / 2.6)])
    assert verdict.text() == "beats: +0.99 [+0.20, +1.78] pts (p = 0.017, 3 vs 3 seeds)"
    first, second = holm([verdict.comparison, with_p(0.9)])
    assert first.text() == "beats: +0.99 [+0.07, +1.91] pts (Holm p = 0.034, 3 vs 3 seeds)"
    assert second.text().startswith("ties: ") and "Holm p = 0.9" in second.text()


def test_tally_and_performance_profile():
    results = holm([with_p(0.001), with_p(0.9), with_p(0.001, sign=-1)])
    assert verdicts.tally(results) == {"beats": 1, "ties": 1, "loses to": 1}
    scores = {"adam": {"mlp": 1.0, "cnn": 2.0, "rnn": 4.0}, "learned": {"mlp": 1.5, "cnn": 1.0}}
    profile = verdicts.performance_profile(scores, [1.0, 1.5, 2.0])
    assert profile == {"adam": [2 / 3, 2 / 3, 1.0], "learned": [1 / 3, 2 / 3, 2 / 3]}
    with pytest.raises(ValueError, match="positive"):
        verdicts.performance_profile({"adam": {"mlp": 0.0}}, [1.0])


def table(rng: np.random.Generator, seeds: list[int], episodes: int = 200) -> list[np.ndarray]:
    """Entries of one table over the same episodes, each a little better than the one before."""
    difficulty = rng.normal(0, 0.04, episodes)
    return [
        entry(rng, list(0.88 + 0.004 * k + rng.normal(0, 0.003, n)), difficulty) for k, n in enumerate(seeds)
    ]


def test_compare_many_gives_compare_for_each_pair_whatever_else_is_in_the_call():
    rng = np.random.default_rng(20)
    entries = table(rng, [3, 2, 5, 1])
    pairs = [(i, j) for i in range(4) for j in range(4) if i != j] + [(0, 1)]
    results = compare_many(entries, pairs, level=0.9)
    for (i, j), comparison in zip(pairs, results, strict=True):
        assert comparison == compare(entries[i], entries[j], level=0.9), (i, j)
        assert compare_many(entries + table(rng, [2]), [(i, j)], level=0.9)[0] == comparison
    assert results[-1] is results[0]
    # A pair reversed: the difference and interval negated, the same p, SE and df.
    forward, backward = results[pairs.index((0, 1))], results[pairs.index((1, 0))]
    assert (backward.difference, backward.low, backward.high) == (
        -forward.difference,
        -forward.high,
        -forward.low,
    )
    assert (backward.p, backward.standard_error, backward.df) == (
        forward.p,
        forward.standard_error,
        forward.df,
    )
    assert backward.components == (forward.components[1], forward.components[0], forward.components[2])
    # Floating point (no common denominator) too.
    noisy = [x + rng.normal(0, 1e-4, x.shape) for x in entries]
    first = compare_many(noisy, [(0, 1), (2, 3)])[0]
    assert first.queries is None and first == compare(*noisy[:2])
    assert compare_many(entries, []) == []


def test_holm_over_a_table_compared_at_once_agrees_with_itself():
    rng = np.random.default_rng(24)
    entries = table(rng, [3, 3, 2, 3, 3, 3], episodes=400)
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    neighbours = [(i, i + 1) for i in range(5)]
    results = compare_many(entries, pairs + neighbours)
    family, near = holm(results[: len(pairs)]), holm(results[len(pairs) :])
    assert all(agrees(v) for v in family + near)
    assert {v.outcome for v in family} >= {"ties", "loses to"}
    assert [v.comparison for v in near] == [results[pairs.index(p)] for p in neighbours]


def test_compare_many_refuses_entries_and_pairs_that_do_not_fit():
    good = np.full((3, 100), 0.5)
    with pytest.raises(ValueError, match=r"\(3, 100\), \(3, 100\) and \(3, 99\)"):
        compare_many([good, good, np.full((3, 99), 0.5)], [(0, 1)])
    with pytest.raises(ValueError, match=r"\(100,\)"):
        compare_many([good, np.full(100, 0.5)], [(0, 1)])
    with pytest.raises(ValueError, match=r"\(0, 100\)"):
        compare_many([good, np.empty((0, 100))], [])
    with pytest.raises(ValueError, match="finite"):
        compare_many([good, np.full((2, 100), np.nan)], [(0, 1)])
    for pair in [(0, 2), (-1, 0), (1, 1), (3, 0)]:
        with pytest.raises(ValueError, match=r"two different entry indices in \[0, 2\)"):
            compare_many([good, good], [(0, 1), pair])
    with pytest.raises(ValueError, match="two entry indices"):
        compare_many([good, good], [(0, 1, 1)])
    with pytest.raises(TypeError):
        compare_many([good, good], [(0.0, 1)])
    with pytest.raises(ValueError, match="not a count out of 300"):
        compare_many([good, np.full((1, 100), 0.501)], [(0, 1)], queries=300)


def test_sums_of_squares_beyond_int64_stay_exact(monkeypatch):
    rng = np.random.default_rng(25)
    queries = 9_973  # prime: a large common denominator
    a = rng.integers(0, queries + 1, (40, 3000)) / queries
    b = rng.integers(0, queries + 1, (30, 3000)) / queries
    c = compare(a, b, queries=queries)
    episode = np.var(a.mean(axis=0) - b.mean(axis=0), ddof=1) / 3000
    assert c.components[2] == pytest.approx(episode, rel=1e-9)
    monkeypatch.setattr(verdicts, "_INT64_SAFE", 1)  # Python integers throughout
    assert compare(a, b, queries=queries) == c


def standard_entry(prefix: str) -> list[dict]:
    """The one standard-profile entry of `prefix` with 3 seeds on the 1000 test episodes, the newest
    record of each seed."""
    entries: dict[tuple, dict[int, dict]] = {}
    for path in sorted(RESULTS.glob(f"{prefix}-standard-seed*.json")):
        record = json.loads(path.read_text())
        if record["profile"] != "standard" or len(record["per_episode"]) != 1000:
            continue
        seeds = entries.setdefault(entry_key(record), {})
        newest = seeds.get(training_seed(record))
        if newest is None or record["provenance"]["created"] > newest["provenance"]["created"]:
            seeds[training_seed(record)] = record
    three = [list(seeds.values()) for seeds in entries.values() if len(seeds) == 3]
    assert len(three) == 1, f"{prefix}: {len(three)} entries with 3 seeds"
    return three[0]


@pytest.mark.parametrize(
    "mine, theirs, outcome, difference, standard_error, df, p",
    [
        # Separated by a test over episodes alone; not by the seeds.
        ("omniglot-protonet_hallucination-20w1s", "omniglot-protonet-20w1s", "ties", 0.12, 0.138, 2.4, 0.45),
        ("omniglot-reptile-5w5s", "omniglot-maml-5w5s", "ties", -0.08, 0.060, 9.9, 0.20),
        # Called a loss at bootstrap p = 0.0026 over 3 seeds; a Welch test of the seed means gives 0.16.
        ("omniglot-meta_lstm-5w5s", "omniglot-finetune-5w5s", "ties", -0.33, 0.133, 2.9, 0.096),
        ("omniglot-relation-5w1s", "omniglot-protonet-5w1s", "beats", 0.26, 0.061, 129, 4.7e-5),
    ],
)
def test_committed_entries(mine, theirs, outcome, difference, standard_error, df, p):
    a_records, b_records = standard_entry(mine), standard_entry(theirs)
    assert a_records[0]["episodes_hash"] == b_records[0]["episodes_hash"]
    a, b = verdicts.per_seed(a_records), verdicts.per_seed(b_records)
    c = compare(a, b)
    (verdict,) = holm([c])
    old = paired_comparison(a.mean(axis=0), b.mean(axis=0))
    message = (
        f"{mine} vs {theirs}: {verdict.text()}; D = {100 * c.difference:+.3f} pts, SE = "
        f"{100 * c.standard_error:.4f} pts, df = {c.df:.2f}, p = {c.p:.3g}; components (pts^2) "
        f"{[round(1e4 * x, 5) for x in c.components]}; seed means "
        f"{np.round(100 * a.mean(axis=1), 2).tolist()} vs {np.round(100 * b.mean(axis=1), 2).tolist()}; "
        f"episode-only Wilcoxon p = {old.wilcoxon_p:.2g}"
    )
    assert verdict.outcome == outcome, message
    assert c.queries == verdicts.query_count(a_records[0]) and c.seed_aware, message
    assert 100 * c.difference == pytest.approx(difference, abs=0.005), message
    assert 100 * c.standard_error == pytest.approx(standard_error, abs=0.0015), message
    assert c.df == pytest.approx(df, rel=0.05), message
    assert c.p == pytest.approx(p, rel=0.05), message
    assert (c.low < 0 < c.high) == (outcome == "ties"), message

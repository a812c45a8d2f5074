"""Verdicts over seeds and episodes: the hierarchical paired bootstrap, Holm's step-down and exact counts.

Synthetic data throughout (accuracies are binomial counts out of `QUERIES`), and the committed records of
two leaderboard comparisons that a test over episodes alone calls significant.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from tfmeta.records import verdicts
from tfmeta.records.entries import entry_key, training_seed
from tfmeta.records.stats import paired_comparison
from tfmeta.records.verdicts import Comparison, compare, holm

QUERIES = 300
RESULTS = Path(__file__).resolve().parents[1] / "leaderboard" / "results"


def entry(rng: np.random.Generator, seed_means: list[float], difficulty: np.ndarray) -> np.ndarray:
    """[seeds, episodes] accuracies: each seed's mean plus a per-episode difficulty shared by all entries,
    answered with binomial noise over `QUERIES` queries."""
    chances = np.clip(np.asarray(seed_means)[:, None] + difficulty[None, :], 0, 1)
    return rng.binomial(QUERIES, chances) / QUERIES


def from_differences(differences: list[float] | np.ndarray, seeds: tuple[int, int] = (3, 3)) -> Comparison:
    """A comparison with these bootstrap differences (to give Holm exactly the p-values a test wants)."""
    d = np.sort(np.asarray(differences, dtype=np.float64))
    at_most, at_least = int((d <= 0).sum()), int((d >= 0).sum())
    low, high = verdicts._cut(d, verdicts.Fraction(1, 40))
    return Comparison(
        difference=float(d.mean()), low=low, high=high, level=0.95,
        p=float(verdicts._p_value(at_most, at_least, len(d))), seeds_a=seeds[0], seeds_b=seeds[1],
        episodes=100, resamples=len(d), seed_aware=min(seeds) >= 3, queries=None,
        at_most_zero=at_most, at_least_zero=at_least, differences=d,
    )  # fmt: skip


def with_p(nonpositive: int, resamples: int = 1999) -> Comparison:
    """A comparison whose two-sided p is 2 (nonpositive + 1) / (resamples + 1), A ahead of B."""
    return from_differences([-0.01] * nonpositive + [0.01] * (resamples - nonpositive))


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
        r"beats: \+1\.9\d \[\+1\.\d\d, \+2\.\d\d\] pts \(p = 0\.0001, 3 vs 3 seeds\)", verdict.text()
    )


def test_the_bootstrap_resamples_seeds_and_shares_episodes():
    # One episode: only the seeds vary. A's seed means over two seeds are x1, (x1 + x2) / 2 or x2.
    a, b = np.array([[0.2], [0.6]]), np.array([[0.3]])
    c = compare(a, b, resamples=4000)
    values, counts = np.unique(c.differences, return_counts=True)
    assert values.tolist() == pytest.approx([-0.1, 0.1, 0.3])
    assert counts / 4000 == pytest.approx([0.25, 0.5, 0.25], abs=0.03)
    # One seed each: the paired episode bootstrap, whose spread is the differences' std / sqrt(E).
    rng = np.random.default_rng(3)
    difficulty = rng.normal(0, 0.05, 800)
    a, b = entry(rng, [0.9], difficulty), entry(rng, [0.9], difficulty)
    c = compare(a, b, resamples=4000)
    expected = np.std(a[0] - b[0]) / math.sqrt(800)
    assert np.std(c.differences) == pytest.approx(expected, rel=0.1)
    assert np.mean(c.differences) == pytest.approx(c.difference, abs=expected / 5)


def test_holm_does_not_reject_the_smallest_p_between_alpha_over_m_and_alpha():
    family = [with_p(40), with_p(300), with_p(500), with_p(700), with_p(900)]  # smallest p = 0.041
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
    family = [with_p(29), with_p(3), with_p(10)]  # p = 0.03, 0.004, 0.011: below 0.05, 0.05/3, 0.05/2
    results = holm(family)
    assert [v.outcome for v in results] == ["beats"] * 3, [v.text() for v in results]
    assert [v.level for v in results] == pytest.approx([0.95, 1 - 0.05 / 3, 0.975])
    assert [v.p_adjusted for v in results] == pytest.approx(
        [0.03, 0.012, 0.022]
    )  # 0.022 = max(3 * 0.004, 2 * 0.011)
    assert all(agrees(v) for v in results)


def test_p_exactly_at_the_holm_threshold_is_not_rejected_and_just_below_is():
    at, below = holm([with_p(49)])[0], holm([with_p(48)])[0]  # p = 0.05 and 0.049 over 1,999 resamples
    assert (at.outcome, at.p_adjusted) == ("ties", 0.05) and at.low <= 0, at.text()
    assert below.outcome == "beats" and below.low > 0 and below.p_adjusted < 0.05, below.text()


def test_every_verdict_of_random_families_agrees_with_its_interval_and_adjusted_p():
    rng = np.random.default_rng(5)
    outcomes = set()
    for family in range(40):
        m = int(rng.integers(1, 9))
        comparisons = []
        for _ in range(m):
            episodes, gap = int(rng.integers(20, 120)), rng.choice([0.0, 0.005, 0.02, 0.05])
            seeds_a, seeds_b = int(rng.integers(1, 5)), int(rng.integers(1, 5))
            difficulty = rng.normal(0, 0.05, episodes)
            a = entry(rng, list(0.8 + gap + rng.normal(0, 0.01, seeds_a)), difficulty)
            b = entry(rng, list(0.8 + rng.normal(0, 0.01, seeds_b)), difficulty)
            comparisons.append(compare(a, b, resamples=int(rng.choice([499, 999, 1999])), seed=family))
        alpha = float(rng.choice([0.05, 0.1, 0.01]))
        results = holm(comparisons, alpha=alpha)
        ps = sorted(c.p for c in comparisons)
        adjusted = np.maximum.accumulate([min(1, (m - k) * p) for k, p in enumerate(ps)])
        for verdict in results:
            outcomes.add(verdict.outcome)
            assert agrees(verdict, alpha), verdict.text()
            assert verdict.family == m and verdict.comparison in comparisons
            assert any(math.isclose(verdict.p_adjusted, p, rel_tol=1e-9) for p in adjusted), verdict
            assert verdict.outcome != "beats" or verdict.low > 0
    assert {"beats", "ties"} <= outcomes


def test_the_same_inputs_give_identical_verdicts():
    rng = np.random.default_rng(6)
    difficulty = rng.normal(0, 0.04, 300)
    a, b = entry(rng, [0.9, 0.91, 0.905], difficulty), entry(rng, [0.9, 0.895], difficulty)
    first, second = compare(a, b), compare(a.copy(), b.copy())
    assert first == second and np.array_equal(first.differences, second.differences)
    assert [v.text() for v in holm([first, first])] == [v.text() for v in holm([second, second])]
    other = compare(a, b, seed=1)
    assert not np.array_equal(first.differences, other.differences)
    assert not first.differences.flags.writeable


def test_notes_for_one_and_two_seeds():
    rng = np.random.default_rng(7)
    difficulty = rng.normal(0, 0.04, 100)
    three, two, one = (entry(rng, [0.9] * n, difficulty) for n in (3, 2, 1))
    notes = [v.note for v in holm([compare(three, one), compare(two, three), compare(three, three)])]
    assert notes == ["one seed: test-episode noise only", "fewer than 3 seeds: seed spread poorly known", ""]
    single = holm([compare(one, three)])[0]
    assert "1 vs 3 seeds; one seed: test-episode noise only)" in single.text()
    assert not single.comparison.seed_aware and holm([compare(three, three)])[0].comparison.seed_aware


def test_shapes_that_do_not_pair_are_refused():
    with pytest.raises(ValueError, match=r"\(3, 100\) and \(3, 99\)"):
        compare(np.full((3, 100), 0.5), np.full((3, 99), 0.5))
    with pytest.raises(ValueError, match=r"\(100,\)"):
        compare(np.full(100, 0.5), np.full((3, 100), 0.5))
    with pytest.raises(ValueError, match=r"\(0, 100\)"):
        compare(np.empty((0, 100)), np.full((3, 100), 0.5))
    with pytest.raises(ValueError, match="different numbers of episodes"):
        verdicts.per_seed([{"seed": 0, "per_episode": [0.5] * 3}, {"seed": 1, "per_episode": [0.5] * 4}])
    with pytest.raises(ValueError, match="same training seed"):
        verdicts.per_seed([{"seed": 0, "per_episode": [0.5] * 3}, {"seed": 0, "per_episode": [0.6] * 3}])


def test_per_seed_orders_rows_by_training_seed():
    records = [{"seed": 2, "per_episode": [0.2, 0.4]}, {"seed": 0, "per_episode": [0.1, 0.3]}]
    assert verdicts.per_seed(records).tolist() == [[0.1, 0.3], [0.2, 0.4]]


def test_an_exact_tie_has_p_one_and_a_zero_interval():
    rng = np.random.default_rng(8)
    a = entry(rng, [0.9, 0.9, 0.9], rng.normal(0, 0.04, 200))
    same = np.repeat(a[:1], 3, axis=0)
    c = compare(same, same[:2])
    (verdict,) = holm([c])
    assert (c.difference, c.low, c.high, c.p) == (0.0, 0.0, 0.0, 1.0)
    assert verdict.outcome == "ties" and verdict.text().startswith("ties: +0.00 [+0.00, +0.00] pts (p = 1,")
    # The same seeds listed in another order: the mean difference is exactly zero and so are the resamples
    # that draw the same seeds and episodes on both sides (counts, not floating point).
    c = compare(a, a[::-1])
    assert c.difference == 0.0 and c.at_most_zero + c.at_least_zero > c.resamples
    assert c.p > 0.5 and holm([c])[0].outcome == "ties"


def test_thirds_tie_exactly_where_floating_point_does_not():
    a, b = np.array([[1 / 3, 2 / 3]]), np.array([[2 / 3, 1 / 3], [0.0, 1.0]])
    assert verdicts.tied(a, b, 3)
    assert not verdicts.tied(a, np.array([[2 / 3, 2 / 3]]), 3)
    c = compare(a, b, resamples=500)
    assert c.queries == 3 and c.difference == 0.0


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
    assert compare(noisy, noisy + 0.001, resamples=200).queries is None
    with pytest.raises(ValueError, match="not a count out of 300"):
        compare(noisy, noisy, queries=300)


def test_text_form_in_points():
    spread = from_differences((np.arange(1999) - 10) * 1e-5)  # 11 of 1,999 at or below zero: p = 0.012
    (verdict,) = holm([spread])
    assert verdict.text() == "beats: +0.99 [+0.04, +1.94] pts (p = 0.012, 3 vs 3 seeds)"
    first, second = holm([spread, with_p(900)])
    assert first.text().startswith("beats: +0.99 [+0.01, +1.97] pts (Holm p = 0.024, 3 vs 3 seeds)")
    assert second.text().startswith("ties: ") and "Holm p = 0.9" in second.text()


def test_tally_and_performance_profile():
    results = holm([with_p(2), with_p(900), from_differences([-0.01] * 1999)])
    assert verdicts.tally(results) == {"beats": 1, "ties": 1, "loses to": 1}
    scores = {"adam": {"mlp": 1.0, "cnn": 2.0, "rnn": 4.0}, "learned": {"mlp": 1.5, "cnn": 1.0}}
    profile = verdicts.performance_profile(scores, [1.0, 1.5, 2.0])
    assert profile == {"adam": [2 / 3, 2 / 3, 1.0], "learned": [1 / 3, 2 / 3, 2 / 3]}
    with pytest.raises(ValueError, match="positive"):
        verdicts.performance_profile({"adam": {"mlp": 0.0}}, [1.0])


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
    "mine, theirs",
    [
        ("omniglot-protonet_hallucination-20w1s", "omniglot-protonet-20w1s"),
        ("omniglot-reptile-5w5s", "omniglot-maml-5w5s"),
    ],
)
def test_committed_entries_that_the_episode_test_separates_tie(mine, theirs):
    a_records, b_records = standard_entry(mine), standard_entry(theirs)
    assert a_records[0]["episodes_hash"] == b_records[0]["episodes_hash"]
    a, b = verdicts.per_seed(a_records), verdicts.per_seed(b_records)
    c = compare(a, b)
    (verdict,) = holm([c])
    old = paired_comparison(a.mean(axis=0), b.mean(axis=0))
    message = (
        f"{mine} vs {theirs}: {verdict.text()}; bootstrap p = {c.p:.3g}; seed means "
        f"{np.round(100 * a.mean(axis=1), 2).tolist()} vs {np.round(100 * b.mean(axis=1), 2).tolist()}; "
        f"episode-only Wilcoxon p = {old.wilcoxon_p:.2g}"
    )
    assert verdict.outcome == "ties", message
    assert c.queries == verdicts.query_count(a_records[0]) and c.seed_aware, message
    assert c.p > 0.05 and c.low < 0 < c.high, message


def table(rng: np.random.Generator, seeds: list[int], episodes: int = 200) -> list[np.ndarray]:
    """Entries of one table over the same episodes, each a little better than the one before."""
    difficulty = rng.normal(0, 0.04, episodes)
    return [
        entry(rng, list(0.88 + 0.004 * k + rng.normal(0, 0.003, n)), difficulty) for k, n in enumerate(seeds)
    ]


def same_bits(first: Comparison, second: Comparison) -> bool:
    return first == second and first.differences.tobytes() == second.differences.tobytes()


def test_compare_many_gives_compare_for_the_first_two_entries_bit_for_bit():
    rng = np.random.default_rng(20)
    entries = table(rng, [3, 2, 5, 1])
    for a, b in [(entries[0], entries[1]), (entries[2], entries[3]), (entries[3], entries[0])]:
        (many,) = verdicts.compare_many([a, b], [(0, 1)], resamples=3000, seed=4)
        assert same_bits(compare(a, b, resamples=3000, seed=4), many)
    # Other entries and other pairs in the call change nothing for the pair (0, 1).
    all_pairs = [(i, j) for i in range(4) for j in range(4) if i != j]
    results = verdicts.compare_many(entries, all_pairs, resamples=3000, seed=4)
    assert same_bits(results[0], compare(entries[0], entries[1], resamples=3000, seed=4))
    assert all_pairs[0] == (0, 1)
    # Floating point (no common denominator) too.
    noisy = [x + rng.normal(0, 1e-4, x.shape) for x in entries]
    assert verdicts.compare_many(noisy, [(0, 1)], resamples=500)[0].queries is None
    assert same_bits(
        verdicts.compare_many(noisy, [(0, 1), (2, 3)], resamples=500)[0], compare(*noisy[:2], resamples=500)
    )


def test_compare_many_results_do_not_depend_on_the_other_pairs_or_entries():
    rng = np.random.default_rng(21)
    entries = table(rng, [3, 3, 2, 4, 1])
    pairs = [(i, j) for i in range(5) for j in range(i + 1, 5)] + [(4, 3), (1, 0), (0, 1)]
    together = verdicts.compare_many(entries, pairs, resamples=2000, seed=2, level=0.9)
    for pair, comparison in zip(pairs, together, strict=True):
        (alone,) = verdicts.compare_many(entries, [pair], resamples=2000, seed=2, level=0.9)
        assert same_bits(alone, comparison), pair
    extended = entries + table(rng, [2])
    again = verdicts.compare_many(extended, pairs, resamples=2000, seed=2, level=0.9)
    assert all(same_bits(x, y) for x, y in zip(together, again, strict=True))
    assert together[-1] is together[0] and together[0].level == 0.9
    # A pair reversed is the same bootstrap, negated (the draws are shared).
    forward, backward = together[pairs.index((0, 1))], together[pairs.index((1, 0))]
    assert np.array_equal(backward.differences, -forward.differences[::-1])
    assert (backward.at_most_zero, backward.at_least_zero) == (forward.at_least_zero, forward.at_most_zero)
    assert backward.difference == -forward.difference


def test_compare_many_is_deterministic_and_seeded():
    rng = np.random.default_rng(22)
    entries = table(rng, [3, 3, 3])
    pairs = [(0, 1), (1, 2), (0, 2)]
    first = verdicts.compare_many(entries, pairs, resamples=2000)
    second = verdicts.compare_many([x.copy() for x in entries], pairs, resamples=2000)
    assert all(same_bits(x, y) for x, y in zip(first, second, strict=True))
    other = verdicts.compare_many(entries, pairs, resamples=2000, seed=1)
    assert not any(np.array_equal(x.differences, y.differences) for x, y in zip(first, other, strict=True))
    assert all(not c.differences.flags.writeable for c in first)
    assert verdicts.compare_many(entries, [], resamples=2000) == []


def test_compare_many_counts_exactly_whatever_the_product_type(monkeypatch):
    rng = np.random.default_rng(23)
    entries = table(rng, [3, 1, 4], episodes=150)
    pairs = [(0, 1), (2, 0), (1, 2)]
    fast = verdicts.compare_many(entries, pairs, resamples=1500)
    for dtype in (np.int64, np.float64):
        monkeypatch.setattr(verdicts, "_product_dtype", lambda bound, dtype=dtype: dtype)
        slow = verdicts.compare_many(entries, pairs, resamples=1500)
        assert all(same_bits(x, y) for x, y in zip(fast, slow, strict=True))
    # Counts make every resampled difference a multiple of 1 / (S_A S_B E queries).
    for comparison in fast:
        scale = comparison.seeds_a * comparison.seeds_b * comparison.episodes * QUERIES
        scaled = comparison.differences * scale
        assert np.abs(scaled - np.rint(scaled)).max() < 1e-6


def test_compare_many_resamples_seeds_at_every_position():
    # One episode: only the seeds vary, whatever the positions of the two entries in the call.
    entries = [np.array([[0.5]]), np.array([[0.3]]), np.array([[0.5]]), np.array([[0.2], [0.6]])]
    c = verdicts.compare_many(entries, [(3, 1)], resamples=4000)[0]
    values, counts = np.unique(c.differences, return_counts=True)
    assert values.tolist() == pytest.approx([-0.1, 0.1, 0.3])
    assert counts / 4000 == pytest.approx([0.25, 0.5, 0.25], abs=0.03)
    assert c.seeds_a == 2 and c.seeds_b == 1 and c.queries == 10
    # Two entries that answered every episode alike tie exactly.
    same = verdicts.compare_many(entries, [(0, 2)], resamples=100)[0]
    assert (same.difference, same.low, same.high, same.p) == (0.0, 0.0, 0.0, 1.0)


def test_holm_over_a_table_compared_at_once_agrees_with_itself():
    rng = np.random.default_rng(24)
    entries = table(rng, [3, 3, 2, 3, 3, 3], episodes=400)
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    neighbours = [(i, i + 1) for i in range(5)]
    results = verdicts.compare_many(entries, pairs + neighbours, resamples=2000)
    family, near = holm(results[: len(pairs)]), holm(results[len(pairs) :])
    assert all(agrees(v) for v in family + near)
    assert {v.outcome for v in family} >= {"ties", "loses to"}
    assert [v.comparison for v in near] == [results[pairs.index(p)] for p in neighbours]


def test_compare_many_refuses_entries_and_pairs_that_do_not_fit():
    good = np.full((3, 100), 0.5)
    with pytest.raises(ValueError, match=r"\(3, 100\), \(3, 100\) and \(3, 99\)"):
        verdicts.compare_many([good, good, np.full((3, 99), 0.5)], [(0, 1)])
    with pytest.raises(ValueError, match=r"\(100,\)"):
        verdicts.compare_many([good, np.full(100, 0.5)], [(0, 1)])
    with pytest.raises(ValueError, match=r"\(0, 100\)"):
        verdicts.compare_many([good, np.empty((0, 100))], [])
    with pytest.raises(ValueError, match="finite"):
        verdicts.compare_many([good, np.full((2, 100), np.nan)], [(0, 1)])
    for pair in [(0, 2), (-1, 0), (1, 1), (3, 0)]:
        with pytest.raises(ValueError, match=r"two different entry indices in \[0, 2\)"):
            verdicts.compare_many([good, good], [(0, 1), pair])
    with pytest.raises(ValueError, match="two entry indices"):
        verdicts.compare_many([good, good], [(0, 1, 1)])
    with pytest.raises(TypeError):
        verdicts.compare_many([good, good], [(0.0, 1)])
    with pytest.raises(ValueError, match="not a count out of 300"):
        verdicts.compare_many([good, np.full((1, 100), 0.501)], [(0, 1)], queries=300)
    with pytest.raises(ValueError, match="resamples must be positive"):
        verdicts.compare_many([good, good], [(0, 1)], resamples=0)

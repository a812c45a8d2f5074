"""One model for every "beats / ties / loses to" verdict: seeds and episodes together, Holm-corrected.

An entry of the leaderboard is S training seeds (rows) answering the same E frozen test episodes (columns).
Two entries are compared on the same episodes with a two-level paired bootstrap, in the spirit of the
stratified bootstrap interval estimates of Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of
the Statistical Precipice" (rliable, https://arxiv.org/abs/2108.13264), and of Bouthillier et al. 2021,
"Accounting for Variance in Machine Learning Benchmarks" (https://arxiv.org/abs/2103.03098), who show that
the variance of training (seeds) must be counted beside that of the test sample: each resample draws the
seeds of either side with replacement and one set of episodes with replacement shared by both sides (the
episodes are paired), and takes the difference of the two means. A family of comparisons (one table, one
page) is corrected with Holm's step-down procedure (Holm 1979, "A Simple Sequentially Rejective Multiple
Test Procedure", Scandinavian Journal of Statistics 6(2)). The pairs of one table are compared together by
`compare_many`, which draws the episodes, and each entry's seeds, once for all pairs (common random numbers).

Decisions are made by construction from integer counts, so that the three ways of reading a verdict agree
exactly: the outcome is not "ties" if and only if the printed interval (cut at the Holm level the verdict
used) excludes zero, if and only if the Holm-adjusted p-value is below alpha. With R resamples and
``n = min(#{d <= 0}, #{d >= 0})``, the p-value is ``min(1, 2 (n + 1) / (R + 1))`` and the interval at
two-sided tail mass ``2 t`` runs from the j-th smallest to the j-th largest resampled difference, with
``j = ceil(t (R + 1)) - 1``; it excludes zero exactly when ``p < 2 t``. When ``j < 1`` the resamples cannot
resolve that level, and the interval is infinite (no rejection). Accuracies that are ``correct / queries``
are turned into exact integer counts first, so a zero difference is exactly zero.

Pure NumPy, no TensorFlow; deterministic: a fixed generator seed gives byte-identical verdicts.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np

from tfmeta.records.entries import training_seed

# 20,000 resamples resolve a two-sided p of 2/20,001 = 1e-4, and the Holm levels of families of up to 500
# comparisons at alpha = 0.05; at 0.05/15 the tail beyond the interval holds 33 resamples (Monte Carlo
# relative error of that tail about 17%; 10,000 would leave 16, about 25%). On 2 busy cores: one `compare`
# of 3 x 1000 against 3 x 1000 episodes about 0.2 s; `compare_many` over 15 such entries about 0.45 s for
# all 105 pairs, 0.4 s for the 14 neighbour pairs (the shared episode draws cost most of it).
RESAMPLES = 20_000
MAX_QUERIES = 10_000  # the largest `correct / queries` denominator `compare` looks for
_CHUNK_VALUES = 2**18  # resamples x episodes drawn at once: 2 MiB of int64 indices, cache-sized
_TOLERANCE = 1e-6
_LIMIT = 10**9  # the denominator bound when reading a float level or alpha as the decimal it was written as

Outcome = Literal["beats", "ties", "loses to"]
OUTCOMES: tuple[Outcome, ...] = ("beats", "ties", "loses to")


@dataclass(frozen=True)
class Comparison:
    """Entry A against entry B on the same test episodes (differences are A - B, as fractions).

    Attributes:
        difference: mean over all seeds and episodes of A minus that of B.
        low, high: percentile interval of the bootstrap differences at `level`.
        level: the two-sided level of `low` and `high`.
        p: two-sided bootstrap p-value,
            ``min(1, 2 (min(at_most_zero, at_least_zero) + 1) / (resamples + 1))``.
        seeds_a, seeds_b, episodes, resamples: the sizes compared and the bootstrap's size.
        seed_aware: both sides have at least 3 seeds, so the seed spread is counted with some confidence.
        queries: the denominator the accuracies were counted with (exact integer arithmetic), or None when
            they are not ``correct / queries`` fractions (floating-point arithmetic).
        at_most_zero, at_least_zero: resamples whose difference is <= 0 and >= 0 (exact counts).
        differences: the sorted bootstrap differences (read-only), kept to cut intervals at other levels.
    """

    difference: float
    low: float
    high: float
    level: float
    p: float
    seeds_a: int
    seeds_b: int
    episodes: int
    resamples: int
    seed_aware: bool
    queries: int | None
    at_most_zero: int
    at_least_zero: int
    differences: np.ndarray = field(repr=False, compare=False)

    @property
    def exact_p(self) -> Fraction:
        """The p-value as an exact fraction (what Holm's decisions are made with)."""
        return _p_value(self.at_most_zero, self.at_least_zero, self.resamples)

    def interval(self, level: float) -> tuple[float, float]:
        """The percentile interval at another two-sided `level` (e.g. 0.99)."""
        return self.interval_at_tail((1 - _decimal(level)) / 2)

    def interval_at_tail(self, tail: Fraction) -> tuple[float, float]:
        """The interval leaving at most `tail` of the resamples out on each side; infinite when the
        resamples cannot resolve it. It excludes zero exactly when ``exact_p < 2 * tail``."""
        return _cut(self.differences, tail)


@dataclass(frozen=True)
class Verdict:
    """One comparison of a Holm family, decided.

    Attributes:
        comparison: the bootstrap comparison (A against B).
        outcome: "beats", "ties" or "loses to" (A relative to B): "beats" when the interval at `level` lies
            above zero, "loses to" when below, "ties" otherwise.
        level: the two-sided level the verdict used: ``1 - alpha / (m - k + 1)`` at Holm rank k, or the
            level of the comparison where the procedure stopped, for every comparison after it.
        low, high: the interval at `level` (the one to print beside the verdict).
        family: the number m of comparisons corrected together.
        p_adjusted: Holm-adjusted p-value, ``max over k' <= k of min(1, (m - k' + 1) p_(k'))``.
        note: "" or a warning about how little of the seed variance the verdict saw.
    """

    comparison: Comparison
    outcome: Outcome
    level: float
    low: float
    high: float
    family: int
    p_adjusted: float
    note: str

    def text(self) -> str:
        """A short form for tables, e.g.
        "beats: +0.49 [+0.21, +0.80] pts (Holm p = 0.003, 3 vs 3 seeds)"."""
        c = self.comparison
        name = "Holm p" if self.family > 1 else "p"
        note = f"; {self.note}" if self.note else ""
        return (
            f"{self.outcome}: {_points(c.difference)} [{_points(self.low)}, {_points(self.high)}] pts "
            f"({name} = {self.p_adjusted:.2g}, {c.seeds_a} vs {c.seeds_b} seeds{note})"
        )


def compare(
    a: np.ndarray | Sequence[Sequence[float]],
    b: np.ndarray | Sequence[Sequence[float]],
    *,
    level: float = 0.95,
    resamples: int = RESAMPLES,
    seed: int = 0,
    queries: int | None = None,
) -> Comparison:
    """Compares entry A with entry B by a two-level paired bootstrap over seeds and episodes.

    ``compare(a, b, ...)`` is ``compare_many([a, b], [(0, 1)], ...)[0]``, bit for bit; to compare many
    pairs of one table, call `compare_many` once.

    Args:
        a, b: per-episode accuracies (fractions), shape [seeds, episodes], the same episodes in the same
            order on both sides (`per_seed` builds them from records).
        level: two-sided level of the interval returned.
        resamples: bootstrap resamples.
        seed: the generator's seed; fixed, so that a verdict is reproducible byte for byte.
        queries: queries per episode, to count accuracies as exact integers; None finds the smallest
            common denominator up to `MAX_QUERIES`, or uses floating point where there is none.

    Raises:
        ValueError: for arrays that are not 2-D, empty or of different episode counts, for non-finite
            values, or for accuracies that are not counts of `queries`.
    """
    return compare_many([a, b], [(0, 1)], level=level, resamples=resamples, seed=seed, queries=queries)[0]


def compare_many(
    entries: Sequence[np.ndarray | Sequence[Sequence[float]]],
    pairs: Sequence[tuple[int, int]],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    queries: int | None = None,
    level: float = 0.95,
) -> list[Comparison]:
    """Compares many pairs of entries of one table, all answering the same episodes, at once.

    Each result is the two-level paired bootstrap of `compare`: per resample, the seeds of either side are
    drawn with replacement and one draw of episodes with replacement is shared by both sides. The draws
    are shared by the whole call (common random numbers): one episode draw per resample for every entry,
    and one seed draw per resample for each entry, used by every pair it is in. Each pair's bootstrap is
    still exactly that two-level paired bootstrap (its two sides draw their seeds independently, their
    episodes together); the comparisons of one call are merely dependent, which Holm's procedure allows
    (it holds under any dependence). The resampled differences are coherent: resample by resample, the
    difference of (A, C) is that of (A, B) plus that of (B, C) (as exact fractions), and that of (B, A) is
    minus that of (A, B) (to the bit).

    The work shared: the episode weights (how often each episode was drawn) are drawn once, the resampled
    episode sums of every seed of every entry are a matrix product of those weights with the correct
    counts (exact: integers summed in a float type wide enough; in chunks of resamples), and each entry's
    seed draw weighs its own seeds' sums once; a pair then costs a subtraction and a sort. Memory: a few
    MiB per chunk, plus ``resamples`` x (seeds of all entries) sums.

    Reproducibility: entry k's seed draws come from a generator of its own, seeded by `seed` and k, and
    the episode draws from one seeded by `seed` alone; so the result for a pair (i, j) depends, bit for
    bit, only on entries i and j, their positions i and j, `resamples`, `seed`, `level` and the
    denominator `queries`: not on the other entries or pairs asked for. In particular the pair (0, 1) of
    any call gives exactly ``compare(entries[0], entries[1])`` when both use the same `queries` (pass
    it, or let the entries share their smallest denominator); the same two entries at other positions
    give another, equally valid, bootstrap draw.

    Args:
        entries: per-episode accuracies of each entry, shape [seeds, episodes], the same episodes in the
            same order in every entry (seed counts may differ).
        pairs: (i, j) indices into `entries`, each compared as A = entries[i] against B = entries[j];
            a pair listed twice gives the same result twice.
        resamples, seed, level: as for `compare`.
        queries: as for `compare`; None finds the smallest denominator common to all entries.

    Returns:
        One `Comparison` per pair, in the order of `pairs`.

    Raises:
        ValueError: for entries that are not non-empty 2-D arrays over the same number of episodes, for
            non-finite values, for accuracies that are not counts of `queries`, and for a pair that is not
            two different indices in range.
    """
    arrays = _checked(entries)
    pairs = _checked_pairs(pairs, len(arrays))
    if resamples < 1:
        raise ValueError(f"resamples must be positive; got {resamples}")
    if not pairs:
        return []
    queries = _denominator(arrays) if queries is None else queries
    values = [correct_counts(x, queries) for x in arrays] if queries is not None else arrays
    used = sorted({index for pair in pairs for index in pair})
    totals = _resampled_totals({k: values[k] for k in used}, resamples, seed, exact=queries is not None)
    done: dict[tuple[int, int], Comparison] = {}
    for i, j in pairs:
        if (i, j) not in done:
            done[i, j] = _pair(values[i], values[j], totals[i], totals[j], level, queries)
    return [done[pair] for pair in pairs]


def _checked(entries) -> list[np.ndarray]:
    arrays = [np.asarray(x, dtype=np.float64) for x in entries]
    if any(x.ndim != 2 or 0 in x.shape for x in arrays) or len({x.shape[1] for x in arrays}) > 1:
        shapes = [str(x.shape) for x in arrays]
        listed = " and ".join([", ".join(shapes[:-1]), shapes[-1]]) if len(shapes) > 1 else "".join(shapes)
        raise ValueError(
            f"compare needs non-empty [seeds, episodes] arrays over the same episodes; got shapes {listed}"
        )
    if not all(np.isfinite(x).all() for x in arrays):
        raise ValueError("per-episode accuracies must be finite")
    return arrays


def _checked_pairs(pairs, count: int) -> list[tuple[int, int]]:
    checked = []
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"a pair is two entry indices; got {pair!r}")
        i, j = operator.index(pair[0]), operator.index(pair[1])
        if not (0 <= i < count and 0 <= j < count) or i == j:
            raise ValueError(f"a pair needs two different entry indices in [0, {count}); got {(i, j)}")
        checked.append((i, j))
    return checked


def _pair(a, b, total_a: np.ndarray, total_b: np.ndarray, level: float, queries: int | None) -> Comparison:
    """A against B from their resampled totals: differences are ``S_B T_A - S_A T_B`` over the scale
    ``S_A S_B E`` (times `queries` for counts, where they are integers and so exact)."""
    (seeds_a, episodes), seeds_b = a.shape, b.shape[0]
    if (a == a[0]).all() and (b == a[0]).all():
        scaled = np.zeros(len(total_a))  # every seed of both sides answered every episode alike
    else:
        scaled = np.sort(seeds_b * total_a - seeds_a * total_b)
    differences = scaled / (seeds_a * seeds_b * episodes * (queries or 1))
    differences.flags.writeable = False
    return _comparison(a, b, differences, level, queries)


def _comparison(a, b, differences: np.ndarray, level: float, queries: int | None) -> Comparison:
    at_most, at_least = int(np.count_nonzero(differences <= 0)), int(np.count_nonzero(differences >= 0))
    low, high = _cut(differences, (1 - _decimal(level)) / 2)
    return Comparison(
        difference=_point_difference(a, b, queries), low=low, high=high, level=level,
        p=float(_p_value(at_most, at_least, len(differences))),
        seeds_a=a.shape[0], seeds_b=b.shape[0], episodes=a.shape[1], resamples=len(differences),
        seed_aware=min(a.shape[0], b.shape[0]) >= 3, queries=queries,
        at_most_zero=at_most, at_least_zero=at_least, differences=differences,
    )  # fmt: skip


def _p_value(at_most_zero: int, at_least_zero: int, resamples: int) -> Fraction:
    return min(Fraction(1), Fraction(2 * (min(at_most_zero, at_least_zero) + 1), resamples + 1))


def _cut(differences: np.ndarray, tail: Fraction) -> tuple[float, float]:
    """From the j-th smallest to the j-th largest sorted difference, ``j = ceil(tail (R + 1)) - 1``."""
    resamples = len(differences)
    j = math.ceil(tail * (resamples + 1)) - 1
    if j < 1:
        return -math.inf, math.inf
    return float(differences[j - 1]), float(differences[resamples - j])


def _point_difference(a: np.ndarray, b: np.ndarray, queries: int | None) -> float:
    """mean(A) - mean(B); exact (a zero is exactly zero) over integer counts."""
    if queries is None:
        return float(a.mean() - b.mean())
    sum_a, sum_b = int(a.sum()), int(b.sum())  # integer-valued floats below 2**53: exact
    numerator = sum_a * b.shape[0] - sum_b * a.shape[0]
    return float(Fraction(numerator, a.shape[0] * b.shape[0] * a.shape[1] * queries))


def _resampled_totals(
    values: Mapping[int, np.ndarray], resamples: int, seed: int, *, exact: bool
) -> dict[int, np.ndarray]:
    """Per entry k, per resample, ``sum_s w_s sum_e W_e X_se``: its seeds' sums over the drawn episodes
    (W counts how often each episode was drawn), weighed by how often each seed was drawn (w).

    Integers (int64) when `exact`. Their episode sums are a product of non-negative integers whose every
    partial sum is at most ``episodes * max(X)``: exact in float32 below 2**24 (float64 below 2**53, int64
    beyond), whatever the order of summation. The episode draws come from the generator of `seed`'s spawn
    key (0,), entry k's seed draws from that of (1, k); all are drawn in chunks of a size that depends on
    the episode count alone, so that each stream, and so each result, depends on the inputs alone. No
    BLAS (`einsum`, not `matmul`): its threads stall on a busy machine between the draws, and its order of
    summation may vary, which floating-point (inexact) accuracies would see.
    """
    first = values[next(iter(values))]
    episodes = first.shape[1]
    largest = max(int(x.max()) for x in values.values()) if exact else 0
    dtype = _product_dtype(episodes * largest) if exact else np.float64
    counts = {k: np.ascontiguousarray(x, dtype=dtype) for k, x in values.items()}  # [seeds, episodes]
    sums = {k: np.empty((resamples, x.shape[0]), dtype=dtype) for k, x in values.items()}
    chunk = max(1, _CHUNK_VALUES // episodes)
    episode_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    for start in range(0, resamples, chunk):
        n = min(chunk, resamples - start)
        drawn = episode_rng.integers(0, episodes, size=(n, episodes), dtype=np.int64)
        drawn += (np.arange(n, dtype=np.int64) * episodes)[:, None]
        weights = np.bincount(drawn.ravel(), minlength=n * episodes).reshape(n, episodes).astype(dtype)
        for k, x in counts.items():  # entry by entry: its sums do not depend on the other entries
            np.einsum("ne,se->ns", weights, x, out=sums[k][start : start + n])
    totals = {}
    for k, x in sums.items():
        seed_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, k)))
        own = x.astype(np.int64) if exact else x
        totals[k] = np.einsum("ns,ns->n", _seed_weights(seed_rng, resamples, x.shape[1]), own)
    return totals


def _product_dtype(bound: int) -> type:
    """The cheapest dtype that sums non-negative integers up to `bound` exactly."""
    return np.float32 if bound < 2**24 else np.float64 if bound < 2**53 else np.int64


def _seed_weights(rng: np.random.Generator, n: int, seeds: int) -> np.ndarray:
    """[n, seeds] counts of each seed in n draws of `seeds` seeds with replacement."""
    drawn = rng.integers(0, seeds, size=(n, seeds))
    drawn += (np.arange(n) * seeds)[:, None]
    return np.bincount(drawn.ravel(), minlength=n * seeds).reshape(n, seeds)


def holm(comparisons: Sequence[Comparison], alpha: float = 0.05) -> list[Verdict]:
    """Decides a family of comparisons with Holm's step-down procedure, in the order given.

    Ranked by ascending p (ties in input order), the comparison at rank k rejects "no difference" when every
    one before it did and its interval at level ``1 - alpha / (m - k + 1)`` excludes zero (equivalently,
    its exact p is below ``alpha / (m - k + 1)``). After the first that does not, every later comparison
    is shown at the stopping comparison's level, where its interval includes zero too.
    """
    m = len(comparisons)
    limit = _decimal(alpha)
    order = sorted(range(m), key=lambda i: (comparisons[i].exact_p, i))
    decided: dict[int, Verdict] = {}
    adjusted, divisor, stopped = Fraction(0), m, False
    for rank, index in enumerate(order, start=1):
        comparison = comparisons[index]
        adjusted = max(adjusted, min(Fraction(1), (m - rank + 1) * comparison.exact_p))
        divisor = divisor if stopped else m - rank + 1
        low, high = comparison.interval_at_tail(limit / divisor / 2)
        rejected = not stopped and (low > 0 or high < 0)
        stopped = not rejected
        outcome: Outcome = "ties" if not rejected else "beats" if low > 0 else "loses to"
        decided[index] = Verdict(
            comparison=comparison, outcome=outcome, level=float(1 - limit / divisor), low=low, high=high,
            family=m, p_adjusted=_toward(adjusted, rejected, alpha), note=_note(comparison),
        )  # fmt: skip
    return [decided[i] for i in range(m)]


def _toward(adjusted: Fraction, rejected: bool, alpha: float) -> float:
    """The adjusted p as a float on the side of `alpha` the exact decision is on (rounding cannot flip it)."""
    value = float(adjusted)
    if rejected and value >= alpha:
        return math.nextafter(alpha, 0.0)
    if not rejected and value < alpha:
        return alpha
    return value


def _note(comparison: Comparison) -> str:
    fewest = min(comparison.seeds_a, comparison.seeds_b)
    if fewest == 1:
        return "one seed: test-episode noise only"
    if fewest == 2:
        return "fewer than 3 seeds: seed spread poorly known"
    return ""


def _points(fraction: float) -> str:
    return f"{100 * fraction:+.2f}"


def _decimal(value: float) -> Fraction:
    """A float level or alpha as the fraction it was written as (0.05 is 1/20, not 0.05000000000000000277)."""
    fraction = Fraction(value).limit_denominator(_LIMIT)
    if not 0 < fraction < 1:
        raise ValueError(f"a level or alpha must lie strictly between 0 and 1; got {value}")
    return fraction


def per_seed(records: Sequence[Mapping]) -> np.ndarray:
    """The [seeds, episodes] accuracies of one entry's records, rows ordered by training seed (so that the
    bootstrap does not depend on the order the records were listed in).

    Raises:
        ValueError: for no records, a record without `per_episode`, unequal episode counts, different
            episode hashes or two records of the same seed.
    """
    if not records:
        raise ValueError("per_seed needs at least one record")
    if any(not record.get("per_episode") for record in records):
        raise ValueError("every record needs its per_episode accuracies")
    lengths = sorted({len(record["per_episode"]) for record in records})
    if len(lengths) > 1:
        raise ValueError(f"records answer different numbers of episodes: {lengths}")
    hashes = sorted({record["episodes_hash"] for record in records if record.get("episodes_hash")})
    if len(hashes) > 1:
        raise ValueError(f"records answer different episodes: {hashes}")
    seeds = [_seed(record) for record in records]
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"two records of the same training seed: {sorted(seeds)}")
    ordered = sorted(zip(seeds, records, strict=True), key=lambda pair: pair[0])
    return np.array([record["per_episode"] for _, record in ordered], dtype=np.float64)


def _seed(record: Mapping) -> int:
    return training_seed(record) if "config" in record else int(record.get("seed", 0))


def query_count(record: Mapping) -> int:
    """Queries per test episode of a few-shot record: way x query (per class)."""
    return int(record["benchmark"]["way"]) * int(record["benchmark"]["query"])


def correct_counts(per_episode: np.ndarray | Sequence, queries: int) -> np.ndarray:
    """Exact integer correct counts, ``round(accuracy * queries)``, any shape.

    Raises:
        ValueError: when an accuracy times `queries` is not within 1e-6 of an integer in [0, queries].
    """
    if queries < 1:
        raise ValueError(f"queries must be positive; got {queries}")
    scaled = np.asarray(per_episode, dtype=np.float64) * queries
    counts = np.rint(scaled)
    off = np.flatnonzero(~(np.abs(scaled - counts) <= _TOLERANCE) | (counts < 0) | (counts > queries))
    if off.size:
        value = np.ravel(per_episode)[off[0]]
        raise ValueError(f"accuracy {value!r} (value {off[0]}) is not a count out of {queries} queries")
    return counts.astype(np.int64)


def _denominator(arrays: Sequence[np.ndarray]) -> int | None:
    """The smallest q <= MAX_QUERIES making every accuracy of every array a count out of q, or None."""
    values = np.unique(np.concatenate([x.ravel() for x in arrays]))
    if values.min() < 0 or values.max() > 1:
        return None
    q = 1
    for value in values:
        q = math.lcm(q, Fraction(float(value)).limit_denominator(MAX_QUERIES).denominator)
        if q > MAX_QUERIES:
            return None
    scaled = values * q
    return q if bool((np.abs(scaled - np.rint(scaled)) <= _TOLERANCE).all()) else None


def tied(a: np.ndarray | Sequence, b: np.ndarray | Sequence, queries: int) -> bool:
    """Whether two entries' mean accuracies are exactly equal: summed correct counts cross-multiplied by
    the other side's seeds and episodes, in integers (a ranking tie, not a statistical one)."""
    counts_a, counts_b = np.atleast_2d(correct_counts(a, queries)), np.atleast_2d(correct_counts(b, queries))
    left = int(counts_a.sum()) * counts_b.size
    return left == int(counts_b.sum()) * counts_a.size


def tally(verdicts: Iterable[Verdict]) -> dict[str, int]:
    """How many verdicts of a family each outcome has: keys "beats", "ties", "loses to"."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for verdict in verdicts:
        counts[verdict.outcome] += 1
    return counts


def performance_profile(
    scores: Mapping[str, Mapping[str, float]], taus: Sequence[float]
) -> dict[str, list[float]]:
    """Performance profiles in the AlgoPerf sense (Dahl et al. 2023, after Dolan and Moré 2002).

    Args:
        scores: ``scores[method][task]``, a loss or time to target: positive, LOWER IS BETTER. A task a
            method lacks, or a non-finite score (diverged), counts as never within any factor.
        taus: the factors to evaluate at (>= 1 to be meaningful).

    Returns:
        For each method, for each tau, the fraction of all tasks on which its score is at most tau times
        the best (lowest) score on that task.

    Raises:
        ValueError: when a task's best score is not positive, or no method has any finite score for it.
    """
    tasks = sorted({task for per_task in scores.values() for task in per_task})
    best = {task: _best(scores, task) for task in tasks}
    profile = {}
    for method, per_task in scores.items():
        ratios = [per_task.get(task, math.inf) / best[task] for task in tasks]
        ratios = [r if math.isfinite(r) else math.inf for r in ratios]
        profile[method] = [sum(r <= tau for r in ratios) / len(tasks) if tasks else 0.0 for tau in taus]
    return profile


def _best(scores: Mapping[str, Mapping[str, float]], task: str) -> float:
    finite = [s[task] for s in scores.values() if task in s and math.isfinite(s[task])]
    if not finite or min(finite) <= 0:
        raise ValueError(f"task {task!r} needs a positive finite best score; got {finite}")
    return min(finite)

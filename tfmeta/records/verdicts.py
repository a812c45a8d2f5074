"""One model for every "beats / ties / loses to" verdict: seeds and episodes together, Holm-corrected.

An entry of the leaderboard is S training seeds (rows) answering the same E frozen test episodes (columns),
and two entries are compared on those episodes, paired. Training is random: another seed gives another
model. Bouthillier et al. 2021, "Accounting for Variance in Machine Learning Benchmarks" (MLSys,
https://arxiv.org/abs/2103.03098), show that this variance must be counted beside that of the test
sample, or a gap smaller than the spread of seeds is called significant. After Agarwal et al. 2021, "Deep
Reinforcement Learning at the Edge of the Statistical Precipice" (NeurIPS, https://arxiv.org/abs/2108.13264),
every verdict comes with an interval estimate, not a point estimate alone. Their bootstrap is not used here:
resampling 3 seeds with replacement sees only 10 distinct draws and shrinks the seed variance by the factor
(S - 1) / S, so with so few seeds its intervals are too narrow and its p-values too small
(anti-conservative: on the committed records it called the meta-learner LSTM a loser to fine-tuning,
5-way 5-shot, at p = 0.0026, where a Welch test of the 3 + 3 seed means gives p = 0.16, and this one 0.15).

The test is instead closed form, in the style of a mixed model (seeds nested in entries, episodes crossed
with both). The difference is D = mean(A) - mean(B) over all seeds and episodes, and its variance the sum
of three components:

- the seeds of A: var(row means of A, ddof 1) / S_A, present when S_A >= 2; likewise the seeds of B;
- the episodes: var(d_e, ddof 1) / E, present when E >= 2, where d_e is A's seed mean on episode e less
  B's (paired by episode: the difficulty shared by both sides cancels).

The noise of one seed on one episode enters both a seed and the episode component, so the standard error
SE is, if anything, a little large (conservative: on the committed 3-seed records by 3% where the seeds
dominate, up to 30% where the episodes do). The degrees of freedom are Welch-Satterthwaite's
(Satterthwaite 1946, "An Approximate Distribution of Estimates of Variance Components", Biometrics
Bulletin 2(6); Welch 1947, "The Generalization of 'Student's' Problem when Several Different Population
Variances are Involved", Biometrika 34): ``df = SE^4 / sum_i c_i^2 / df_i`` over the components c_i present
and not zero, with ``df_i`` = S_A - 1, S_B - 1 and E - 1. When the seeds dominate, 3 seeds a side give df
of 2 to 4, and the t quantile (4.30 at df = 2, against 1.96) pays for how little 3 seeds say about their
spread. The p-value is ``2 t_df.sf(|D| / SE)`` and the interval at two-sided level L is
``D +- t_df.isf((1 - L) / 2) SE``. An entry of one seed has no seed component (nothing to estimate it
from): its verdicts see test-episode noise only, and say so. SE = 0 is exact: D = 0 then (identical
entries) gives p = 1 and the interval [0, 0]; D != 0 (every seed differs by the same amount on every
episode) gives p = 0 and [D, D]. With neither a second seed nor a second episode nothing is estimable:
SE is infinite, p = 1.

A family of comparisons (one table, one claim) is corrected with Holm's step-down procedure (Holm 1979,
"A Simple Sequentially Rejective Multiple Test Procedure", Scandinavian Journal of Statistics 6(2)).
The three ways of reading a verdict agree by construction: the outcome is not "ties" if and only if the
printed interval (cut at the Holm level the verdict used) excludes zero, if and only if the Holm-adjusted
p-value is below alpha. Each decision is made once, from ``|D| / SE > t_df.isf(tail)``; the printed
interval is cut with that same quantile, and its bound next to zero and the adjusted p-value are kept on
the decision's side where floating point would put them a last bit across.

Accuracies that are ``correct / queries`` are counted as exact integers first: D and the variance
components are then exact fractions, rounded once, so an exact tie is exactly zero, and a result depends
neither on the order of the seeds nor on the denominator used. NumPy and SciPy (Student's t), no
TensorFlow; deterministic.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Literal

import numpy as np
from scipy import special

from tfmeta.records.entries import training_seed

MAX_QUERIES = 10_000  # the largest `correct / queries` denominator `compare` looks for
_TOLERANCE = 1e-6
_INT64_SAFE = 2**62  # sums of squares below this are exact in int64; beyond, Python integers

Outcome = Literal["beats", "ties", "loses to"]
OUTCOMES: tuple[Outcome, ...] = ("beats", "ties", "loses to")


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Entry A against entry B on the same test episodes (differences are A - B, as fractions).

    Attributes:
        difference: D, the mean over all seeds and episodes of A minus that of B.
        low, high: the t interval ``D +- t_df.isf((1 - level) / 2) standard_error``.
        level: the two-sided level of `low` and `high`.
        p: two-sided p-value of "no difference", ``2 t_df.sf(|D| / standard_error)``.
        standard_error: SE, the square root of the sum of `components`; 0 when no seed and no episode
            varies, infinite when nothing is estimable (one seed a side and one episode).
        df: Welch-Satterthwaite degrees of freedom of SE (infinite when SE = 0, 0 when SE is infinite).
        components: the variance of D from (the seeds of A, the seeds of B, the episodes); 0 where absent
            (one seed, one episode).
        seeds_a, seeds_b, episodes: the sizes compared.
        seed_aware: both sides have at least 3 seeds, so the seed spread is counted with some confidence.
        queries: the denominator the accuracies were counted with (exact arithmetic), or None when they
            are not ``correct / queries`` fractions (floating point).
    """

    difference: float
    low: float
    high: float
    level: float
    p: float
    standard_error: float
    df: float
    components: tuple[float, float, float]
    seeds_a: int
    seeds_b: int
    episodes: int
    seed_aware: bool
    queries: int | None

    @property
    def statistic(self) -> float:
        """|D| / SE, the t statistic's size: infinite when SE = 0 < |D|, 0 when D = 0 or SE is infinite."""
        return _statistic(self.difference, self.standard_error)

    def interval(self, level: float) -> tuple[float, float]:
        """The t interval at another two-sided `level` (e.g. 0.99); it excludes zero exactly when the
        comparison rejects "no difference" at that level."""
        low, high, _ = _interval(self, (1 - _fraction(level)) / 2)
        return low, high


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One comparison of a Holm family, decided.

    Attributes:
        comparison: the comparison (A against B).
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
        # p is 0 exactly only when SE = 0 < |D|; otherwise a 0 is a tail below the smallest float.
        p = f"= {self.p_adjusted:.2g}" if self.p_adjusted or math.isinf(c.statistic) else "< 1e-300"
        return (
            f"{self.outcome}: {_points(c.difference)} [{_points(self.low)}, {_points(self.high)}] pts "
            f"({name} {p}, {c.seeds_a} vs {c.seeds_b} seeds{note})"
        )


def compare(
    a: np.ndarray | Sequence[Sequence[float]],
    b: np.ndarray | Sequence[Sequence[float]],
    *,
    level: float = 0.95,
    queries: int | None = None,
) -> Comparison:
    """Compares entry A with entry B: the difference of their means, with the seed variance of either
    side and the episode variance of the paired differences, and a Welch-Satterthwaite t interval.

    ``compare(a, b, ...)`` is ``compare_many([a, b], [(0, 1)], ...)[0]``, bit for bit.

    Args:
        a, b: per-episode accuracies (fractions), shape [seeds, episodes], the same episodes in the same
            order on both sides (`per_seed` builds them from records).
        level: two-sided level of the interval returned.
        queries: queries per episode, to count accuracies as exact integers; None finds the smallest
            common denominator up to `MAX_QUERIES`, or uses floating point where there is none.

    Raises:
        ValueError: for arrays that are not 2-D, empty or of different episode counts, for non-finite
            values, for accuracies that are not counts of `queries`, or for a level not in (0, 1).
    """
    return compare_many([a, b], [(0, 1)], level=level, queries=queries)[0]


def compare_many(
    entries: Sequence[np.ndarray | Sequence[Sequence[float]]],
    pairs: Sequence[tuple[int, int]],
    *,
    queries: int | None = None,
    level: float = 0.95,
) -> list[Comparison]:
    """Compares many pairs of entries of one table, all answering the same episodes.

    Each result is that of `compare` for its two entries and depends on them alone (not on the other
    entries or pairs, nor, for counts, on the denominator). Each entry's seed and episode sums are
    computed once; a pair then costs a pass over the episodes. A pair reversed gives the difference and
    interval negated and the same p.

    Args:
        entries: per-episode accuracies of each entry, shape [seeds, episodes], the same episodes in the
            same order in every entry (seed counts may differ).
        pairs: (i, j) indices into `entries`, each compared as A = entries[i] against B = entries[j];
            a pair listed twice gives the same result twice.
        queries: as for `compare`; None finds the smallest denominator common to all entries.
        level: as for `compare`.

    Returns:
        One `Comparison` per pair, in the order of `pairs`.

    Raises:
        ValueError: for entries that are not non-empty 2-D arrays over the same number of episodes, for
            non-finite values, for accuracies that are not counts of `queries`, for a pair that is not
            two different indices in range, or for a level not in (0, 1).
    """
    arrays = _checked(entries)
    pairs = _checked_pairs(pairs, len(arrays))
    tail = (1 - _fraction(level)) / 2
    if not pairs:
        return []
    queries = _denominator(arrays) if queries is None else queries
    used = sorted({index for pair in pairs for index in pair})
    if queries is not None:
        summaries = {k: _Counts(correct_counts(arrays[k], queries), queries) for k in used}
    else:
        summaries = {k: _Floats(arrays[k]) for k in used}
    done: dict[tuple[int, int], Comparison] = {}
    for i, j in pairs:
        if (i, j) not in done:
            done[i, j] = _comparison(summaries[i], summaries[j], level, tail, queries)
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


class _Counts:
    """One entry's exact sums: correct counts per seed (rows) and per episode (columns, over seeds)."""

    def __init__(self, counts: np.ndarray, queries: int):
        self.seeds, self.episodes = counts.shape
        rows = [int(x) for x in counts.sum(axis=1)]
        self.total = sum(rows)
        # var(row means) = var(row sums) / (E q)^2, the variance an exact fraction (ddof 1).
        self.seed_variance = (
            Fraction(self.seeds * sum(x * x for x in rows) - self.total**2, self.seeds * (self.seeds - 1))
            / (self.episodes * queries) ** 2
            if self.seeds >= 2
            else None
        )
        self.columns = counts.sum(axis=0)  # int64, at most seeds x queries each


class _Floats:
    """One entry's sums in floating point (accuracies that are not counts of one denominator)."""

    def __init__(self, values: np.ndarray):
        self.seeds, self.episodes = values.shape
        self.mean = float(values.mean())
        self.seed_variance = float(np.var(values.mean(axis=1), ddof=1)) if self.seeds >= 2 else None
        self.columns = values.mean(axis=0)


def _comparison(a, b, level: float, tail: Fraction, queries: int | None) -> Comparison:
    """A against B from their summaries: D, the variance components and the t interval."""
    seeds_a, seeds_b, episodes = a.seeds, b.seeds, a.episodes
    if queries is None:
        difference = a.mean - b.mean
        episode = float(np.var(a.columns - b.columns, ddof=1)) / episodes if episodes >= 2 else None
    else:
        difference, episode = _exact_difference(a, b, queries)
    seed_a = None if a.seed_variance is None else a.seed_variance / seeds_a
    seed_b = None if b.seed_variance is None else b.seed_variance / seeds_b
    named = ((seed_a, seeds_a - 1), (seed_b, seeds_b - 1), (episode, episodes - 1))
    standard_error, df = _standard_error([(c, dof) for c, dof in named if c is not None])
    p = _p_value(float(difference), standard_error, df)
    shell = Comparison(
        difference=float(difference), low=0.0, high=0.0, level=level, p=p,
        standard_error=standard_error, df=df,
        components=tuple(0.0 if c is None else float(c) for c in (seed_a, seed_b, episode)),
        seeds_a=seeds_a, seeds_b=seeds_b, episodes=episodes,
        seed_aware=min(seeds_a, seeds_b) >= 3, queries=queries,
    )  # fmt: skip
    low, high, _ = _interval(shell, tail)
    return dataclasses.replace(shell, low=low, high=high)


def _exact_difference(a: _Counts, b: _Counts, queries: int) -> tuple[Fraction, Fraction | None]:
    """D and the episode component as exact fractions. Per episode, ``c_e = S_B C_A,e - S_A C_B,e``
    (C the column sums of correct counts) is ``d_e S_A S_B q``, an integer."""
    seeds_a, seeds_b, episodes = a.seeds, b.seeds, a.episodes
    scale = seeds_a * seeds_b * queries
    difference = Fraction(seeds_b * a.total - seeds_a * b.total, scale * episodes)
    if episodes < 2:
        return difference, None
    largest = scale  # |c_e| <= S_A S_B q
    wide = episodes * largest * largest >= _INT64_SAFE
    columns_a, columns_b = (x.astype(object) if wide else x for x in (a.columns, b.columns))
    c = seeds_b * columns_a - seeds_a * columns_b
    total, squares = int(c.sum()), int((c * c).sum())
    variance = Fraction(episodes * squares - total * total, episodes * (episodes - 1)) / scale**2
    return difference, variance / episodes


def _standard_error(present: list[tuple]) -> tuple[float, float]:
    """SE and its Welch-Satterthwaite degrees of freedom from the components present, (variance, df)."""
    if not present:
        return math.inf, 0.0
    total = sum(c for c, _ in present)
    if total == 0:
        return 0.0, math.inf
    spread = sum(c * c / dof for c, dof in present if c != 0)
    return math.sqrt(float(total)), float(total * total / spread)


def _statistic(difference: float, standard_error: float) -> float:
    if difference == 0 or math.isinf(standard_error):
        return 0.0
    return math.inf if standard_error == 0 else abs(difference) / standard_error


def _p_value(difference: float, standard_error: float, df: float) -> float:
    statistic = _statistic(difference, standard_error)
    if math.isinf(statistic) or statistic == 0:
        return 0.0 if statistic else 1.0
    return min(1.0, 2 * float(special.stdtr(df, -statistic)))  # t_df.sf(|D| / SE), doubled


def _interval(comparison: Comparison, tail: Fraction | float) -> tuple[float, float, bool]:
    """The interval leaving `tail` on each side, and whether it excludes zero, decided once from
    ``|D| / SE > t_df.isf(tail)``; the bound next to zero is kept on the decision's side."""
    difference, standard_error = comparison.difference, comparison.standard_error
    if standard_error == 0:
        return difference, difference, difference != 0
    if math.isinf(standard_error):
        return -math.inf, math.inf, False
    quantile = -float(special.stdtrit(comparison.df, float(tail)))  # t_df.isf(tail)
    excludes = _statistic(difference, standard_error) > quantile
    half = quantile * standard_error
    low, high = _agreeing(difference - half, difference + half, difference, excludes)
    return low, high, excludes


def _agreeing(low: float, high: float, difference: float, excludes: bool) -> tuple[float, float]:
    """The interval with its bound next to zero on the side `excludes` says (a last-bit correction)."""
    if excludes and difference > 0 and low <= 0:
        low = math.nextafter(0.0, 1.0)
    elif excludes and difference < 0 and high >= 0:
        high = math.nextafter(0.0, -1.0)
    elif not excludes:
        low, high = min(low, 0.0), max(high, 0.0)
    return low, high


def holm(comparisons: Sequence[Comparison], alpha: float = 0.05) -> list[Verdict]:
    """Decides a family of comparisons with Holm's step-down procedure, in the order given.

    Ranked by ascending p (ties in input order), the comparison at rank k rejects "no difference" when every
    one before it did and its interval at level ``1 - alpha / (m - k + 1)`` excludes zero (equivalently,
    its p is below ``alpha / (m - k + 1)``). After the first that does not, every later comparison is
    shown at the stopping comparison's level, where its interval includes zero too.
    """
    m = len(comparisons)
    limit = _fraction(alpha)
    order = sorted(range(m), key=lambda i: (comparisons[i].p, i))
    decided: dict[int, Verdict] = {}
    adjusted, divisor, stopped = 0.0, m, False
    for rank, index in enumerate(order, start=1):
        comparison = comparisons[index]
        adjusted = max(adjusted, min(1.0, (m - rank + 1) * comparison.p))
        divisor = divisor if stopped else m - rank + 1
        low, high, excludes = _interval(comparison, limit / divisor / 2)
        rejected = not stopped and excludes
        low, high = _agreeing(low, high, comparison.difference, rejected)
        stopped = not rejected
        outcome: Outcome = "ties" if not rejected else "beats" if comparison.difference > 0 else "loses to"
        decided[index] = Verdict(
            comparison=comparison, outcome=outcome, level=float(1 - limit / divisor), low=low, high=high,
            family=m, p_adjusted=_toward(adjusted, rejected, alpha), note=_note(comparison),
        )  # fmt: skip
    return [decided[i] for i in range(m)]


def _toward(adjusted: float, rejected: bool, alpha: float) -> float:
    """The adjusted p on the side of `alpha` the decision is on (rounding cannot flip it)."""
    if rejected and adjusted >= alpha:
        return math.nextafter(alpha, 0.0)
    if not rejected and adjusted < alpha:
        return alpha
    return adjusted


def _note(comparison: Comparison) -> str:
    fewest = min(comparison.seeds_a, comparison.seeds_b)
    if fewest == 1:
        return "one seed: test-episode noise only"
    if fewest == 2:
        return "fewer than 3 seeds: seed spread poorly known"
    return ""


def _points(fraction: float) -> str:
    return f"{100 * fraction:+.2f}"


def _fraction(value: float) -> Fraction:
    """A float level or alpha as the decimal it was written as (0.05 is 1/20), checked to lie in (0, 1)."""
    fraction = Fraction(value).limit_denominator(10**9)
    if not 0 < fraction < 1:
        raise ValueError(f"a level or alpha must lie strictly between 0 and 1; got {value}")
    return fraction


def per_seed(records: Sequence[Mapping]) -> np.ndarray:
    """The [seeds, episodes] accuracies of one entry's records, rows ordered by training seed (so that the
    arrays do not depend on the order the records were listed in).

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

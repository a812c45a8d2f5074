"""Summary statistics over per-episode accuracies: mean and 95% CI, and paired comparisons.

Pure Python (no NumPy, SciPy or TensorFlow), so that the leaderboard can use it cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and 95% confidence half-width, 1.96 * std / sqrt(N) with the sample std (ddof = 1).

    Raises:
        ValueError: for an empty sequence.
    """
    mean, standard_error = _mean_and_standard_error(values)
    return mean, 0.0 if standard_error is None else 1.96 * standard_error


def _mean_and_standard_error(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and std / sqrt(N) with the sample std (ddof = 1); None for a single value."""
    n = len(values)
    if n == 0:
        raise ValueError("no values to summarise")
    mean = math.fsum(values) / n
    if n == 1:
        return mean, None
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1) / n)


# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)  # fmt: skip


def t_ci95(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and 95% Student-t half-width over a few values (training seeds, say): t * std / sqrt(N), with
    the sample std; None for a single value, which has no spread to show.

    Raises:
        ValueError: for an empty sequence.
    """
    mean, standard_error = _mean_and_standard_error(values)
    if standard_error is None:
        return mean, None
    df = len(values) - 1
    t = _T975[df - 1] if df <= len(_T975) else 1.96 + 2.37 / df  # Cornish-Fisher beyond the table
    return mean, t * standard_error


@dataclass(frozen=True)
class PairedComparison:
    """Two methods compared on the same episodes, episode by episode (differences are `a - b`).

    Attributes:
        n: number of paired episodes.
        mean_difference: mean of the per-episode differences.
        ci95: 95% half-width of `mean_difference`, 1.96 * std / sqrt(n) of the differences.
        wins, losses, ties: episodes where `a` is above, below or equal to `b`.
        sign_p: two-sided exact sign-test p-value (ties dropped).
        wilcoxon_p: two-sided Wilcoxon signed-rank p-value, normal approximation with tie correction
            (zero differences dropped).
    """

    n: int
    mean_difference: float
    ci95: float
    wins: int
    losses: int
    ties: int
    sign_p: float
    wilcoxon_p: float

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether the Wilcoxon test rejects "no difference" at level `alpha`."""
        return self.wilcoxon_p < alpha


def paired_comparison(a: Sequence[float], b: Sequence[float]) -> PairedComparison:
    """Compares per-episode accuracies of two methods evaluated on the same episodes, in the same order.

    Raises:
        ValueError: when the sequences are empty or of different lengths.
    """
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths; got {len(a)} and {len(b)}")
    # Python floats: numpy inputs (seed-averaged episodes) would make the counts int64, and the sign test's
    # 2**n overflow past 62 episodes.
    differences = [float(x) - float(y) for x, y in zip(a, b, strict=True)]
    mean, ci95 = mean_ci95(differences)
    wins = sum(d > 0 for d in differences)
    losses = sum(d < 0 for d in differences)
    return PairedComparison(
        n=len(differences),
        mean_difference=mean,
        ci95=ci95,
        wins=wins,
        losses=losses,
        ties=len(differences) - wins - losses,
        sign_p=sign_test(wins, losses),
        wilcoxon_p=wilcoxon_signed_rank(differences),
    )


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial sign-test p-value for `wins` against `losses` (ties already removed)."""
    wins, losses = int(wins), int(losses)
    n = wins + losses
    if n == 0:
        return 1.0
    # Exact integers, then one true division: stays accurate where floats of the terms would overflow.
    tail = sum(math.comb(n, k) for k in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def wilcoxon_signed_rank(differences: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value, normal approximation with tie and continuity corrections.

    Zero differences are dropped (Wilcoxon's convention). Accuracies on an episode take few distinct
    values, so ties are many and the tie correction matters.
    """
    nonzero = [d for d in differences if d != 0]
    n = len(nonzero)
    if n == 0:
        return 1.0
    ranks, tie_sizes = _average_ranks([abs(d) for d in nonzero])
    w_plus = math.fsum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    expected = n * (n + 1) / 4
    variance = n * (n + 1) * (2 * n + 1) / 24 - sum(t**3 - t for t in tie_sizes) / 48
    if variance <= 0:
        return 1.0
    z = max(abs(w_plus - expected) - 0.5, 0.0) / math.sqrt(variance)
    return math.erfc(z / math.sqrt(2))


def _average_ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """1-based ranks with ties sharing their average rank, and the sizes of the tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    tie_sizes = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        tie_sizes.append(end - start + 1)
        start = end + 1
    return ranks, tie_sizes

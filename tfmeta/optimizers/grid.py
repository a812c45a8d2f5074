"""Learning-rate search on a log grid that does not stop where the grid happens to end.

A baseline whose best rate sits on the edge of its grid is under-tuned: the true optimum may lie beyond.
`search` scores the given grid, extends it by its own spacing past whichever edge wins (until the winner
is interior or a limit is reached), then closes in: it scores the rate halfway (in log) to each neighbour
more than a third of a decade away, or a quarter-decade out where there is none, until the winner's
neighbours are at most a third of a decade away.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

FINE = 10**0.25  # the refinement step: a quarter of a decade, within the third that a fair comparison needs
MAX_EXTENSIONS = 6  # per side: with half-decade spacing, three decades beyond the grid
MAX_REFINEMENTS = 4
NEAR = 10 ** (1 / 3) * (1 + 1e-6)  # a third of a decade, with room for the rounding of `evaluate`


def search(
    score: Callable[[float], float | None], grid: Sequence[float], max_extensions: int = MAX_EXTENSIONS
) -> dict:
    """The rate with the lowest `score` (None or non-finite: diverged, never the winner).

    Args:
        score: the quantity to minimise at a learning rate (a mean final loss; a negated accuracy).
        grid: the starting rates, log-spaced, at least two.
        max_extensions: how many times each edge may be extended.

    Returns:
        {"grid": every rate scored, ascending; "scores": theirs, None where diverged; "winner";
         "interior": whether the winner has a scored neighbour within a third of a decade on both sides
         (a diverged neighbour bounds it as well as a worse one)}.

    Raises:
        FloatingPointError: when every rate diverged.
    """
    rates = sorted(grid)
    if len(rates) < 2 or rates[0] <= 0:
        raise ValueError(f"a learning-rate grid needs at least two positive rates, got {list(grid)}")
    spacing = (rates[-1] / rates[0]) ** (1 / (len(rates) - 1))
    scores: dict[float, float | None] = {}

    def evaluate(rate: float) -> None:
        rate = float(f"{rate:.6g}")  # 0.1 * 10**0.25 reads as 0.177828, not a float's full digits
        if rate not in scores:
            value = score(rate)
            scores[rate] = float(value) if value is not None and math.isfinite(value) else None

    def winner() -> float:
        finite = [(value, rate) for rate, value in scores.items() if value is not None]
        if not finite:
            raise FloatingPointError(f"every learning rate of {sorted(scores)} diverged")
        return min(finite)[1]

    for rate in rates:
        evaluate(rate)
    for _ in range(max_extensions):
        best, low, high = winner(), min(scores), max(scores)
        if best == high:
            evaluate(high * spacing)
        elif best == low:
            evaluate(low / spacing)
        else:
            break
    for _ in range(MAX_REFINEMENTS):  # close in until both neighbours are within a third of a decade
        best, ordered = winner(), sorted(scores)
        i = ordered.index(best)
        below, above = (ordered[i - 1] if i else None), (ordered[i + 1] if i + 1 < len(ordered) else None)
        todo = [
            best / FINE if below is None else math.sqrt(best * below),
            best * FINE if above is None else math.sqrt(best * above),
        ]
        gaps = [below is None or best / below > NEAR, above is None or above / best > NEAR]
        if not any(gaps):
            break
        for rate, wide in zip(todo, gaps, strict=True):
            if wide:
                evaluate(rate)
    best, ordered = winner(), sorted(scores)
    i = ordered.index(best)
    interior = 0 < i < len(ordered) - 1 and all(
        max(n, best) / min(n, best) <= NEAR for n in (ordered[i - 1], ordered[i + 1])
    )
    return {"grid": ordered, "scores": [scores[r] for r in ordered], "winner": best, "interior": interior}

"""Verification metrics: same/different pairs scored by a model, summarised as ROC-AUC and equal error rate.

A few-shot episode holds its verification pairs already: every (query, support class) entry of a
method's score matrix [queries, way] compares a query with one class's support images, "same" in the
column of the query's label and "different" in the others. Over a frozen test set these pairs are a
deterministic function of the episodes, so two methods are verified on identical pairs.
"""

from __future__ import annotations

import numpy as np


def episode_pairs(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flattens score matrices into pair scores and same/different flags.

    Args:
        scores: [episodes, queries, way] (or [queries, way]), higher = more alike.
        labels: [episodes, queries] (or [queries]), labels in 0..way-1.

    Returns:
        (scores [n_pairs], same [n_pairs] bool); one same pair and way - 1 different pairs per query.
    """
    scores = np.asarray(scores, dtype=np.float64)
    way = scores.shape[-1]
    same = np.arange(way) == np.asarray(labels)[..., None]
    return scores.reshape(-1), same.reshape(-1)


def roc_auc(scores: np.ndarray, same: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a same pair > score of a different pair), ties counting half.

    Raises:
        ValueError: when there are no same or no different pairs.
    """
    scores, same = np.asarray(scores, dtype=np.float64), np.asarray(same, dtype=bool)
    n_same, n_different = int(same.sum()), int((~same).sum())
    if n_same == 0 or n_different == 0:
        raise ValueError("ROC-AUC needs both same and different pairs")
    ranks = _average_ranks(scores)
    return float((ranks[same].sum() - n_same * (n_same + 1) / 2) / (n_same * n_different))


def equal_error_rate(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The equal error rate and its threshold ("same" when score >= threshold).

    The EER is where the false-accept rate (different pairs accepted) meets the false-reject rate (same
    pairs rejected); between thresholds it is interpolated linearly on the ROC curve.
    """
    scores, same = np.asarray(scores, dtype=np.float64), np.asarray(same, dtype=bool)
    if not same.any() or same.all():
        raise ValueError("the equal error rate needs both same and different pairs")
    thresholds = np.unique(scores)[::-1]  # descending: accept more pairs at each step
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_same = scores[order], same[order]
    accepted = np.searchsorted(-sorted_scores, -thresholds, side="right")  # pairs with score >= threshold
    true_accepts = np.concatenate([[0], np.cumsum(sorted_same)])[accepted]
    false_accepts = accepted - true_accepts
    far = false_accepts / (~same).sum()
    frr = 1.0 - true_accepts / same.sum()
    crossing = int(np.argmax(far >= frr))  # FAR rises and FRR falls as the threshold drops
    if crossing == 0:
        return float((far[0] + frr[0]) / 2), float(thresholds[0])
    gap_before, gap_after = frr[crossing - 1] - far[crossing - 1], far[crossing] - frr[crossing]
    weight = gap_before / (gap_before + gap_after) if gap_before + gap_after > 0 else 0.0
    eer = far[crossing - 1] + weight * (far[crossing] - far[crossing - 1])
    return float(eer), float(thresholds[crossing])


def verification(scores: np.ndarray, labels: np.ndarray) -> dict[str, float | int]:
    """The `verification` block of a record: ROC-AUC, EER and pair counts from episode score matrices."""
    pair_scores, same = episode_pairs(scores, labels)
    eer, threshold = equal_error_rate(pair_scores, same)
    return {
        "auc": roc_auc(pair_scores, same),
        "eer": eer,
        "eer_threshold": threshold,
        "n_pairs": int(len(same)),
        "n_same": int(same.sum()),
    }


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]])
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.concatenate([first[1:], [len(values)]]) - 1
    ranks = np.empty(len(values))
    ranks[order] = (first[group] + last[group]) / 2 + 1
    return ranks

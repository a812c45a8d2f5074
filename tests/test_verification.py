"""ROC-AUC and equal error rate against brute-force definitions, and the pairs taken from episodes."""

from __future__ import annotations

import numpy as np
import pytest

from tfmeta.harness.verification import episode_pairs, equal_error_rate, roc_auc, verification


def brute_force_auc(scores, same):
    positives, negatives = scores[same], scores[~same]
    wins = (positives[:, None] > negatives[None]).sum() + 0.5 * (positives[:, None] == negatives[None]).sum()
    return wins / (len(positives) * len(negatives))


def test_auc_matches_pairwise_definition_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, size=300).astype(float)  # many ties
    same = rng.random(300) < 0.3 + 0.1 * scores / 5
    assert roc_auc(scores, same) == pytest.approx(brute_force_auc(scores, same), abs=1e-12)


def test_auc_and_eer_at_the_extremes():
    scores = np.array([0.9, 0.8, 0.3, 0.1])
    same = np.array([True, True, False, False])
    assert roc_auc(scores, same) == 1.0 and roc_auc(-scores, same) == 0.0
    eer, threshold = equal_error_rate(scores, same)
    assert eer == 0.0 and 0.3 < threshold <= 0.8
    assert equal_error_rate(-scores, same)[0] == 1.0


def test_eer_is_where_false_accepts_meet_false_rejects():
    # Same pairs score 1..10, different pairs 6..15 shifted down: scores of same = i, different = i - 5.
    same_scores, different_scores = np.arange(1, 11.0), np.arange(1, 11.0) - 5
    scores = np.concatenate([same_scores, different_scores])
    same = np.arange(20) < 10
    eer, threshold = equal_error_rate(scores, same)
    far = (different_scores >= threshold).mean()
    frr = (same_scores < threshold).mean()
    assert eer == pytest.approx(0.25, abs=0.05)
    assert abs(far - frr) <= 0.1


def test_random_scores_have_auc_near_half_and_eer_near_half():
    rng = np.random.default_rng(1)
    scores, same = rng.normal(size=20_000), rng.random(20_000) < 0.2
    assert roc_auc(scores, same) == pytest.approx(0.5, abs=0.02)
    assert equal_error_rate(scores, same)[0] == pytest.approx(0.5, abs=0.02)


def test_episode_pairs_take_one_same_pair_per_query():
    scores = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)  # 2 episodes, 3 queries, 4-way
    labels = np.array([[0, 3, 1], [2, 2, 0]])
    flat, same = episode_pairs(scores, labels)
    assert flat.shape == same.shape == (24,) and same.sum() == 6
    assert flat[same].tolist() == [0, 7, 9, 14, 18, 20]
    block = verification(scores, labels)
    assert block["n_pairs"] == 24 and block["n_same"] == 6 and 0 <= block["eer"] <= 1


def test_metrics_need_both_kinds_of_pairs():
    with pytest.raises(ValueError, match="both"):
        roc_auc(np.ones(3), np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="both"):
        equal_error_rate(np.ones(3), np.zeros(3, dtype=bool))

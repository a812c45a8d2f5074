"""Result records: validation, recomputed summaries, atomic never-overwriting writes."""

from __future__ import annotations

import copy
import json

import pytest

from tfmeta.core.stats import mean_ci95
from tfmeta.records import few_shot, store


def _record():
    per_episode = [0.8, 0.9, 1.0, 0.7]
    return {
        "schema_version": 1,
        "method": {
            "name": "protonet",
            "import_path": "tfmeta.methods.protonet:PrototypicalNetwork",
            "config": {},
        },
        "benchmark": {
            "name": "omniglot",
            "dataset": "omniglot",
            "split": "vinyals",
            "part": "test",
            "way": 5,
            "shot": 1,
            "query": 15,
        },
        "profile": "smoke",
        "accuracy": few_shot.summarize(per_episode),
        "per_episode": per_episode,
        "episodes_hash": "sha256:" + "0" * 64,
        "curve": [{"episode": 30, "seconds": 1.5, "val_accuracy": 0.5}],
        "timing": {"train_seconds": 1.5, "test_seconds": 0.1},
        "params": 10,
        "provenance": {
            "tfmeta_version": "0.1.0",
            "git_commit": None,
            "packages": {},
            "hardware": {},
            "seeds": {},
            "created": "2026-11-26T00:00:00+00:00",
        },
        "config": {},
    }


def test_ci_is_196_standard_errors():
    mean, ci = mean_ci95([0.0, 1.0])
    assert mean == 0.5 and ci == pytest.approx(1.96 * 0.7071067811865476 / 2**0.5)


def test_write_then_read(tmp_path):
    path = few_shot.write(_record(), tmp_path, "a.json")
    assert few_shot.read(path) == _record()
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary file left behind


def test_existing_record_is_never_overwritten(tmp_path):
    few_shot.write(_record(), tmp_path, "a.json")
    before = (tmp_path / "a.json").read_bytes()
    other = _record()
    other["profile"] = "standard"
    with pytest.raises(FileExistsError):
        few_shot.write(other, tmp_path, "a.json")
    assert (tmp_path / "a.json").read_bytes() == before


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda r: r.pop("per_episode"), "'per_episode' is a required property"),
        (lambda r: r["benchmark"].update(way="five"), "benchmark.way: 'five' is not of type 'integer'"),
        (
            lambda r: r["accuracy"].update(mean=0.99),
            "accuracy.mean is 0.99 but the per-episode accuracies give 0.85",
        ),
        (lambda r: r["accuracy"].update(n_episodes=5), "n_episodes is 5 but per_episode holds 4"),
    ],
)
def test_broken_records_are_refused_and_nothing_is_written(tmp_path, breakage, message):
    record = copy.deepcopy(_record())
    breakage(record)
    with pytest.raises(store.RecordError, match=message):
        few_shot.write(record, tmp_path, "broken.json")
    assert list(tmp_path.iterdir()) == []


def test_load_all_skips_bad_files_with_reasons(tmp_path):
    few_shot.write(_record(), tmp_path, "good.json")
    (tmp_path / "truncated.json").write_text(json.dumps(_record())[:100])
    loaded = few_shot.load_all(tmp_path)
    assert [p.name for p, _ in loaded.records] == ["good.json"]
    assert loaded.skipped[0][0].name == "truncated.json" and "not valid JSON" in loaded.skipped[0][1]

"""Hand-made result records for the leaderboard and submission tests (no training, no TensorFlow).

They answer the benchmark's committed frozen smoke episodes (omniglot 5-way 1-shot, 20 episodes), so they
pass every submission check unless a test breaks them on purpose.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from tfmeta.data.episodes import FrozenEpisodes
from tfmeta.records import few_shot

REPO = Path(__file__).resolve().parents[1]
SMOKE_EPISODES = REPO / "benchmarks" / "episodes" / "omniglot-vinyals-test-5w1s15q-20ep-seed1703.npz"


def smoke_hash() -> str:
    return FrozenEpisodes.load(SMOKE_EPISODES).hash


def make_record(method: str = "fake", per_episode: list[float] | None = None, seconds: float = 60.0) -> dict:
    """A valid record of `method` on the frozen smoke episodes of the omniglot benchmark."""
    per_episode = per_episode if per_episode is not None else [0.6 + 0.01 * (i % 7) for i in range(20)]
    return {
        "schema_version": few_shot.SCHEMA_VERSION,
        "method": {"name": method, "import_path": f"tests.fake:{method}", "paper": "none",
                   "config": {"units": 8}},
        "benchmark": {
            "name": "omniglot", "dataset": "omniglot", "split": "vinyals", "part": "test",
            "way": 5, "shot": 1, "query": 15, "batch_norm": "inductive",
        },
        "profile": "smoke",
        "accuracy": few_shot.summarize(per_episode),
        "per_episode": per_episode,
        "episodes_hash": smoke_hash(),
        "curve": [
            {"episode": 30, "seconds": seconds / 2, "loss": 1.5, "accuracy": 0.5, "val_loss": 1.4,
             "val_accuracy": 0.55},
            {"episode": 60, "seconds": seconds, "loss": 1.0, "accuracy": 0.6, "val_loss": 1.2,
             "val_accuracy": 0.6},
        ],
        "timing": {"train_seconds": seconds, "train_ms_per_episode": 1000 * seconds / 60,
                   "test_seconds": 1.0},
        "params": 1234,
        "provenance": {
            "tfmeta_version": "0.1.0", "git_commit": None, "packages": {}, "hardware": {"cpu": "test"},
            "seeds": {"train": 0}, "created": "2026-11-26T12:00:00+00:00",
        },
        "config": {
            "spec": "omniglot.yaml", "test_episodes": len(per_episode), "method_config": {"units": 8},
            "train": {"part": "train", "way": 5, "shot": 1, "query": 5, "episodes": 60, "seed": 0},
            "optimizer": {"name": "adam", "learning_rate": 0.001},
        },
    }  # fmt: skip


def shown(markdown: str) -> str:
    """The text a reader sees of app markdown whose record strings were escaped (`loading.plain`)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def write_json(directory: Path, name: str, record) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(record))
    return path


def broken_records() -> dict[str, tuple[dict | str, str]]:
    """Broken submissions by name: (record or raw text, a fragment of the expected rejection)."""
    missing = make_record()
    del missing["per_episode"]
    wrong_type = make_record()
    wrong_type["benchmark"]["way"] = "five"
    disagreeing = make_record()
    disagreeing["accuracy"]["mean"] += 0.05
    miscounted = make_record()
    miscounted["accuracy"]["n_episodes"] = 21
    wrong_hash = make_record()
    wrong_hash["episodes_hash"] = "sha256:" + "0" * 64
    unknown_benchmark = make_record()
    unknown_benchmark["benchmark"]["name"] = "no-such-benchmark"
    wrong_query = make_record()
    wrong_query["benchmark"]["query"] = 5
    no_frozen_file = make_record(per_episode=[0.5] * 7)
    out_of_range = make_record()
    out_of_range["per_episode"][0] = 1.5
    unknown_profile = make_record()
    unknown_profile["profile"] = "made-up"
    short_budget = make_record()
    short_budget["config"]["train"]["episodes"] = 40
    seed_contradiction = make_record()
    seed_contradiction["seed"] = 2  # its training block ran seed 0
    wrong_protocol = make_record()
    wrong_protocol["benchmark"]["batch_norm"] = "transductive"
    silent_protocol = make_record()
    del silent_protocol["benchmark"]["batch_norm"]
    # Shapes the app's pages once read without a check (each crashed a page for every visitor).
    inner_curve = {**make_record(), "analysis": {"inner_curve": 5}}
    accuracy_vs_m = {**make_record(), "analysis": {"accuracy_vs_m": [1, 2]}}
    method_config = make_record()
    method_config["config"]["method_config"] = [1]
    accelerators = make_record()
    accelerators["provenance"]["hardware"]["accelerators"] = 5
    return {
        "inner_curve_not_an_object": (inner_curve, "analysis.inner_curve: 5 is not of type 'object'"),
        "accuracy_vs_m_not_rows": (accuracy_vs_m, "analysis.accuracy_vs_m.0: 1 is not of type 'object'"),
        "method_config_not_an_object": (method_config, "config.method_config: [1] is not of type 'object'"),
        "accelerators_not_a_list": (
            accelerators,
            "provenance.hardware.accelerators: 5 is not of type 'array'",
        ),
        "batch_norm_missing": (
            silent_protocol,
            "benchmark.batch_norm is None but benchmark 'omniglot' uses 'inductive'",
        ),
        "seed_contradicts_training_block": (
            seed_contradiction,
            "seed is 2 but config.train.seed is 0",
        ),
        "batch_norm_disagrees_with_spec": (
            wrong_protocol,
            "benchmark.batch_norm is 'transductive' but benchmark 'omniglot' uses 'inductive'",
        ),
        "profile_not_in_spec": (
            unknown_profile,
            "profile 'made-up' is not a profile of omniglot; valid: smoke",
        ),
        "budget_disagrees_with_profile": (
            short_budget,
            "config.train.episodes is 40 but the smoke profile of omniglot trains fake with 60",
        ),
        "missing_field": (missing, "per_episode"),
        "wrong_type": (wrong_type, "benchmark.way"),
        "summary_disagrees": (disagreeing, "accuracy.mean"),
        "episode_count_disagrees": (miscounted, "n_episodes"),
        "accuracy_out_of_range": (out_of_range, "per_episode.0"),
        "wrong_episodes_hash": (wrong_hash, "not the hash of the benchmark's test set"),
        "unknown_benchmark": (unknown_benchmark, "unknown benchmark 'no-such-benchmark'"),
        "query_disagrees_with_spec": (wrong_query, "benchmark.query"),
        "no_frozen_episodes": (no_frozen_file, "no frozen test episodes"),
        "not_json": ("{ this is not json", "not valid JSON"),
        "nan": (json.dumps(make_record()).replace('"params": 1234', '"params": NaN'), "NaN"),
        "not_an_object": ("[1, 2, 3]", "not a record object"),
        "infinite_number": (
            json.dumps(make_record()).replace('"test_seconds": 1.0', '"test_seconds": 1e999'),
            "1e999 is not a finite number",
        ),
        "nested_1000_deep": ('{"a": ' + "[" * 1000 + "]" * 1000 + "}", "nested deeper than"),
        "nested_past_the_limit": (
            {**make_record(), "notes": [[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]},
            "nests deeper than 16 levels",
        ),
        "long_string": ({**make_record(), "notes": "x" * 20_000}, "notes is a string of 20000 characters"),
    }


def copy_record(record: dict) -> dict:
    return copy.deepcopy(record)

"""A run's result record: the accuracies, curve, timings, configuration and provenance it holds.

`tfmeta.bench.results` validates, writes and reads records; this module builds them from a run.
"""

from __future__ import annotations

import json

import numpy as np

from tfmeta.bench import results


def build(
    the_plan,
    options,
    method,
    *,
    method_name: str,
    per_episode: list[float],
    episodes_hash: str,
    summary: dict,
    test_seconds: float,
    reused: bool,
    curve: list[dict],
    origin: dict,
) -> dict:
    """The record of one run (`record.schema.json`), before the optional fields of `extra_results` and
    the method's `analysis`."""
    data = the_plan.benchmark.data
    return {
        "schema_version": results.SCHEMA_VERSION,
        "method": {
            "name": method_name,
            "import_path": the_plan.import_path,
            "paper": getattr(method, "paper", ""),
            "config": method_config(method),
        },
        "benchmark": {
            "name": the_plan.benchmark.name,
            "dataset": data["dataset"],
            "split": data["split"],
            "part": data["test"].get("source", data["test"]["part"]),
            "way": the_plan.setting["way"],
            "shot": the_plan.setting["shot"],
            "query": data["test"]["query"],
            "batch_norm": data["test"].get("batch_norm", "inductive"),
        },
        "profile": options.profile,
        "accuracy": results.summarize(per_episode),
        "per_episode": per_episode,
        "episodes_hash": episodes_hash,
        "curve": curve,
        "timing": {
            "train_seconds": summary["seconds"],
            "train_ms_per_episode": 1000 * summary["seconds"] / summary["episodes"],
            "test_seconds": test_seconds,
            "test_episodes_per_second": len(per_episode) / test_seconds,
            "reused_training": reused,
        },
        "params": int(method.count_params()),
        "provenance": {**origin, "training": summary.get("origin")},
        "config": {
            "spec": the_plan.benchmark.path.name,
            "train": the_plan.train,
            "validation": the_plan.validation,
            "optimizer": the_plan.profile["optimizer"],
            "jit_compile": the_plan.profile.get("jit_compile", False),
            "test_episodes": the_plan.profile["test_episodes"],
            "method_config": options.method_config,
        },
    }


def method_config(method) -> dict:
    """The method's constructor arguments, without Keras's per-instance bookkeeping (its unique name)."""
    config = {k: v for k, v in method.get_config().items() if k not in ("name", "trainable", "dtype")}
    return _jsonable(config)


def extra_results(the_plan, method, logits: np.ndarray, labels: np.ndarray) -> dict:
    """Optional record fields: verification AUC/EER for methods whose scores are pair scores
    (`scores_pairs = True`), error rate on Lake's runs."""
    from tfmeta.bench.verification import verification

    extra = {}
    if getattr(method, "scores_pairs", False):
        extra["verification"] = verification(logits, labels)
    if the_plan.benchmark.data["test"].get("source") == "lake_runs":
        errors = (np.argmax(logits, axis=-1) != labels).mean(axis=1)
        extra["error_rate"] = {"mean": float(errors.mean()), "per_run": [float(e) for e in errors]}
    return extra


def _jsonable(config: dict) -> dict:
    return json.loads(json.dumps(config, default=str))

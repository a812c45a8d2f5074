"""Building a run's result record: the accuracies, curve, timings, configuration and provenance it holds.

`tfmeta.records.few_shot` checks records and `tfmeta.records.store` writes them; this module builds them
from a run.
"""

from __future__ import annotations

import json

import numpy as np

from tfmeta.harness.evaluation import Evaluation
from tfmeta.harness.planning import Plan
from tfmeta.harness.training import Trained
from tfmeta.records import few_shot


def build(
    the_plan: Plan,
    method,
    run_config: dict,
    trained: Trained,
    evaluated: Evaluation,
    episodes_hash: str,
    origin: dict,
    analysis_config: dict | None = None,
) -> dict:
    """The record of one run (`few_shot_record.schema.json`), before the optional fields of
    `extra_results`, the tuning and the `analysis`.

    Args:
        run_config: the method configuration the run was given (spec defaults and --config).
        analysis_config: the configuration of the analysis run beside the method (the inner-loop
            analysis's `curve_*` keys), recorded in the method's config.
    """
    data = the_plan.benchmark.data
    per_episode = evaluated.per_episode
    summary = trained.summary
    return {
        "schema_version": few_shot.SCHEMA_VERSION,
        "seed": the_plan.seed,
        "method": {
            "name": the_plan.method_name,
            "import_path": the_plan.import_path,
            "paper": method.paper,
            "config": {**method_config(method), **(analysis_config or {})},
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
        "profile": the_plan.profile_name,
        "accuracy": few_shot.summarize(per_episode),
        "per_episode": per_episode,
        "episodes_hash": episodes_hash,
        "curve": trained.curve,
        "timing": {
            "train_seconds": summary["seconds"],
            "train_ms_per_episode": 1000 * summary["seconds"] / summary["episodes"],
            "test_seconds": evaluated.seconds,
            "test_episodes_per_second": len(per_episode) / evaluated.seconds,
            "reused_training": trained.reused,
            **({"resumed_at_episodes": summary["resumed_at"]} if summary.get("resumed_at") else {}),
        },
        "params": int(method.count_params()),
        **({"weights": {"sha256": summary["weights_sha256"]}} if summary.get("weights_sha256") else {}),
        "provenance": {**origin, "training": summary.get("origin")},
        "config": {
            "spec": the_plan.benchmark.path.name,
            "train": the_plan.train,
            "validation": the_plan.validation,
            "optimizer": the_plan.profile["optimizer"],
            "jit_compile": the_plan.profile.get("jit_compile", False),
            "test_episodes": the_plan.profile["test_episodes"],
            "method_config": run_config,
        },
    }


def method_config(method) -> dict:
    """The method's constructor arguments, without Keras's per-instance bookkeeping (its unique name)."""
    config = {k: v for k, v in method.get_config().items() if k not in ("name", "trainable", "dtype")}
    return json.loads(json.dumps(config, default=str))


def extra_results(the_plan: Plan, method, logits: np.ndarray, labels: np.ndarray) -> dict:
    """Optional record fields: verification AUC/EER for methods whose scores are pair scores
    (`scores_pairs`), error rate on Lake's runs."""
    from tfmeta.harness.verification import verification

    extra = {}
    if method.scores_pairs:
        extra["verification"] = verification(logits, labels)
    if the_plan.tests_on_lake_runs:
        errors = (np.argmax(logits, axis=-1) != labels).mean(axis=1)
        extra["error_rate"] = {"mean": float(errors.mean()), "per_run": [float(e) for e in errors]}
    return extra

"""Test-time work of a run: the test set, test-time tuning on validation classes, and evaluation."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from tfmeta.data.episodes import frozen_episodes
from tfmeta.data.pipelines import frozen_dataset
from tfmeta.harness.planning import Plan


def load_test_set(the_plan: Plan, class_sets: dict, data_dir: str | None):
    """The test set (frozen episodes, or Lake's runs where the spec says `source: lake_runs`) and its
    tf.data dataset."""
    if the_plan.tests_on_lake_runs:
        from tfmeta.data.omniglot import lake_runs

        runs = lake_runs.load(data_dir)
        return runs, runs.dataset()
    part = the_plan.benchmark.data["test"]["part"]
    episodes = frozen_episodes(the_plan.test_key, class_sets[part], the_plan.benchmark.episodes_dir)
    return episodes, frozen_dataset(episodes, class_sets[part])


def load_validation_set(the_plan: Plan, class_sets: dict):
    """The frozen validation episodes and their tf.data dataset."""
    class_set = class_sets[the_plan.validation["part"]]
    episodes = frozen_episodes(the_plan.validation_key, class_set, the_plan.benchmark.episodes_dir)
    return episodes, frozen_dataset(episodes, class_set)


def tune(the_plan: Plan, method, class_sets: dict) -> dict:
    """Lets the method choose its test-time hyperparameters (`FewShotMethod.tune`) on frozen episodes of
    the test setting drawn from the validation classes; never on the test classes: where the spec
    validates on its test part (Lake's runs), nothing is tuned."""
    if not method.tunes:
        return {}
    validation, test = the_plan.validation, the_plan.benchmark.data["test"]
    if validation["part"] == test["part"]:
        return {"skipped": f"validation part {validation['part']!r} is the test part; defaults used"}
    # The validation episodes' draw, in the test setting's way and shot.
    key = dataclasses.replace(
        the_plan.validation_key, way=the_plan.setting["way"], shot=the_plan.setting["shot"]
    )
    class_set = class_sets[validation["part"]]
    episodes = frozen_episodes(key, class_set, the_plan.benchmark.episodes_dir)
    print(f"Tuning test-time hyperparameters on {len(episodes)} validation episodes")
    chosen = method.tune(frozen_dataset(episodes, class_set), episodes.query_labels())
    return {"episodes": len(episodes), "episodes_hash": episodes.hash, **chosen}


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Per-episode query accuracies on the test set, the seconds they took, and the logits
    `[episodes, queries, way]`."""

    per_episode: list[float]
    seconds: float
    logits: np.ndarray


def evaluate(model, dataset, labels: np.ndarray, verbose) -> Evaluation:
    """Evaluates `model` on test episodes.

    Args:
        dataset: the test episodes as a tf.data dataset of (episode, query labels), in order.
        labels: int [episodes, queries], the query labels.
    """
    start = time.perf_counter()
    logits = model.predict(dataset, verbose=verbose)
    seconds = time.perf_counter() - start
    logits = logits.reshape(*labels.shape, -1)
    predictions = np.argmax(logits, axis=-1)
    return Evaluation([float(a) for a in (predictions == labels).mean(axis=1)], seconds, logits)

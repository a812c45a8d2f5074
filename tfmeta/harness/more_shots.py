"""The more-shots analysis of the in-context learners: accuracy when a test episode has more shots than
the training episodes had.

A metric method takes extra shots by construction (a prototype is a mean over however many there are);
a method that reads the labelled support set as a sequence (`FewShotMethod.in_context`) meets an input
longer than any it was trained on. When such a method is tested with more shots than its training
episodes had, the harness answers the same frozen test episodes again with each class's support cut to
its first training-shot examples (the queries unchanged), and records those accuracies beside the
record's own: `analysis.more_shots`, a paired comparison on the same episodes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tfmeta.data.episodes import FrozenEpisodes
from tfmeta.data.pipelines import frozen_dataset
from tfmeta.harness import evaluation
from tfmeta.harness.planning import Plan
from tfmeta.records import few_shot


def applies(the_plan: Plan, method) -> bool:
    """Whether a run records the analysis: an in-context method tested with more shots than training."""
    return bool(method.in_context) and the_plan.setting["shot"] > the_plan.train["shot"]


def analyse(the_plan: Plan, method, episodes, class_set, verbose=0) -> dict:
    """`{"more_shots": ...}` for a run the analysis `applies` to, on frozen test episodes; else `{}`.

    Args:
        episodes: the run's test episodes (`FrozenEpisodes`; Lake's runs, 1-shot only, are left out).
        class_set: the classes they are drawn from.
    """
    if not applies(the_plan, method) or not isinstance(episodes, FrozenEpisodes):
        return {}
    trained = the_plan.train["shot"]
    cut = cut_support(episodes, trained)
    evaluated = evaluation.evaluate(
        method, frozen_dataset(cut, class_set), cut.query_labels(), verbose, cut, class_set
    )
    return {
        "more_shots": {
            "trained_shot": trained,
            "test_shot": the_plan.setting["shot"],
            "accuracy_at_trained_shot": few_shot.summarize(evaluated.per_episode),
            "per_episode_at_trained_shot": evaluated.per_episode,
        }
    }


def cut_support(episodes: FrozenEpisodes, shot: int) -> FrozenEpisodes:
    """The same episodes with each class's support cut to its first `shot` examples; the same classes,
    queries and query order."""
    if not 1 <= shot <= episodes.key.shot:
        raise ValueError(f"cannot cut {episodes.key.shot}-shot episodes to {shot} shots")
    examples = np.concatenate(
        [episodes.examples[:, :, :shot], episodes.examples[:, :, episodes.key.shot :]], axis=2
    )
    key = dataclasses.replace(episodes.key, shot=shot)
    return FrozenEpisodes(key, episodes.class_fingerprint, episodes.classes, examples, episodes.orders)

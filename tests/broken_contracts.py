"""Methods and task families that break the contracts of `tfmeta.methods.base` and `tfmeta.tasks.base`
(test fixtures for the errors users get before any training starts)."""

from __future__ import annotations

from tfmeta.methods.base import FewShotMethod
from tfmeta.tasks.base import TaskFamily


class NoCall(FewShotMethod):
    """Forgets the required `call`."""


class TuneWithoutLabels(FewShotMethod):
    """Overrides `tune` with a signature the harness cannot call (it passes data and labels)."""

    def call(self, episode, training=False):
        return episode["query_images"]

    def tune(self, data):
        return {}


class PairFlagAsText(FewShotMethod):
    """Declares `scores_pairs` with a value that is not a bool."""

    scores_pairs = "yes"

    def call(self, episode, training=False):
        return episode["query_images"]


class NoLoss(TaskFamily):
    """A task family without its required `loss`."""

    def sample(self, count, seed, split, steps):
        raise NotImplementedError


class SampleWithExtraArgument(TaskFamily):
    """A task family whose `sample` needs an argument the track never passes."""

    def sample(self, count, seed, split, steps, device):
        raise NotImplementedError

    def loss(self, params, data, step):
        raise NotImplementedError

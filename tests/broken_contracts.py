"""Methods and task families that break the contracts of `tfmeta.methods.base` and `tfmeta.tasks.base`
(test fixtures for the errors users get before any training starts)."""

from __future__ import annotations

from keras import ops

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


class TransposedLogits(FewShotMethod):
    """Returns its logits turned round, `[way, way * query]`: the mistake Keras would otherwise report as
    a target/output shape mismatch deep inside `fit`."""

    def call(self, episode, training=False):
        support, query, way, shot = self.split_episode(episode)
        prototypes = ops.mean(ops.reshape(support, (way, shot, -1)), axis=1)
        return ops.matmul(prototypes, ops.transpose(ops.reshape(query, (query.shape[0], -1))))


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

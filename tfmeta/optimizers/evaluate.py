"""Running any Keras optimizer on a batch of problems of a task family, and tuning its learning rate.

Problems are batched along a leading axis (see `tfmeta.tasks.base`); every optimizer of the track is
coordinatewise, so each problem is optimized exactly as it would be alone.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfmeta.optimizers import grid as grid_search
from tfmeta.tasks.base import Problems, TaskFamily


class Runner:
    """One optimizer on problems of one family; `run` restarts it from scratch on new problems."""

    def __init__(self, family: TaskFamily, optimizer: keras.optimizers.Optimizer, template: Problems):
        self.family, self.optimizer = family, optimizer
        self.params = [keras.Variable(p, name=f"param{i}") for i, p in enumerate(template.params)]
        self.data = {k: tf.Variable(v, trainable=False, name=k) for k, v in template.data.items()}
        optimizer.build(self.params)
        self.initial = [v.numpy() for v in optimizer.variables]
        self._step = tf.function(self._step_eager, autograph=False)

    def _step_eager(self, step):
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(self.family.loss(self.params, self.data, step))
        grads = tape.gradient(total, self.params)
        self.optimizer.apply_gradients(zip(grads, self.params, strict=True))
        return self.family.eval_loss(self.params, self.data)

    def run(self, problems: Problems, steps: int, learning_rate: float | None = None) -> np.ndarray:
        """Optimizes `problems` for `steps` steps; eval losses `[B, steps + 1]` (step 0 = initial)."""
        for variable, value in zip(self.optimizer.variables, self.initial, strict=True):
            variable.assign(value)
        if learning_rate is not None:
            self.optimizer.learning_rate = learning_rate
        for variable, value in zip(self.params, problems.params, strict=True):
            variable.assign(value)
        for key, value in problems.data.items():
            self.data[key].assign(value)
        losses = [self.family.eval_loss(self.params, self.data).numpy()]
        for step in range(steps):
            losses.append(self._step(tf.constant(step)).numpy())
        return np.stack(losses, axis=1)


def tune(runner: Runner, problems: Problems, steps: int, grid: list[float]) -> dict:
    """Learning rate with the lowest mean final loss on `problems` (non-finite: diverged), searched from
    `grid` outwards and inwards until the winner is interior (`tfmeta.optimizers.grid.search`).

    Returns:
        {"grid" (every rate tried), "scores" (mean final loss per rate, None where non-finite), "winner",
         "interior"}.
    """

    def mean_final_loss(rate: float) -> float | None:
        final = runner.run(problems, steps, rate)[:, -1]
        return float(np.mean(final)) if np.all(np.isfinite(final)) else None

    return grid_search.search(mean_final_loss, grid)

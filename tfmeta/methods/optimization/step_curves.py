"""Query accuracy and loss of a gradient-based learner after each inner step 0..S of an episode.

A step curve follows one trajectory of parameters (the learner's own `adapt`, or a standard optimizer's
functional rule, `tfmeta.optimizers.functional`) from one start (the learner's `initial_params`, or
another learner's). The inner-loop analysis (`tfmeta.harness.inner_curves`) draws these curves; the
learning-rate search (`search_rate`) keeps the rate with the best accuracy at the last step, on
validation episodes.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import tensorflow as tf

from tfmeta.optimizers import functional, grid

# Where the search for a standard optimizer's rate starts, on validation episodes (half decades).
LEARNING_RATE_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


def rule_trajectory(learner, name: str):
    """A trajectory function `(params, images, labels, steps, learning_rate)` of standard optimizer `name`
    on `learner`."""

    def trajectory(params, images, labels, steps, learning_rate):
        return learner.rule_trajectory(functional.get(name, learning_rate), params, images, labels, steps)

    return trajectory


def inner_curve(learner, episode, query_labels, *arguments, trajectory, steps: int, start=None):
    """Query accuracies and losses `[steps + 1]` of one episode after 0..steps updates of `trajectory`
    (called with the extra `arguments`) from `start(way)` (the learner's `initial_params` by default)."""
    images, labels, query, way = learner.flat_support(episode)
    params = (start or learner.initial_params)(way)
    trajectory = trajectory(params, images, labels, steps, *arguments)
    logits = tf.stack(learner.query_logits(trajectory, query, images))  # [S + 1, queries, way]
    query_labels = tf.cast(query_labels, tf.int32)
    hits = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), query_labels[None])
    per_step_labels = tf.broadcast_to(query_labels[None], tf.shape(hits))
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=per_step_labels, logits=logits)
    return tf.reduce_mean(tf.cast(hits, tf.float32), -1), tf.reduce_mean(losses, -1)


def curve_function(learner, trajectory, steps: int, start=None):
    """`inner_curve` along `trajectory` from `start`, as one traced function of (episode, labels,
    *arguments)."""
    return tf.function(
        functools.partial(inner_curve, learner, trajectory=trajectory, steps=steps, start=start)
    )


def run_curves(curve, data, labels, *arguments, episodes: int | None = None):
    """Per-episode query accuracies and losses `[episodes, steps + 1]` of a `curve_function`; the
    `arguments` (a learning rate) are passed to its trajectory as float32 tensors."""
    arguments = [tf.constant(a, tf.float32) for a in arguments]
    accuracy, loss = [], []
    for index, (episode, _) in enumerate(data.take(episodes or -1)):
        episode_accuracy, episode_loss = curve(episode, tf.constant(labels[index], tf.int32), *arguments)
        accuracy.append(episode_accuracy.numpy())
        loss.append(episode_loss.numpy())
    return np.array(accuracy), np.array(loss)


def search_rate(learner, name: str, data, labels, start=None, which: str = "own") -> dict:
    """The learning rate of standard optimizer `name` with the best mean query accuracy after the
    learner's `test_inner_steps` steps from `start(way)` (its own by default), on the episodes `data`
    (validation episodes of the test setting), searched from `LEARNING_RATE_GRID` outwards and inwards
    until the winner is interior (`tfmeta.optimizers.grid.search`); a progress line names the start
    (`which`).

    Returns:
        {"grid": [...], "accuracy": [...], "learning_rate": chosen, "interior": bool}
    """
    began = time.monotonic()
    curve = curve_function(learner, rule_trajectory(learner, name), learner.test_inner_steps, start)

    def negative_accuracy(rate):
        return -float(run_curves(curve, data, labels, rate)[0][:, -1].mean())

    found = grid.search(negative_accuracy, LEARNING_RATE_GRID)
    entry = {
        "grid": found["grid"],
        "accuracy": [-score for score in found["scores"]],
        "learning_rate": found["winner"],
        "interior": found["interior"],
    }
    print(
        f"  {name} from the {which} start: learning rate {entry['learning_rate']:g}, "
        f"{entry['accuracy'][entry['grid'].index(entry['learning_rate'])]:.1%} on validation, "
        f"{len(entry['grid'])} rates tried"
        f"{'' if entry['interior'] else ' (winner not interior: search limit reached)'}, "
        f"{time.monotonic() - began:.0f} s",
        flush=True,
    )
    return entry

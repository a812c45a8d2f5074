"""Shared machinery of the optimization-based meta-learners (MAML, Reptile, the meta-learner LSTM).

The learner is a Conv-4 classifier (`tfmeta.backbones.conv4` plus a linear head with one output per class)
held as a Keras model, and run functionally: `forward(params, images)` evaluates it at any list of
parameter tensors with `keras.Model.stateless_call`, so an inner loop of updates is an ordinary,
differentiable TensorFlow computation (second order inside `tf.function`).

Batch norm: the policy is `"transductive"` (the only one implemented), as in the MAML reference code:
every forward pass normalises with the statistics of the batch it is given (the support set during
adaptation, the episode's queries when classifying them); no running averages exist. It is in every
method's config and therefore in every record. The layer is `EpisodeBatchNormalization`, not Keras's
`BatchNormalization`: on the TensorFlow backend the latter computes the variance with `tf.nn.moments`,
which stops the gradient through the mean; harmless to first order, but it makes second-order MAML's
meta-gradient wrong (the finite-difference test in `tests/test_maml.py` catches it).

Shapes: support images `[way, shot, H, W, C]` (the first index is the label), query images
`[way * query, H, W, C]`, logits `[n, way]`.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf

from tfmeta.backbones import BACKBONES
from tfmeta.methods.base import FewShotMethod
from tfmeta.optimizers import functional

BATCH_NORM_POLICIES = ("transductive",)
HEADS = ("learned", "zero")
# Learning rates tried when a standard optimizer's rate is tuned on validation episodes (half decades).
LEARNING_RATE_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


def cross_entropy(logits, labels) -> tf.Tensor:
    """Mean sparse softmax cross-entropy."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def support_labels(way: int, shot: int) -> tf.Tensor:
    """The labels of the flattened support set `[way * shot]`: 0 x shot, 1 x shot, ..."""
    return tf.repeat(tf.range(way), shot)


@keras.saving.register_keras_serializable(package="tfmeta")
class EpisodeBatchNormalization(keras.layers.Layer):
    """Batch normalisation with the statistics of the current batch only, differentiable to any order.

    Args:
        epsilon: added to the variance. Defaults to 1e-3 (Keras's default).
    """

    def __init__(self, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="beta")

    def call(self, inputs):
        axes = list(range(len(inputs.shape) - 1))
        mean = tf.reduce_mean(inputs, axes)
        variance = tf.reduce_mean(tf.square(inputs - mean), axes)
        return self.gamma * (inputs - mean) * tf.math.rsqrt(variance + self.epsilon) + self.beta

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


class GradientBasedMethod(FewShotMethod):
    """Base class: a Conv-4 learner adapted to each episode by an inner loop on its support set.

    Subclasses implement `adapt(params, images, labels, steps)`, returning the parameters after each of
    the `steps` updates (`steps + 1` lists, the first being `params`).

    Args:
        backbone: name in `tfmeta.backbones.BACKBONES`. Defaults to "conv4".
        filters: channels of the backbone's convolutions. Defaults to 64.
        way: classes per episode, the width of a learned head. Defaults to 5.
        head: "learned" (the papers: a dense head of `way` outputs whose initialisation is meta-learned;
            episodes must be `way`-way) or "zero" (a head of zeros created per episode and adapted with the
            rest, so one trained model serves any way, as in Triantafillou et al. 2020). Defaults to
            "learned".
        inner_steps: inner updates per episode during meta-training. Defaults to 1.
        test_inner_steps: inner updates per episode at test time. Defaults to 3.
        batch_norm: the batch-norm policy; only "transductive" (see the module docstring). Defaults to
            "transductive".
        curve_steps: the inner-step curves of `analyse` run to this many steps (beyond the trained
            horizon); 0 for twice `test_inner_steps`. Defaults to 0.
        curve_episodes: test episodes used by those curves. Defaults to 100.
        curve_baselines: standard optimizers run by `analyse` from the same meta-learned initialisation,
            name to learning rate (names of `tfmeta.optimizers.functional`, e.g. {"sgd": 0.4, "adam":
            0.01}); a rate of None, or a list of names, means "tuned on validation episodes" over
            `LEARNING_RATE_GRID` (see `tune`). Defaults to None, none.
    """

    # Constructor arguments that change only `analyse`: a new analysis reuses a finished training.
    analysis_config = ("curve_steps", "curve_episodes", "curve_baselines")

    def __init__(
        self,
        backbone: str = "conv4",
        filters: int = 64,
        way: int = 5,
        inner_steps: int = 1,
        test_inner_steps: int = 3,
        batch_norm: str = "transductive",
        head: str = "learned",
        curve_steps: int = 0,
        curve_episodes: int = 100,
        curve_baselines: dict | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; valid backbones: {', '.join(BACKBONES)}")
        if batch_norm not in BATCH_NORM_POLICIES:
            raise ValueError(f"unknown batch_norm {batch_norm!r}; valid: {', '.join(BATCH_NORM_POLICIES)}")
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; valid: {', '.join(HEADS)}")
        self.backbone_name, self.filters, self.way, self.head = backbone, filters, way, head
        self.inner_steps, self.test_inner_steps = inner_steps, test_inner_steps
        self.batch_norm, self.curve_steps, self.curve_episodes = batch_norm, curve_steps, curve_episodes
        if isinstance(curve_baselines, list | tuple):
            curve_baselines = dict.fromkeys(curve_baselines)
        self.curve_baselines = dict(curve_baselines or {})
        self.tuned_rates: dict[str, float] = {}
        for name in self.curve_baselines:
            functional.get(name)  # an unknown name fails here, listing the valid ones
        layers = [BACKBONES[backbone](filters, normalization=EpisodeBatchNormalization)]
        if head == "learned":
            layers.append(keras.layers.Dense(way, name="head"))
        self.learner = keras.Sequential(layers, name="learner")

    # -- the functional learner ---------------------------------------------------------------------------

    def build(self, input_shape=None):
        if isinstance(input_shape, dict) and input_shape.get("support_images"):
            self.ensure_built(tuple(input_shape["support_images"])[2:])
        self.built = True

    def ensure_built(self, image_shape) -> None:
        if not self.learner.built:
            self.learner.build((None, *image_shape))

    def initial_params(self, way: int | None = None) -> list[tf.Tensor]:
        """The learner's trainable variables as tensors (reads recorded by an enclosing tape), followed by
        a zero head for `way` classes (`self.way` by default) when `head="zero"`."""
        params = [tf.convert_to_tensor(v.value) for v in self.learner.trainable_variables]
        if self.head == "zero":
            way = way or self.way
            features = self.learner.output_shape[-1]
            params += [tf.zeros([features, way], params[0].dtype), tf.zeros([way], params[0].dtype)]
        return params

    def forward(self, params: list[tf.Tensor], images) -> tf.Tensor:
        """Logits of the learner at `params`, batch norm with the statistics of `images`."""
        outputs = self.learner_outputs(params, images)
        if self.head == "zero":
            n = len(self.learner.trainable_variables)
            outputs = zero_head_logits(outputs, params[n:])
        return outputs

    def learner_outputs(self, params: list[tf.Tensor], images) -> tf.Tensor:
        """The Keras learner's outputs at `params` (features, with `head="zero"`)."""
        non_trainable = [v.value for v in self.learner.non_trainable_variables]
        n = len(self.learner.trainable_variables)
        outputs, _ = self.learner.stateless_call(params[:n], non_trainable, images, training=True)
        return outputs

    def loss_and_gradients(self, params, images, labels, second_order: bool):
        """The loss at `params` and its gradients, themselves differentiable when `second_order`."""
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss = cross_entropy(self.forward(params, images), labels)
        grads = tape.gradient(loss, params)
        if not second_order:
            grads = [tf.stop_gradient(g) for g in grads]
        return loss, grads

    def adapt(self, params, images, labels, steps: int, training: bool = False) -> list[list[tf.Tensor]]:
        raise NotImplementedError

    # -- the method contract ------------------------------------------------------------------------------

    def check_way(self, way: int) -> None:
        if self.head == "learned" and way != self.way:
            raise ValueError(
                f"{type(self).__name__} was built with way={self.way} (its head has {self.way} outputs) "
                f"but the episode is {way}-way; construct it with way={way}, or with head='zero' for any way"
            )

    def flat_support(self, episode):
        support, query, way, shot = self.split_episode(episode)
        self.check_way(way)
        self.ensure_built(support.shape[2:])
        return tf.reshape(support, (way * shot, *support.shape[2:])), support_labels(way, shot), query, way

    def call(self, episode, training=False):
        images, labels, query, way = self.flat_support(episode)
        steps = self.inner_steps if training else self.test_inner_steps
        adapted = self.adapt(self.initial_params(way), images, labels, steps, training=bool(training))[-1]
        return self.forward(adapted, query)

    @property
    def tunes(self) -> bool:
        """Whether `tune` has learning rates to choose (the harness then calls it before testing)."""
        return bool(self.untuned())

    def untuned(self) -> list[str]:
        """The standard optimizers whose learning rates `tune` chooses."""
        return sorted(name for name, rate in self.curve_baselines.items() if rate is None)

    def tune(self, data, labels) -> dict:
        """Chooses each untuned baseline optimizer's learning rate: the rate of `LEARNING_RATE_GRID` with
        the best mean query accuracy after `test_inner_steps` steps from the meta-learned initialisation,
        on validation episodes of the test setting (the harness never passes test classes).

        Returns:
            {"baselines": {name: {"grid": [...], "accuracy": [...], "learning_rate": chosen}}}.
        """
        report = {}
        for name in self.untuned():
            curve = self.curve_function(self.rule_curve(name), self.test_inner_steps)
            accuracies = [
                float(self.run_curves(curve, data, labels, rate)[0][:, -1].mean())
                for rate in LEARNING_RATE_GRID
            ]
            self.tuned_rates[name] = LEARNING_RATE_GRID[int(np.argmax(accuracies))]
            report[name] = {
                "grid": list(LEARNING_RATE_GRID),
                "accuracy": accuracies,
                "learning_rate": self.tuned_rates[name],
            }
        return {"baselines": report}

    def baseline_rate(self, name: str) -> float:
        """The learning rate of baseline `name`: given, tuned, or (untuned) the optimizer's default."""
        rate = self.curve_baselines.get(name)
        if rate is None:
            rate = self.tuned_rates.get(name, functional.DEFAULT_LEARNING_RATES[name])
        return float(rate)

    def rule_curve(self, name: str):
        """A trajectory function `(params, images, labels, steps, learning_rate)` of a standard optimizer."""

        def trajectory(params, images, labels, steps, learning_rate):
            return self.rule_trajectory(functional.get(name, learning_rate), params, images, labels, steps)

        return trajectory

    def curve_function(self, trajectory, steps: int):
        """`inner_curve` along `trajectory` as one traced function of (episode, labels, *arguments)."""
        return tf.function(functools.partial(self.inner_curve, trajectory=trajectory, steps=steps))

    def run_curves(self, curve, data, labels, *arguments, episodes: int | None = None):
        """Per-episode query accuracies and losses `[episodes, steps + 1]` of a `curve_function`; the
        `arguments` (a learning rate) are passed to its trajectory as float32 tensors."""
        arguments = [tf.constant(a, tf.float32) for a in arguments]
        accuracy, loss = [], []
        for index, (episode, _) in enumerate(data.take(episodes or -1)):
            episode_accuracy, episode_loss = curve(episode, tf.constant(labels[index], tf.int32), *arguments)
            accuracy.append(episode_accuracy.numpy())
            loss.append(episode_loss.numpy())
        return np.array(accuracy), np.array(loss)

    def analyse(self, test_data, labels) -> dict:
        """Query accuracy and loss after each inner step 0..S on the first test episodes: the learned
        update's behaviour within and beyond its trained horizon (`inner_curve`) and, for each optimizer
        in `curve_baselines`, the same from the same meta-learned initialisation (`baseline_curves`), with
        a paired comparison at the trained horizon (`paired_vs_baselines`, differences method - baseline)."""
        from tfmeta.bench.stats import paired_comparison

        steps = self.curve_steps or 2 * self.test_inner_steps
        runs = {
            "inner_curve": self.run_curves(
                self.curve_function(self.adapt, steps), test_data, labels, episodes=self.curve_episodes
            )
        }
        for name in sorted(self.curve_baselines):
            curve = self.curve_function(self.rule_curve(name), steps)
            runs[name] = self.run_curves(
                curve, test_data, labels, self.baseline_rate(name), episodes=self.curve_episodes
            )
        summaries = {name: curve_summary(*run, self.test_inner_steps) for name, run in runs.items()}
        analysis = {"inner_curve": summaries.pop("inner_curve")}
        if summaries:
            analysis["baseline_curves"] = {
                name: {
                    **summary,
                    "learning_rate": self.baseline_rate(name),
                    "tuned": self.curve_baselines[name] is None and name in self.tuned_rates,
                }
                for name, summary in summaries.items()
            }
            mine = analysis["inner_curve"]["accuracy_at_trained_steps"]
            analysis["paired_vs_baselines"] = {
                name: vars(paired_comparison(mine, summary["accuracy_at_trained_steps"]))
                for name, summary in summaries.items()
            }
        return analysis

    def rule_trajectory(self, rule, params, images, labels, steps, training=False):
        """Like `adapt`, with a standard optimizer's functional rule (`tfmeta.optimizers.functional`)."""
        state, trajectory = rule.init(params), [params]
        for _ in range(steps):
            _, grads = self.loss_and_gradients(params, images, labels, second_order=False)
            params, state = rule.update(params, grads, state)
            trajectory.append(params)
        return trajectory

    def inner_curve(self, episode, query_labels, *arguments, trajectory=None, steps=None):
        """Query accuracies and losses `[S + 1]` of one episode after 0..S inner steps of `trajectory`
        (`adapt` by default, called with the extra `arguments`); S is `steps`, by default `curve_steps`
        or twice `test_inner_steps`."""
        steps = steps or self.curve_steps or 2 * self.test_inner_steps
        images, labels, query, way = self.flat_support(episode)
        trajectory = (trajectory or self.adapt)(self.initial_params(way), images, labels, steps, *arguments)
        logits = tf.stack(self.query_logits(trajectory, query))  # [S + 1, queries, way]
        query_labels = tf.cast(query_labels, tf.int32)
        hits = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), query_labels[None])
        per_step_labels = tf.broadcast_to(query_labels[None], tf.shape(hits))
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=per_step_labels, logits=logits)
        return tf.reduce_mean(tf.cast(hits, tf.float32), -1), tf.reduce_mean(losses, -1)

    def record_metrics(self, loss, labels, logits) -> dict:
        """Updates the compiled metrics from a custom `train_step` and returns their results."""
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(labels, logits)
        return self.get_metrics_result()

    def query_logits(self, trajectory, query) -> list[tf.Tensor]:
        """The query logits at each parameter list of `trajectory`."""
        return [self.forward(params, query) for params in trajectory]

    def get_config(self):
        return {
            **super().get_config(),
            "backbone": self.backbone_name,
            "filters": self.filters,
            "way": self.way,
            "inner_steps": self.inner_steps,
            "test_inner_steps": self.test_inner_steps,
            "batch_norm": self.batch_norm,
            "head": self.head,
            "curve_steps": self.curve_steps,
            "curve_episodes": self.curve_episodes,
            "curve_baselines": dict(self.curve_baselines),
        }


def zero_head_logits(features, head: list[tf.Tensor]) -> tf.Tensor:
    """Logits of a per-episode linear head `[kernel, bias]`."""
    return tf.matmul(features, head[0]) + head[1]


def curve_summary(accuracy: np.ndarray, loss: np.ndarray, trained_steps: int) -> dict:
    """Mean and 95% CI per inner step of per-episode curves `[episodes, steps + 1]`."""
    n = accuracy.shape[0]

    def ci(values):
        return [float(x) for x in 1.96 * values.std(axis=0) / np.sqrt(max(n, 1))]

    return {
        "steps": list(range(accuracy.shape[1])),
        "trained_steps": int(trained_steps),
        "episodes": int(n),
        "accuracy_mean": [float(x) for x in accuracy.mean(axis=0)],
        "accuracy_ci95": ci(accuracy),
        "loss_mean": [float(x) for x in loss.mean(axis=0)],
        "loss_ci95": ci(loss),
        # Per-episode accuracies at the trained horizon, for paired tests between curves of one record.
        "accuracy_at_trained_steps": [
            float(x) for x in accuracy[:, min(trained_steps, accuracy.shape[1] - 1)]
        ],
    }

"""The functional learner shared by the optimization-based meta-learners (MAML, Reptile, the meta-learner
LSTM, fine-tuning).

The learner is a Conv-4 classifier (`tfmeta.backbones.conv4` plus a linear head with one output per class)
held as a Keras model, and run functionally: `forward(params, images)` evaluates it at any list of
parameter tensors with `keras.Model.stateless_call`, so an inner loop of updates is an ordinary,
differentiable TensorFlow computation (second order inside `tf.function`).

Batch norm: no running averages exist; every forward pass normalises with statistics of the episode.
The policy, in every method's config and therefore in every record, says which:
- `"transductive"`, as in the MAML reference code: the statistics of the batch given (the support set
  during adaptation, all the episode's queries together when classifying them), so a query's prediction
  depends on the other queries.
- `"inductive"`: the support set's statistics for the queries too (support and queries pass together,
  normalised by the support rows alone: `tfmeta.backbones.statistics_from_first`), so each query is
  classified from the support set alone and the method ranks with the inductive methods.

The layer is `EpisodeBatchNormalization`, not Keras's
`BatchNormalization`: on the TensorFlow backend the latter computes the variance with `tf.nn.moments`,
which stops the gradient through the mean; harmless to first order, but it makes second-order MAML's
meta-gradient wrong (the finite-difference test in `tests/test_maml.py` catches it). It lives in
`tfmeta.backbones`.

The learner's per-step query accuracy and loss are `tfmeta.methods.optimization.step_curves`; the
inner-loop analysis that draws them against standard optimizers from the learned start is the harness's
(`tfmeta.harness.inner_curves`), which receives the trained learner.

Shapes: support images `[way, shot, H, W, C]` (the first index is the label), query images
`[way * query, H, W, C]`, logits `[n, way]`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfmeta.backbones import BACKBONES, EpisodeBatchNormalization, statistics_from_first
from tfmeta.methods.base import FewShotMethod
from tfmeta.methods.losses import cross_entropy

BATCH_NORM_POLICIES = ("transductive", "inductive")
HEADS = ("learned", "zero")


def support_labels(way: int, shot: int) -> tf.Tensor:
    """The labels of the flattened support set `[way * shot]`: 0 x shot, 1 x shot, ..."""
    return tf.repeat(tf.range(way), shot)


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
        batch_norm: the batch-norm policy, "transductive" or "inductive" (see the module docstring).
            Defaults to "transductive".
        meta_batch: tasks (episodes) per meta-update: their meta-losses are averaged, so the meta-gradient
            is the mean of the per-task meta-gradients; each task is adapted on its own (its own batch
            statistics), at the cost of one task each. The training stream arrives in batches of this
            many episodes (the harness batches it). Defaults to 1.

    The inner-loop analysis's own arguments (`curve_steps`, `curve_episodes`, `curve_baselines`,
    `curve_start`) sit in the same method config, but the harness reads them (`tfmeta.harness.inner_curves`).
    """

    # The standard optimizers the inner-loop analysis draws beside this learner when its config names none.
    default_curve_baselines: tuple[str, ...] = ()
    # Inner loops under vectorized_map change the float round-off of the adapted weights; one episode
    # per step keeps every episode's logits as computed alone.
    episodes_per_step = 1

    def __init__(
        self,
        backbone: str = "conv4",
        filters: int = 64,
        way: int = 5,
        inner_steps: int = 1,
        test_inner_steps: int = 3,
        batch_norm: str = "transductive",
        head: str = "learned",
        meta_batch: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(meta_batch, int) or meta_batch < 1:
            raise ValueError(
                f"meta_batch must be a positive number of tasks per meta-update, got {meta_batch!r}"
            )
        self.meta_batch = meta_batch
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; valid backbones: {', '.join(BACKBONES)}")
        if batch_norm not in BATCH_NORM_POLICIES:
            raise ValueError(f"unknown batch_norm {batch_norm!r}; valid: {', '.join(BATCH_NORM_POLICIES)}")
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; valid: {', '.join(HEADS)}")
        self.backbone_name, self.filters, self.way, self.head = backbone, filters, way, head
        self.inner_steps, self.test_inner_steps = inner_steps, test_inner_steps
        self.batch_norm = batch_norm
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

    def query_forward(self, params: list[tf.Tensor], support, query) -> tf.Tensor:
        """Query logits at `params` under the batch-norm policy (`on_queries`)."""
        return self.on_queries(lambda images: self.forward(params, images), support, query)

    def on_queries(self, function, support, query) -> tf.Tensor:
        """`function(images)` for the queries under the batch-norm policy: on the queries alone, with
        their own statistics (transductive), or on support and queries together, normalised by the
        support rows and cut to the query rows (inductive)."""
        if self.batch_norm == "transductive":
            return function(query)
        rows = support.shape[0]
        with statistics_from_first(self.learner, rows):
            return function(tf.concat([support, query], axis=0))[rows:]

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
        return self.query_forward(adapted, images, query)

    def train_step(self, data):
        if self.meta_batch == 1:
            return super().train_step(data)  # Keras's own: the tape covers `call`, inner loop included
        loss, grads, labels, logits = self.meta_gradients(*keras.utils.unpack_x_y_sample_weight(data)[:2])
        self.optimizer.apply(grads, self.trainable_variables)
        return self.record_metrics(loss, labels, logits)

    def meta_gradients(self, episodes: dict, query_labels):
        """The mean query loss of a meta-batch of tasks (every tensor with a leading task axis) after each
        task's own adaptation, its gradient with respect to the meta-parameters, and the tasks' labels and
        logits concatenated. The tasks run one after another in one graph: a task costs what it costs
        alone, and each keeps its own batch statistics."""
        tasks = query_labels.shape[0]
        with tf.GradientTape() as tape:
            logits = [self({k: v[t] for k, v in episodes.items()}, training=True) for t in range(tasks)]
            losses = [self.compute_loss(y=query_labels[t], y_pred=logits[t]) for t in range(tasks)]
            loss = tf.add_n(losses) / tasks
        grads = tape.gradient(loss, self.trainable_variables)
        labels = tf.reshape(query_labels, [-1])
        return loss, grads, labels, tf.concat(logits, axis=0)

    def rule_trajectory(self, rule, params, images, labels, steps, training=False):
        """Like `adapt`, with a standard optimizer's functional rule (`tfmeta.optimizers.functional`)."""
        state, trajectory = rule.init(params), [params]
        for _ in range(steps):
            _, grads = self.loss_and_gradients(params, images, labels, second_order=False)
            params, state = rule.update(params, grads, state)
            trajectory.append(params)
        return trajectory

    def record_metrics(self, loss, labels, logits) -> dict:
        """Updates the compiled metrics from a custom `train_step` and returns their results."""
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(labels, logits)
        return self.get_metrics_result()

    def query_logits(self, trajectory, query, support) -> list[tf.Tensor]:
        """The query logits at each parameter list of `trajectory` (adapted on `support`)."""
        return [self.query_forward(params, support, query) for params in trajectory]

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
            "meta_batch": self.meta_batch,
        }


def zero_head_logits(features, head: list[tf.Tensor]) -> tf.Tensor:
    """Logits of a per-episode linear head `[kernel, bias]`."""
    return tf.matmul(features, head[0]) + head[1]

"""Fine-tuning with a standard optimizer: the baseline of the optimization-based learners."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfmeta.methods.losses import cross_entropy
from tfmeta.methods.optimization import step_curves
from tfmeta.methods.optimization.learner import GradientBasedMethod, zero_head_logits
from tfmeta.optimizers import functional


@keras.saving.register_keras_serializable(package="tfmeta")
class FineTuning(GradientBasedMethod):
    """Pre-training and fine-tuning (the "Baseline" of Chen et al. 2019, "A Closer Look at Few-shot
    Classification", https://arxiv.org/abs/1904.04232).

    Pre-training: Conv-4 with a linear classifier over all `classes` meta-training classes, trained with
    ordinary cross-entropy. Its mini-batches are the images of the harness's training episodes, labelled
    with their classes' indices in the training set (`episode["classes"]`), so a batch is class-balanced.
    Per test episode: a new linear head, initialised at zero, is fit on the support set by `optimizer`
    for `test_inner_steps` full-batch steps; `whole=True` also fine-tunes the backbone (Chen et al.'s
    second variant), otherwise the support and query features are computed once. No meta-learning:
    this is the standard optimizers' answer to the meta-learners, from a start learned without episodes.

    Batch norm is transductive, as for the other optimization-based learners (see
    `tfmeta.methods.optimization.learner`), so all of them see the same normalisation.

    Args:
        classes: the number of meta-training classes (the pre-training classifier's width); the benchmark
            specs set it. Defaults to None, which fails with a pointer to the spec.
        optimizer: the fine-tuning rule, a name of `tfmeta.optimizers.functional`. Defaults to "adam".
        learning_rate: its step size; None tunes it on validation episodes of the test setting (see
            `tune`; before tuning, during pre-training, the optimizer's Keras default). Defaults to None.
        whole: fine-tune the backbone too, not only the head. Defaults to False.
        test_inner_steps: fine-tuning steps per episode. Defaults to 100 (Chen et al.: 100 iterations).
        **kwargs: further `GradientBasedMethod` arguments (backbone, filters, batch_norm).

    The inner-loop analysis draws all six standard optimizers from the same pre-trained start, each
    tuned, unless the config's `curve_baselines` says otherwise (`tfmeta.harness.inner_curves`).
    """

    paper = "Chen et al. 2019, A Closer Look at Few-shot Classification, https://arxiv.org/abs/1904.04232"
    uses_class_ids = True  # the harness adds episode["classes"] to the training stream
    # Fine-tuning is the standard optimizers' answer to the meta-learners: the analysis draws them all.
    default_curve_baselines = tuple(functional.DEFAULT_LEARNING_RATES)

    def __init__(
        self,
        classes: int | None = None,
        optimizer: str = "adam",
        learning_rate: float | None = None,
        whole: bool = False,
        test_inner_steps: int = 100,
        **kwargs,
    ):
        kwargs.pop("head", None)
        if kwargs.get("meta_batch", 1) != 1:
            raise ValueError(
                "FineTuning pre-trains an ordinary classifier, one batch of images per step: meta_batch does "
                f"not apply (got {kwargs['meta_batch']!r}); leave it at 1"
            )
        super().__init__(head="zero", test_inner_steps=test_inner_steps, **kwargs)
        functional.get(optimizer)  # an unknown name fails here, listing the valid ones
        self.classes, self.optimizer_name = classes, optimizer
        self.learning_rate, self.whole = learning_rate, whole
        self.tuned_learning_rate: float | None = None  # set by `tune`
        self.classifier = keras.layers.Dense(classes or 1, name="pretraining_classifier")

    def ensure_built(self, image_shape) -> None:
        if self.classes is None:
            raise ValueError(
                "FineTuning needs classes=<number of meta-training classes> for its pre-training classifier; "
                "set it under method_config: finetune: in the benchmark spec, or pass --config classes=N"
            )
        super().ensure_built(image_shape)
        if not self.classifier.built:
            self.classifier.build(self.learner.output_shape)

    # -- pre-training ---------------------------------------------------------------------------------

    def train_step(self, data):
        episode, query_labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if "classes" not in episode:
            raise ValueError(
                "FineTuning pre-trains on class indices: the training episodes need episode['classes'] "
                "(tfmeta.data.pipelines.training_dataset(..., with_classes=True))"
            )
        support, labels, query, _ = self.flat_support(episode)
        images = tf.concat([support, query], axis=0)
        classes = tf.gather(episode["classes"], tf.concat([labels, query_labels], axis=0))
        variables = self.learner.trainable_variables + self.classifier.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.classifier(self.learner(images, training=True))
            loss = cross_entropy(logits, classes)
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        return self.record_metrics(loss, classes, logits)

    # -- fine-tuning ----------------------------------------------------------------------------------

    @property
    def tunes(self) -> bool:
        return self.learning_rate is None

    def tune(self, data, labels, *, predictions_only: bool = False) -> dict:
        """Chooses the fine-tuning learning rate: the rate with the best mean query accuracy after
        `test_inner_steps` steps from the pre-trained start, on validation episodes of the test setting
        (`step_curves.search_rate`).

        Returns:
            {"baselines": {optimizer: {"grid": [...], "accuracy": [...], "learning_rate": chosen,
             "interior": bool}}}: the search is the one the analysis's baseline of that name would run.
        """
        if self.learning_rate is not None:
            return {}
        entry = step_curves.search_rate(self, self.optimizer_name, data, labels)
        self.tuned_learning_rate = entry["learning_rate"]
        return {"baselines": {self.optimizer_name: entry}}

    def fine_tuning_rate(self) -> float:
        """The step size of `optimizer`: given, tuned, or (before tuning) the optimizer's default."""
        if self.learning_rate is not None:
            return float(self.learning_rate)
        if self.tuned_learning_rate is not None:
            return float(self.tuned_learning_rate)
        return float(functional.DEFAULT_LEARNING_RATES[self.optimizer_name])

    def adapt(self, params, images, labels, steps, training=False):
        rule = functional.get(self.optimizer_name, self.fine_tuning_rate())
        return self.rule_trajectory(rule, params, images, labels, steps)

    def rule_trajectory(self, rule, params, images, labels, steps, training=False):
        if self.whole:
            return super().rule_trajectory(rule, params, images, labels, steps)
        n = len(self.learner.trainable_variables)
        body, head = params[:n], params[n:]
        features = tf.stop_gradient(self.learner_outputs(body, images))

        def step(carry, _):
            head, state = carry
            with tf.GradientTape() as tape:
                tape.watch(head)
                loss = cross_entropy(zero_head_logits(features, head), labels)
            return rule.update(head, tape.gradient(loss, head), state)

        # tf.scan keeps the traced graph one step long, however many steps (Chen et al. take 100).
        heads, _ = tf.scan(step, tf.range(steps), initializer=(head, rule.init(head)))
        kernels, biases = (tf.concat([h[None], hs], 0) for h, hs in zip(head, heads, strict=True))
        return [body + [kernels[i], biases[i]] for i in range(steps + 1)]

    def query_logits(self, trajectory, query, support):
        if self.whole:
            return super().query_logits(trajectory, query, support)
        n = len(self.learner.trainable_variables)
        body = trajectory[0][:n]  # the backbone is not fine-tuned
        features = self.on_queries(lambda images: self.learner_outputs(body, images), support, query)
        kernels = tf.stack([params[n] for params in trajectory])
        biases = tf.stack([params[n + 1] for params in trajectory])
        return tf.unstack(tf.einsum("qd,sdw->sqw", features, kernels) + biases[:, None, :])

    def analyse(self, test_data, labels) -> dict:
        return {"fine_tuning": {"optimizer": self.optimizer_name, "learning_rate": self.fine_tuning_rate()}}

    def get_config(self):
        config = super().get_config()
        config.pop("head")
        return {
            **config,
            "classes": self.classes,
            "optimizer": self.optimizer_name,
            "learning_rate": self.learning_rate,
            "whole": self.whole,
        }

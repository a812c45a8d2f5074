"""Reptile."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfmeta.methods.optimization.learner import GradientBasedMethod


@keras.saving.register_keras_serializable(package="tfmeta")
class Reptile(GradientBasedMethod):
    """Reptile (Nichol, Achiam & Schulman 2018, "On First-Order Meta-Learning Algorithms",
    https://arxiv.org/abs/1803.02999).

    Per training episode, `inner_steps` steps of plain gradient descent (rate `inner_learning_rate`) on the
    episode's labelled images (support and query together) take the initialisation theta to theta';
    the difference theta - theta' is handed to the compiled optimizer as the gradient, as section 3 of the
    paper allows ("we can use any optimizer, treating theta - theta' as a gradient"); with SGD at rate
    epsilon this is the paper's update theta <- theta + epsilon (theta' - theta). No second derivatives are
    ever computed. At test time the learner takes `test_inner_steps` steps on the support set only.
    Each training inner step takes all the episode's images or, with `inner_batch`, the next `inner_batch`
    of a random permutation of them (the paper: mini-batches of 10 from 10 shots per class), which makes a
    training episode several times cheaper. Differences from the paper, recorded in the config: the
    paper's inner optimizer was Adam with beta1 = 0, here gradient descent; `meta_batch` tasks per
    meta-update (the paper: 5), their differences averaged; batch norm transductive by default (the
    paper's transductive setting; `batch_norm="inductive"` for the other, see
    `tfmeta.methods.optimization.learner`). The training metrics are those of the query images after
    adapting on the episode (a fit, not a test); validation adapts on the support set only.

    Args:
        inner_learning_rate: the inner step size. Defaults to 0.1.
        inner_steps: inner steps per training episode (5 in the paper on Omniglot). Defaults to 5.
        test_inner_steps: inner steps at test time (the paper took 50). Defaults to 10.
        inner_batch: images per training inner step, or None for all of the episode's. Defaults to None.
        **kwargs: further `GradientBasedMethod` arguments (backbone, filters, way, head, batch_norm,
            meta_batch). Defaults to those of `GradientBasedMethod`.
    """

    paper = "Nichol et al. 2018, On First-Order Meta-Learning Algorithms, https://arxiv.org/abs/1803.02999"

    def __init__(
        self,
        inner_learning_rate: float = 0.1,
        inner_steps: int = 5,
        test_inner_steps: int = 10,
        inner_batch: int | None = None,
        **kwargs,
    ):
        super().__init__(inner_steps=inner_steps, test_inner_steps=test_inner_steps, **kwargs)
        if inner_batch is not None and inner_batch < 1:
            raise ValueError(f"inner_batch must be a positive number of images or None, got {inner_batch}")
        self.inner_learning_rate = inner_learning_rate
        self.inner_batch = inner_batch

    def adapt(self, params, images, labels, steps, training=False, batches=None):
        """The trajectory of `steps` gradient steps; step i uses `batches[i]` (image indices), if given."""
        trajectory = [params]
        for step in range(steps):
            step_images, step_labels = images, labels
            if batches is not None:
                step_images, step_labels = tf.gather(images, batches[step]), tf.gather(labels, batches[step])
            _, grads = self.loss_and_gradients(params, step_images, step_labels, second_order=False)
            params = [p - self.inner_learning_rate * g for p, g in zip(params, grads, strict=True)]
            trajectory.append(params)
        return trajectory

    def inner_batches(self, n: int, task: int = 0):
        """Image indices [inner_steps, inner_batch]: consecutive slices of a permutation of range(n), new
        each meta-update and task (seeded by the optimizer's step and the task's place in the meta-batch,
        so a resumed run draws the same batches), wrapping round to its start when the steps take more
        than n images."""
        seed = tf.stack([tf.cast(self.optimizer.iterations, tf.int32), tf.constant(1803 + task, tf.int32)])
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=seed)
        positions = tf.range(self.inner_steps * self.inner_batch) % n
        return tf.reshape(tf.gather(order, positions), (self.inner_steps, self.inner_batch))

    def train_step(self, data):
        episodes, query_labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.meta_batch == 1:  # a stream of single episodes: a meta-batch of one
            episodes = {k: v[None] for k, v in episodes.items()}
            query_labels = query_labels[None]
        variables = self.learner.trainable_variables  # a zero head, when used, is not among them
        differences, logits = [], []
        for task in range(query_labels.shape[0]):
            difference, task_logits = self.task_difference(
                {k: v[task] for k, v in episodes.items()}, query_labels[task], task
            )
            differences.append(difference)
            logits.append(task_logits)
        # The batched update of section 3: theta <- theta + epsilon * mean_i (theta'_i - theta).
        mean = [tf.add_n(list(d)) / len(differences) for d in zip(*differences, strict=True)]
        self.optimizer.apply(mean, variables)
        labels, logits = tf.reshape(query_labels, [-1]), tf.concat(logits, axis=0)
        loss = self.compute_loss(y=labels, y_pred=logits)
        return self.record_metrics(loss, labels, logits)

    def task_difference(self, episode, query_labels, task: int = 0):
        """theta - theta' for one task (support and query images together) and the adapted query logits."""
        support, labels, query, way = self.flat_support(episode)
        images = tf.concat([support, query], axis=0)
        params = self.initial_params(way)
        batches = None if self.inner_batch is None else self.inner_batches(images.shape[0], task)
        labels = tf.concat([labels, query_labels], 0)
        adapted = self.adapt(params, images, labels, self.inner_steps, batches=batches)[-1]
        n = len(self.learner.trainable_variables)
        difference = [p - a for p, a in zip(params[:n], adapted[:n], strict=True)]
        return difference, self.query_forward(adapted, support, query)

    def get_config(self):
        return {
            **super().get_config(),
            "inner_learning_rate": self.inner_learning_rate,
            "inner_batch": self.inner_batch,
        }

"""Model-Agnostic Meta-Learning, second- and first-order."""

from __future__ import annotations

import keras

from tfmeta.methods.optimization.learner import GradientBasedMethod


@keras.saving.register_keras_serializable(package="tfmeta")
class MAML(GradientBasedMethod):
    """Model-Agnostic Meta-Learning (Finn, Abbeel & Levine 2017, https://arxiv.org/abs/1703.03400).

    Meta-learns the initialisation of a Conv-4 classifier: per episode, `inner_steps` steps of plain
    gradient descent with rate `inner_learning_rate` on the support loss, then the query loss of the
    adapted learner is the meta-loss, differentiated back to the initialisation through the inner loop
    (the default Keras `train_step` does this, since `call` runs the inner loop under its own tape). With
    `second_order=False` the inner gradients are treated as constants, which drops the Hessian terms
    (first-order MAML, section 5.2 of the paper). One episode per meta-update (the paper averaged 32 on
    Omniglot). Batch norm: see `tfmeta.methods.optimization.learner`.

    Args:
        inner_learning_rate: the inner step size alpha (0.4 in the paper on Omniglot). Defaults to 0.4.
        second_order: differentiate through the inner gradients. Defaults to True.
        **kwargs: `GradientBasedMethod` arguments (backbone, filters, way, head, inner_steps,
            test_inner_steps, batch_norm, meta_batch); the paper took 1 inner step on Omniglot in training
            and 3 at test. Defaults to those of `GradientBasedMethod`.
    """

    paper = "Finn et al. 2017, Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks, https://arxiv.org/abs/1703.03400"

    def __init__(self, inner_learning_rate: float = 0.4, second_order: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.inner_learning_rate, self.second_order = inner_learning_rate, second_order

    def adapt(self, params, images, labels, steps, training=False):
        trajectory = [params]
        for _ in range(steps):
            _, grads = self.loss_and_gradients(params, images, labels, self.second_order)
            params = [p - self.inner_learning_rate * g for p, g in zip(params, grads, strict=True)]
            trajectory.append(params)
        return trajectory

    def get_config(self):
        return {
            **super().get_config(),
            "inner_learning_rate": self.inner_learning_rate,
            "second_order": self.second_order,
        }


@keras.saving.register_keras_serializable(package="tfmeta")
class FirstOrderMAML(MAML):
    """First-order MAML (Finn et al. 2017, https://arxiv.org/abs/1703.03400, section 5.2): `MAML` with
    `second_order=False`, the meta-gradient being the query-loss gradient at the adapted parameters.

    Args:
        **kwargs: `MAML` arguments; `second_order` is fixed to False. Defaults to those of `MAML`.
    """

    def __init__(self, **kwargs):
        kwargs.pop("second_order", None)
        super().__init__(second_order=False, **kwargs)

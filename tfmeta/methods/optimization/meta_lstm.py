"""The meta-learner LSTM of Ravi & Larochelle."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfmeta.methods.optimization.learner import GradientBasedMethod
from tfmeta.optimizers.coordinatewise import CoordinatewiseLSTM
from tfmeta.optimizers.preprocessing import log_sign
from tfmeta.optimizers.unroll import flatten, unflatten


@keras.saving.register_keras_serializable(package="tfmeta")
class MetaLearnerLSTM(GradientBasedMethod):
    """Meta-learner LSTM (Ravi & Larochelle 2017, "Optimization as a Model for Few-Shot Learning",
    https://openreview.net/forum?id=rJY0-Kcll).

    The learner is a Conv-4 classifier whose parameters are the cell state of a coordinatewise LSTM:

        c_t = f_t * c_{t-1} - i_t * grad_t,
        i_t = sigmoid(W_I [h_t, c_{t-1}, i_{t-1}] + b_I),   f_t = sigmoid(W_F [h_t, c_{t-1}, f_{t-1}] + b_F),

    where h_t is the hidden state of a one-layer LSTM (the shared `CoordinatewiseLSTM` of the learned
    optimizers, whose linear output gives the h_t parts of both gates) reading the preprocessed gradient
    and loss (`log_sign`, p = 10), with one set of weights shared by every coordinate. The initial cell
    state c_0 is the learner's (learned) initialisation. `inner_steps` updates on the support set, then the
    query loss is the meta-loss. As in the paper, the learner's gradients and loss are inputs treated as
    constants (no second derivatives). Batch norm: see `tfmeta.methods.optimization.learner`
    (transductive; the paper used batch statistics while adapting and running averages on the query set).

    Args:
        units: hidden units of the coordinatewise LSTM. Defaults to 20.
        preprocess_p: the `p` of the gradient and loss preprocessing. Defaults to 10.0.
        input_gate_bias: initial b_I; sigmoid(-1) = 0.27 is the initial step size (the paper drew it from
            [-5, -4], which learns too slowly for short trainings). Defaults to -1.0.
        forget_gate_bias: initial b_F (the paper drew it from [4, 6]: f close to 1). Defaults to 5.0.
        inner_steps: inner updates per episode in training. Defaults to 5.
        test_inner_steps: inner updates per episode at test time. Defaults to 5.
        **kwargs: further `GradientBasedMethod` arguments (backbone, filters, way, head, batch_norm,
            meta_batch). Defaults to those of `GradientBasedMethod`.
    """

    paper = (
        "Ravi & Larochelle 2017, Optimization as a Model for Few-Shot Learning, "
        "https://openreview.net/forum?id=rJY0-Kcll"
    )

    def __init__(
        self,
        units: int = 20,
        preprocess_p: float = 10.0,
        input_gate_bias: float = -1.0,
        forget_gate_bias: float = 5.0,
        inner_steps: int = 5,
        test_inner_steps: int = 5,
        **kwargs,
    ):
        super().__init__(inner_steps=inner_steps, test_inner_steps=test_inner_steps, **kwargs)
        self.units, self.preprocess_p = units, preprocess_p
        self.input_gate_bias, self.forget_gate_bias = input_gate_bias, forget_gate_bias
        # Inputs per coordinate: preprocessed gradient (2) and loss (2); outputs: the h_t parts of i and f.
        self.meta_lstm = CoordinatewiseLSTM(units, num_layers=1, input_dim=4, output_dim=2, output_scale=1.0)
        # Columns: input gate, forget gate; rows: weight on c_{t-1}, weight on the gate's previous value.
        self.gate_kernel = self.add_weight(shape=(2, 2), initializer="zeros", name="gate_kernel")
        self.gate_bias = self.add_weight(
            shape=(2,),
            initializer=keras.initializers.Constant([input_gate_bias, forget_gate_bias]),
            name="gate_bias",
        )

    def adapt(self, params, images, labels, steps, training=False):
        cell = flatten(params)
        n = tf.shape(cell)[0]
        state = self.meta_lstm.initial_state(n)
        input_gate, forget_gate = tf.zeros_like(cell), tf.ones_like(cell)
        trajectory = [params]
        for _ in range(steps):
            loss, grads = self.loss_and_gradients(params, images, labels, second_order=False)
            grad = flatten(grads)
            loss_features = tf.broadcast_to(log_sign(tf.stop_gradient(loss), self.preprocess_p), [n, 2])
            out, state = self.meta_lstm.step(
                tf.concat([log_sign(grad, self.preprocess_p), loss_features], -1), state
            )
            k, b = self.gate_kernel, self.gate_bias
            input_gate = tf.sigmoid(out[:, 0] + k[0, 0] * cell + k[1, 0] * input_gate + b[0])
            forget_gate = tf.sigmoid(out[:, 1] + k[0, 1] * cell + k[1, 1] * forget_gate + b[1])
            cell = forget_gate * cell - input_gate * grad
            params = unflatten(cell, params)
            trajectory.append(params)
        return trajectory

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "preprocess_p": self.preprocess_p,
            "input_gate_bias": self.input_gate_bias,
            "forget_gate_bias": self.forget_gate_bias,
        }

"""The standard optimizers as pure functions of (parameters, gradients, state), for inner loops.

Keras's `Optimizer.stateless_apply` is not supported on the TensorFlow backend, and an inner loop (fine-tuning
on a support set, an unrolled optimizee run) needs updates that are ordinary tensor expressions. Each rule
here reproduces the `update_step` of the Keras optimizer of the same name, default hyperparameters
included (checked step by step in `tests/test_functional_optimizers.py`):

    rule = get("adam", learning_rate=1e-3)
    state = rule.init(params)
    params, state = rule.update(params, grads, state)

Names match `tfmeta.optimizers.OPTIMIZERS`: sgd, momentum, nag, adam, rmsprop, adagrad.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

Params = list[tf.Tensor]


@dataclass(frozen=True)
class Rule:
    """An update rule: `init(params) -> state`, `update(params, grads, state) -> (params, state)`.

    Args:
        name: the optimizer's name.
        learning_rate: the step size.
        momentum: heavy-ball coefficient (sgd, momentum, nag). Defaults to 0.
        nesterov: Nesterov's variant of momentum. Defaults to False.
        beta_1, beta_2: Adam's decay rates. Defaults to 0.9 and 0.999 (Keras).
        rho: RMSProp's decay rate. Defaults to 0.9 (Keras).
        epsilon: added to denominators. Defaults to 1e-7 (Keras).
        initial_accumulator: Adagrad's initial accumulator. Defaults to 0.1 (Keras).
    """

    name: str
    learning_rate: float
    momentum: float = 0.0
    nesterov: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    rho: float = 0.9
    epsilon: float = 1e-7
    initial_accumulator: float = 0.1

    def init(self, params: Params) -> dict:
        zeros = [tf.zeros_like(p) for p in params]
        if self.name == "adam":
            return {"step": tf.constant(0.0), "m": zeros, "v": list(zeros)}
        if self.name == "adagrad":
            return {
                "accumulator": [
                    tf.fill(tf.shape(p), tf.cast(self.initial_accumulator, p.dtype)) for p in params
                ]
            }
        if self.name == "rmsprop":
            return {"velocity": zeros}
        return {"velocity": zeros}  # sgd family; unused without momentum

    def update(self, params: Params, grads: Params, state: dict) -> tuple[Params, dict]:
        return getattr(self, f"_{self.name if self.name in ('adam', 'rmsprop', 'adagrad') else 'sgd'}")(
            params, grads, state
        )

    def _sgd(self, params, grads, state):
        if not self.momentum:
            return [p - self.learning_rate * g for p, g in zip(params, grads, strict=True)], state
        velocity = [
            self.momentum * v - self.learning_rate * g for v, g in zip(state["velocity"], grads, strict=True)
        ]
        if self.nesterov:
            steps = [self.momentum * v - self.learning_rate * g for v, g in zip(velocity, grads, strict=True)]
        else:
            steps = velocity
        return [p + s for p, s in zip(params, steps, strict=True)], {"velocity": velocity}

    def _adam(self, params, grads, state):
        step = state["step"] + 1.0
        m = [m + (g - m) * (1 - self.beta_1) for m, g in zip(state["m"], grads, strict=True)]
        v = [v + (tf.square(g) - v) * (1 - self.beta_2) for v, g in zip(state["v"], grads, strict=True)]
        alpha = self.learning_rate * tf.sqrt(1 - self.beta_2**step) / (1 - self.beta_1**step)
        new = [
            p - tf.cast(alpha, p.dtype) * mi / (tf.sqrt(vi) + self.epsilon)
            for p, mi, vi in zip(params, m, v, strict=True)
        ]
        return new, {"step": step, "m": m, "v": v}

    def _rmsprop(self, params, grads, state):
        velocity = [
            self.rho * v + (1 - self.rho) * tf.square(g)
            for v, g in zip(state["velocity"], grads, strict=True)
        ]
        new = [
            p - self.learning_rate * g / tf.sqrt(v + self.epsilon)
            for p, g, v in zip(params, grads, velocity, strict=True)
        ]
        return new, {"velocity": velocity}

    def _adagrad(self, params, grads, state):
        accumulator = [a + tf.square(g) for a, g in zip(state["accumulator"], grads, strict=True)]
        new = [
            p - self.learning_rate * g / tf.sqrt(a + self.epsilon)
            for p, g, a in zip(params, grads, accumulator, strict=True)
        ]
        return new, {"accumulator": accumulator}


DEFAULT_LEARNING_RATES = {
    "sgd": 0.01,
    "momentum": 0.01,
    "nag": 0.01,
    "adam": 0.001,
    "rmsprop": 0.001,
    "adagrad": 0.01,
}


def get(name: str, learning_rate: float | None = None, **kwargs) -> Rule:
    """The functional rule of a standard optimizer, with Keras's defaults.

    Raises:
        KeyError: naming the valid rules.
    """
    if name not in DEFAULT_LEARNING_RATES:
        raise KeyError(f"unknown optimizer {name!r}; valid: {', '.join(DEFAULT_LEARNING_RATES)}")
    rate = DEFAULT_LEARNING_RATES[name] if learning_rate is None else learning_rate
    if name == "momentum":
        return Rule("sgd", rate, momentum=kwargs.pop("momentum", 0.9), **kwargs)
    if name == "nag":
        return Rule("sgd", rate, momentum=kwargs.pop("momentum", 0.9), nesterov=True, **kwargs)
    return Rule(name, rate, **kwargs)

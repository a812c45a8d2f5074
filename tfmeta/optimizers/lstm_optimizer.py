"""The LSTM optimizer of Andrychowicz et al. 2016 as a Keras optimizer."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import tensorflow as tf

from tfmeta.optimizers.coordinatewise import CoordinatewiseLSTM
from tfmeta.optimizers.preprocessing import coordinate_features, num_features

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


def pretrained_path(name_or_path: str | os.PathLike) -> Path:
    """A `.weights.h5` file: a path, or the name of one shipped in `tfmeta/optimizers/pretrained/`.

    Raises:
        FileNotFoundError: listing the shipped names.
    """
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    shipped = PRETRAINED_DIR / f"{name_or_path}.weights.h5"
    if shipped.is_file():
        return shipped
    names = ", ".join(sorted(p.name.removesuffix(".weights.h5") for p in PRETRAINED_DIR.glob("*.weights.h5")))
    raise FileNotFoundError(f"no meta-trained weights {str(name_or_path)!r}; shipped: {names or 'none'}")


@keras.saving.register_keras_serializable(package="tfmeta")
class LSTMOptimizer(keras.optimizers.Optimizer):
    """Coordinatewise LSTM optimizer ("Learning to learn by gradient descent by gradient descent").

    Andrychowicz et al. 2016, https://arxiv.org/abs/1606.04474. Every coordinate of every variable is
    updated by the same small stacked LSTM: its input is the preprocessed gradient (log|g|/p and sign),
    its output the update, `theta <- theta + learning_rate * output_scale * lstm(g)`. The hidden and cell
    states are per-coordinate optimizer slots created in `build`, so one set of meta-trained weights runs
    on a model of any architecture. Meta-train the weights with `tfmeta.optimizers.meta_train`.

    Args:
        learning_rate: multiplier on the LSTM's proposed update; 1.0 reproduces meta-training.
            Defaults to 1.0.
        units: LSTM units per layer. Defaults to 20.
        num_layers: stacked LSTM layers. Defaults to 2.
        preprocess_p: the `p` of the gradient preprocessing. Defaults to 10.0.
        output_scale: multiplier on the LSTM's linear output. Defaults to 0.1.
        extra_inputs: optional extra input channels, `"parameter"` and/or `"step"` (see
            `tfmeta.optimizers.preprocessing.coordinate_features`). Defaults to `()`.
        pretrained: meta-trained weights, a `.weights.h5` path or a shipped name such as `"quadratic"`;
            None leaves the network at its random initialisation. Defaults to None.
        seed: initialisation seed of the network when not pretrained. Defaults to None.
        name: Defaults to `"lstm_optimizer"`.
        **kwargs: the base `keras.optimizers.Optimizer` arguments (clipnorm, ...).
    """

    def __init__(
        self,
        learning_rate: float = 1.0,
        units: int = 20,
        num_layers: int = 2,
        preprocess_p: float = 10.0,
        output_scale: float = 0.1,
        extra_inputs: tuple[str, ...] | list[str] = (),
        pretrained: str | os.PathLike | None = None,
        seed: int | None = None,
        name: str = "lstm_optimizer",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.units, self.num_layers, self.preprocess_p = units, num_layers, preprocess_p
        self.output_scale, self.extra_inputs, self.seed = output_scale, tuple(extra_inputs), seed
        self.pretrained = None if pretrained is None else str(pretrained)
        self.network = CoordinatewiseLSTM(
            units, num_layers, num_features(self.extra_inputs), 1, output_scale, seed=seed
        )
        if pretrained is not None:
            self.network.load_weights(pretrained_path(pretrained))

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs) -> LSTMOptimizer:
        """An optimizer with meta-trained weights (a `.weights.h5` path or a shipped name)."""
        return cls(pretrained=path, **kwargs)

    def save_meta_weights(self, path: str | os.PathLike) -> None:
        """Saves the LSTM's weights in Keras' `.weights.h5` format."""
        self.network.save_weights(path)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._lstm_states = [
            [
                self.add_variable(shape=(*v.shape, self.units), name=f"{v.name.replace('/', '_')}_{k}{i}")
                for i in range(self.num_layers)
                for k in ("h", "c")
            ]
            for v in var_list
        ]

    def update_step(self, gradient, variable, learning_rate):
        slots = self._lstm_states[self._get_variable_index(variable)]
        features = coordinate_features(
            tf.reshape(gradient, [-1]),
            self.preprocess_p,
            self.extra_inputs,
            parameter=tf.reshape(variable, [-1]),
            step=self.iterations,
        )
        state = [tf.reshape(s, [-1, self.units]) for s in slots]
        update, state = self.network.step(features, state)
        for slot, value in zip(slots, state, strict=True):
            self.assign(slot, tf.reshape(value, slot.shape))
        step = tf.cast(learning_rate, variable.dtype) * tf.cast(
            tf.reshape(update, variable.shape), variable.dtype
        )
        self.assign_add(variable, step)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "num_layers": self.num_layers,
            "preprocess_p": self.preprocess_p,
            "output_scale": self.output_scale,
            "extra_inputs": list(self.extra_inputs),
            "pretrained": self.pretrained,
            "seed": self.seed,
        }

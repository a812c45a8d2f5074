"""The LSTM optimizer of Andrychowicz et al. 2016 as a Keras optimizer."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
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
    states of every coordinate of every variable live in one optimizer variable created in `build`, and
    one step runs the LSTM once over all coordinates (the gradients concatenated), so one set of
    meta-trained weights runs on a model of any architecture at the cost of one batched LSTM call.
    Meta-train the weights with `tfmeta.optimizers.meta_train`.

    Where the shipped weights work, from the optimizer track's records (docs/optimizers.md, whose
    tables `tfmeta report` generates from them): `"mlp"` on sigmoid MLPs like the one it was
    meta-trained on (more units, a second hidden layer) for up to twice its meta-training horizon, where
    it ends lowest of all optimizers and never loses to the best tuned baseline; `"quadratic"` ties the
    best tuned baseline on its own quadratics. Where they do not: ReLU networks (on the ReLU MLP `"mlp"`
    loses to every tuned baseline, on the ReLU convnet to the best one), runs longer than twice the
    horizon (no record), and large models (the track's largest problem is a 40-unit MLP; no record
    trains a million parameters, where the step costs many times Adam's, docs/performance.md).

    State: `2 * num_layers * units` values per parameter (the hidden and cell state of each layer), 80
    float32 values or 320 bytes at the defaults (`state_bytes_per_parameter`), against Adam's 2; beyond
    them only the step counter, the learning rate and the LSTM's own few thousand weights.

    Saving: a model compiled with it and saved as `.keras` loads after `import tfmeta` alone, which
    registers this class with Keras once Keras is loaded (`tfmeta.registration`); the file keeps the
    LSTM states, so training goes on with the step the saved model would have taken. `pretrained` is
    stored by name or path and loaded again, so a path must exist where the model loads.

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
        # The LSTM states of every coordinate of every variable, one column a coordinate, in variable order:
        # one buffer per state tensor (h_1, c_1, h_2, c_2, ...), each [units, coordinates], so that a step
        # reads and writes whole buffers with no strided copies (and the LSTM runs in its faster column
        # layout, see `CoordinatewiseLSTM.step`).
        sizes = [int(np.prod(v.shape)) for v in var_list]
        self._columns = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self._state = [
            self.add_variable(shape=(self.units, int(self._columns[-1])), name=f"lstm_{kind}{layer}")
            for layer in range(self.num_layers)
            for kind in ("h", "c")
        ]
        # XLA fuses the LSTM's elementwise gate arithmetic, which dominates on a CPU (with the gates by tanh,
        # about 40% faster at 100k parameters here); the rest of the step stays as the model was compiled.
        self._lstm_xla = tf.function(
            lambda *args: self._lstm(*args, gates_by_tanh=True), jit_compile=True, reduce_retracing=True
        )

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        """One LSTM call over every coordinate of every variable (the variables' gradients concatenated),
        instead of Keras's one `update_step` per variable. Under a multi-replica `tf.distribute` strategy
        Keras's per-variable path (`update_step`) runs instead."""
        strategy = tf.distribute.get_strategy()
        if strategy.num_replicas_in_sync > 1:
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        indices = [self._get_variable_index(v) for v in trainable_variables]
        whole = indices == list(range(len(self._columns) - 1))
        columns = None if whole else np.concatenate([np.arange(*self._columns[i : i + 2]) for i in indices])
        state = [s.value if whole else tf.gather(s.value, columns, axis=1) for s in self._state]
        updates, state = self._lstm_xla(
            [tf.reshape(g, [-1]) for g in grads], [tf.reshape(v, [-1]) for v in trainable_variables], state
        )
        for buffer, value in zip(self._state, state, strict=True):
            if whole:
                buffer.assign(value)
            else:  # scatters write rows: these columns are rows of the transposed buffer
                rows = tf.tensor_scatter_nd_update(
                    tf.transpose(buffer.value), columns[:, None], tf.transpose(value)
                )
                buffer.assign(tf.transpose(rows))
        steps = tf.split(updates, [int(np.prod(v.shape)) for v in trainable_variables])
        rate = tf.cast(learning_rate, updates.dtype)
        for variable, step in zip(trainable_variables, steps, strict=True):
            variable.assign_add(tf.cast(rate * tf.reshape(step, variable.shape), variable.dtype))

    def update_step(self, gradient, variable, learning_rate):
        """The update of one variable (the per-variable path; see `_backend_update_step`)."""
        start, stop = (int(r) for r in self._columns[self._get_variable_index(variable) :][:2])
        updates, state = self._lstm(
            [tf.reshape(gradient, [-1])],
            [tf.reshape(variable, [-1])],
            [s[:, start:stop] for s in self._state],
        )
        for buffer, value in zip(self._state, state, strict=True):
            buffer[:, start:stop].assign(value)
        step = tf.cast(learning_rate, updates.dtype) * tf.reshape(updates, variable.shape)
        self.assign_add(variable, tf.cast(step, variable.dtype))

    def _lstm(self, gradients, parameters, state, gates_by_tanh=False):
        """Updates `[N]` and the new states (each `[units, N]`) of the coordinates of `gradients`."""
        flat = tf.concat(gradients, 0) if len(gradients) > 1 else gradients[0]
        features = coordinate_features(
            flat,
            self.preprocess_p,
            self.extra_inputs,
            parameter=tf.concat(parameters, 0) if "parameter" in self.extra_inputs else None,
            step=self.iterations,
        )
        update, new_state = self.network.step(
            tf.transpose(features),
            [tf.cast(s, features.dtype) for s in state],
            gates_by_tanh=gates_by_tanh,
            columns=True,
        )
        return tf.reshape(update, [-1]), new_state

    def state_bytes_per_parameter(self) -> int:
        """Bytes of optimizer state per optimizee parameter (the LSTM's hidden and cell states)."""
        return 2 * self.num_layers * self.units * np.dtype(self._state[0].dtype).itemsize if self.built else 0

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

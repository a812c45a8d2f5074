"""Speed of the LSTM optimizer in a user's own `model.fit`, against Adam in the same run.

For MLPs of about 10k, 100k and 1M parameters on real Omniglot images (28x28, 10 classes): the
milliseconds of one `model.fit` step with each optimizer, the milliseconds of the optimizer's own step
(`optimizer.apply` on one batch's gradients, compiled as `model.fit` compiles it, so the model's forward
and backward pass and Keras's per-step overhead are not in it), the bytes of optimizer state per
parameter, and the LSTM's arithmetic floor: `flop_per_parameter()` FLOPs per parameter and step at the
rate this machine reaches in a large float32 matrix product, measured in the same run. The floor bounds
the optimizer's own step, so the ratio is taken there. Beside it, the LSTM's products timed alone at the
step's shapes: the step's time less theirs is the gate functions' and the states' share.
"""

from __future__ import annotations

import time

import numpy as np

from tfmeta.speed.speed import Timing, repeat

# Hidden layers of the three MLPs (784 inputs, 10 outputs): about 10k, 100k and 1M parameters.
SIZES = {"10k": (12,), "100k": (128,), "1M": (1000, 200)}
BATCH = 128


def flop_per_parameter(units: int = 20, layers: int = 2, features: int = 2) -> int:
    """FLOPs of the coordinatewise LSTM per coordinate in its matrix products (the four gates of each
    layer and the linear output; the elementwise gate functions come on top): about 10k."""
    flops, width = 0, features
    for _ in range(layers):
        flops += 2 * (width + units) * 4 * units
        width = units
    return flops + 2 * units


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """The float32 matrix-product rate of this machine, GFLOP/s (median of `repeats`)."""
    import tensorflow as tf

    a = tf.random.stateless_normal((n, n), seed=(1, 2))
    product = tf.function(lambda x: tf.matmul(x, x))
    product(a).numpy()

    def once() -> float:
        start = time.perf_counter()
        product(a).numpy()
        return 2 * n**3 / (time.perf_counter() - start) / 1e9

    return repeat(once, repeats).median


def products_ms(network, coordinates: int, steps: int, repeats: int) -> Timing:
    """Milliseconds of the LSTM's matrix products alone over `coordinates` coordinates (each layer's gate
    pre-activations `kernel^T [x; h]` and the linear output, the arithmetic the floor counts), compiled by
    XLA as in the optimizer's step: what these products' shapes reach here, with no gate functions and no
    state traffic. Their inputs are random: a product's time does not depend on its values."""
    import tensorflow as tf

    kernels = [*network.kernels, network.out_kernel]
    inputs = [
        tf.random.stateless_normal((int(k.shape[0]), coordinates), seed=(0, i)) for i, k in enumerate(kernels)
    ]
    products = tf.function(
        lambda xs: [tf.matmul(k, x, transpose_a=True) for k, x in zip(kernels, xs, strict=True)],
        jit_compile=True,
    )
    products(inputs)
    return _ms_per_call(lambda: products(inputs), lambda out: out[-1].numpy(), steps, repeats)


def mlp(hidden: tuple[int, ...]):
    import keras

    layers = [keras.Input((784,))] + [keras.layers.Dense(h, activation="sigmoid") for h in hidden]
    return keras.Sequential([*layers, keras.layers.Dense(10)])


def omniglot_batches(data_dir=None, cache_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """`BATCH` x 8 real images of 10 Omniglot test classes, flattened to [0, 1], and their labels."""
    from tfmeta.data import load_class_sets

    images = load_class_sets("omniglot", "vinyals", {"test"}, data_dir, cache_dir)["test"].images[:10]
    x = images.reshape(10 * images.shape[1], -1).astype("float32") / 255.0
    y = np.repeat(np.arange(10), images.shape[1])
    order = np.random.default_rng(0).permutation(len(y))
    reps = -(-BATCH * 8 // len(y))
    return np.tile(x[order], (reps, 1))[: BATCH * 8], np.tile(y[order], reps)[: BATCH * 8]


def step_ms(model, optimizer, x, y, steps: int, repeats: int, jit_compile: bool) -> Timing:
    """Milliseconds per `model.fit` step, `steps` steps per `fit` call so that the call's own start-up
    (callbacks, iterator) is spread thin."""
    import keras
    import tensorflow as tf

    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH, drop_remainder=True).repeat()
    model.fit(batches, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)  # build and trace

    def once() -> float:
        start = time.perf_counter()
        model.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
        return 1000 * (time.perf_counter() - start) / steps

    return repeat(once, repeats)


def apply_ms(model, optimizer, x, y, steps: int, repeats: int) -> Timing:
    """Milliseconds of the optimizer's own step: `optimizer.apply` on one real batch's gradients, in a
    `tf.function` as in `model.fit` (the LSTM optimizer runs its XLA-compiled LSTM inside it)."""
    import keras
    import tensorflow as tf

    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        value = loss(y[:BATCH], model(x[:BATCH]))
    gradients = tape.gradient(value, model.trainable_variables)
    optimizer.build(model.trainable_variables)
    apply = tf.function(lambda: optimizer.apply(gradients, model.trainable_variables))
    apply()
    return _ms_per_call(apply, lambda _: model.trainable_variables[0].numpy(), steps, repeats)


def _ms_per_call(call, wait, calls: int, repeats: int) -> Timing:
    """Milliseconds per `call()` over `calls` calls in a row, `repeats` times; `wait(last result)` blocks
    until the last call's work is done, so that the time covers all of it."""

    def once() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            result = call()
        wait(result)
        return 1000 * (time.perf_counter() - start) / calls

    return repeat(once, repeats)


def measure(steps: int = 32, repeats: int = 5, data_dir=None, cache_dir=None) -> list[dict]:
    """One row per model size: parameters, ms per `model.fit` step (Adam, LSTM, LSTM with the whole
    step under XLA), ms per optimizer step (Adam, LSTM), ms of the LSTM's products alone, state bytes per
    parameter, and the LSTM's floor in ms."""
    import keras

    from tfmeta.optimizers import LSTMOptimizer

    x, y = omniglot_batches(data_dir, cache_dir)
    rate = matmul_gflops()
    rows = []
    for label, hidden in SIZES.items():
        keras.utils.set_random_seed(0)
        params = mlp(hidden).count_params()
        adam = step_ms(mlp(hidden), keras.optimizers.Adam(1e-3), x, y, steps, repeats, False)
        lstm_optimizer = LSTMOptimizer.from_pretrained("mlp")
        lstm = step_ms(mlp(hidden), lstm_optimizer, x, y, steps, repeats, False)
        lstm_xla = step_ms(mlp(hidden), LSTMOptimizer.from_pretrained("mlp"), x, y, steps, repeats, True)
        rows.append(
            {
                "model": label,
                "params": params,
                "adam_ms": adam,
                "lstm_ms": lstm,
                "lstm_xla_ms": lstm_xla,
                "adam_apply_ms": apply_ms(mlp(hidden), keras.optimizers.Adam(1e-3), x, y, steps, repeats),
                "lstm_apply_ms": apply_ms(
                    mlp(hidden), LSTMOptimizer.from_pretrained("mlp"), x, y, steps, repeats
                ),
                "products_ms": products_ms(lstm_optimizer.network, params, steps, repeats),
                "lstm_state_bytes": lstm_optimizer.state_bytes_per_parameter(),
                "adam_state_bytes": 8,
                "floor_ms": 1000 * params * flop_per_parameter() / (rate * 1e9),
                "gflops": rate,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    head = (
        "| model | parameters | `fit` step, Adam (ms) | `fit` step, LSTM (ms) | `fit` step, LSTM, XLA (ms) "
        "| optimizer step, Adam (ms) | optimizer step, LSTM (ms) | LSTM's products alone (ms) "
        "| LSTM floor (ms) | LSTM optimizer step / floor | state (bytes/parameter): LSTM, Adam |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['params']:,} | {_cell(r['adam_ms'])} | {_cell(r['lstm_ms'])} | "
            f"{_cell(r['lstm_xla_ms'])} | {_cell(r['adam_apply_ms'])} | {_cell(r['lstm_apply_ms'])} | "
            f"{_cell(r['products_ms'])} | "
            f"{r['floor_ms']:.2f} | {r['lstm_apply_ms'].median / r['floor_ms']:.1f}x | "
            f"{r['lstm_state_bytes']}, {r['adam_state_bytes']} |"
        )
    return "\n".join(lines)


def _cell(timing: Timing) -> str:
    return f"{timing.median:.1f} ± {100 * timing.spread:.0f}%"

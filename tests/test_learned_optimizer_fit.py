"""The shipped, meta-trained LSTM optimizer trains a fresh Keras model on Omniglot with `model.fit`."""

from __future__ import annotations

import keras
import numpy as np

from tfmeta.optimizers import LSTMOptimizer


def _omniglot_problem(class_sets, way: int = 10):
    """`way` held-out characters (Vinyals test classes), all 20 drawings each, shuffled."""
    images = class_sets["test"].images[:way]
    x = images.reshape(-1, 28, 28, 1).astype("float32") / 255.0
    y = np.repeat(np.arange(way), images.shape[1])
    order = np.random.default_rng(0).permutation(len(y))
    return x[order], y[order]


def test_pretrained_lstm_optimizer_trains_a_fresh_model_with_fit(class_sets):
    x, y = _omniglot_problem(class_sets)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.AveragePooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(20, activation="sigmoid"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=LSTMOptimizer.from_pretrained("mlp"),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    before = model.evaluate(x, y, verbose=0)[0]
    history = model.fit(x, y, batch_size=50, epochs=15, verbose=0)
    after, accuracy = model.evaluate(x, y, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert after < 0.5 * before and accuracy > 0.5, (before, after, accuracy)

"""A model compiled with the LSTM optimizer, saved as `.keras`, loads in a new process after `import tfmeta`
alone (`tfmeta.registration`) and goes on training exactly as the saved one would have."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
import warnings

import keras
import numpy as np
import pytest

from tests.records import REPO
from tfmeta import registration
from tfmeta.optimizers import LSTMOptimizer

STEPS_BEFORE_SAVING = 3


def _batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 8)).astype("float32"), rng.integers(0, 3, 32)


LOAD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tfmeta

    heavy = sorted(name for name in ("tensorflow", "keras") if name in sys.modules)
    assert not heavy, f"import tfmeta loaded {{heavy}}"
    import keras

    model = keras.saving.load_model({model!r})
    assert type(model.optimizer).__name__ == "LSTMOptimizer", type(model.optimizer)
    assert int(model.optimizer.iterations) == {steps}, int(model.optimizer.iterations)
    batch = np.load({batch!r})
    model.train_on_batch(batch["x"], batch["y"])
    np.savez({out!r}, *model.get_weights())
    # The same step from zero LSTM states: what a load that lost the optimizer's state would take.
    again = keras.saving.load_model({model!r})
    for state in again.optimizer._state:
        state.assign(np.zeros(state.shape, "float32"))
    again.train_on_batch(batch["x"], batch["y"])
    np.savez({fresh!r}, *again.get_weights())
    """
)


@pytest.mark.slow
def test_a_saved_model_loads_after_import_tfmeta_and_takes_the_same_next_step(tmp_path):
    x, y = _batch()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(5, activation="sigmoid"), keras.layers.Dense(3)]
    )
    model.compile(
        optimizer=LSTMOptimizer.from_pretrained("mlp"),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    for _ in range(STEPS_BEFORE_SAVING):
        model.train_on_batch(x, y)
    path = tmp_path / "model.keras"
    model.save(path)
    model.train_on_batch(x, y)
    expected = model.get_weights()

    np.savez(tmp_path / "batch.npz", x=x, y=y)
    script = LOAD.format(
        model=str(path),
        steps=STEPS_BEFORE_SAVING,
        batch=str(tmp_path / "batch.npz"),
        out=str(tmp_path / "loaded.npz"),
        fresh=str(tmp_path / "fresh.npz"),
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded, fresh = np.load(tmp_path / "loaded.npz"), np.load(tmp_path / "fresh.npz")
    for index, weights in enumerate(expected):
        np.testing.assert_array_equal(loaded[f"arr_{index}"], weights)
    # The comparison can tell: without the saved LSTM states the step is another one.
    assert any(not np.array_equal(fresh[f"arr_{i}"], w) for i, w in enumerate(expected))


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_registration_never_fails_an_import_and_skips_other_backends(monkeypatch, backend):
    """Under another Keras backend nothing is imported; a registration that fails warns instead of
    failing the user's `import keras`."""
    fake = types.ModuleType("keras")
    fake.config = types.SimpleNamespace(backend=lambda: backend)
    monkeypatch.setitem(sys.modules, "keras", fake)
    monkeypatch.setattr(registration, "REGISTERING_MODULE", "tfmeta.no_such_module")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert registration._register_if_ready()
    messages = [str(w.message) for w in caught]
    if backend == "tensorflow":
        assert len(messages) == 1 and "import tfmeta.no_such_module" in messages[0], messages
    else:
        assert not messages

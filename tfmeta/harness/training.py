"""Meta-training with `model.fit`: progress bar, TensorBoard, CSV learning curve, resume after interruption.

Everything of one training run lives in its run folder:
    backup/           BackupAndRestore state, deleted by Keras when training completes
    curve.csv         one row per validation: losses, accuracies, cumulative wall-clock seconds
    tensorboard/      scalars for TensorBoard
    weights.weights.h5, training.json   written (atomically) once training has finished
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import keras

WEIGHTS = "weights.weights.h5"
SUMMARY = "training.json"
CURVE = "curve.csv"
RESUMES = "resumes.json"  # episode counts at which the training was resumed


@dataclass(frozen=True)
class Trained:
    """A finished training: its summary (episodes, seconds, origin), whether it was reused from an earlier
    run, and its learning curve."""

    summary: dict
    reused: bool
    curve: list[dict]


def make_optimizer(config: dict) -> keras.optimizers.Optimizer:
    """The meta-optimizer of a profile's `optimizer` block (name, learning rate, optional step decay)."""
    learning_rate = config["learning_rate"]
    if "decay_every" in config:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, config["decay_every"], config.get("decay_factor", 0.5), staircase=True
        )
    optimizers = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
    }
    return optimizers[config["name"]](learning_rate)


class ElapsedSeconds(keras.callbacks.Callback):
    """Adds cumulative training wall-clock seconds to the epoch logs, continuing across resumes."""

    def __init__(self, previous_seconds: float):
        super().__init__()
        self.previous_seconds = previous_seconds

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = self.previous_seconds + time.perf_counter() - self.start


def read_curve(run_dir: Path, episodes_per_epoch: int) -> list[dict]:
    """The learning curve of a run: one point per validation, the last row kept for a repeated epoch."""
    path = run_dir / CURVE
    if not path.exists():
        return []
    rows = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            rows[int(row["epoch"])] = row

    def number(row, name):
        value = row.get(name)
        return float(value) if value not in (None, "") else None

    return [
        {
            "episode": (epoch + 1) * episodes_per_epoch,
            "seconds": number(row, "seconds"),
            "loss": number(row, "loss"),
            "accuracy": number(row, "accuracy"),
            "val_loss": number(row, "val_loss"),
            "val_accuracy": number(row, "val_accuracy"),
        }
        for epoch, row in sorted(rows.items())
    ]


def build(model: keras.Model, data) -> None:
    """Creates a model's weights by calling it on the first episode of `data`, if not done yet."""
    if not model.built:
        model(next(iter(data))[0])


def is_trained(run_dir: Path) -> bool:
    return (run_dir / SUMMARY).exists() and (run_dir / WEIGHTS).exists()


def load_trained(model: keras.Model, run_dir: Path, every: int) -> Trained:
    """Loads finished weights into a built model; `every` is the validation interval of its curve."""
    model.load_weights(run_dir / WEIGHTS)
    return Trained(json.loads((run_dir / SUMMARY).read_text()), True, read_curve(run_dir, every))


def _resumes(run_dir: Path, now: int | None) -> list[int]:
    """The episode counts at which this training was resumed, `now` added (None: not resuming)."""
    path = run_dir / RESUMES
    resumed = json.loads(path.read_text()) if path.exists() else []
    if now is not None:
        resumed.append(now)
        path.write_text(json.dumps(resumed))
    return resumed


def fit(
    model: keras.Model,
    train_data,
    validation_data,
    episodes: int,
    every: int,
    run_dir: Path,
    origin: dict,
    verbose="auto",
    callbacks: tuple = (),
) -> Trained:
    """Meta-trains `model` for `episodes` episodes, validating every `every`, resuming if interrupted.

    Args:
        origin: provenance of the code that trains, kept in the summary for runs that reuse the training.
        callbacks: further Keras callbacks (early stopping, say).

    Returns:
        The finished training, its summary holding episodes, wall-clock seconds and origin.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    build(model, validation_data)  # BackupAndRestore needs weights to restore into
    done_before = read_curve(run_dir, every)
    previous_seconds = done_before[-1]["seconds"] if done_before else 0.0
    resumed_at = _resumes(run_dir, len(done_before) * every if done_before else None)
    callbacks = [
        *callbacks,
        ElapsedSeconds(previous_seconds),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        keras.callbacks.CSVLogger(str(run_dir / CURVE), append=True),
        keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False),
    ]
    model.fit(
        train_data,
        epochs=episodes // every,
        steps_per_epoch=every,
        validation_data=validation_data,
        callbacks=callbacks,
        shuffle=False,
        verbose=verbose,
    )
    if model.stop_training:
        raise FloatingPointError(f"training diverged (loss became NaN); see {run_dir / CURVE}")
    curve = read_curve(run_dir, every)
    summary = {
        "episodes": episodes,
        "seconds": curve[-1]["seconds"] if curve else 0.0,
        "origin": origin,
        "resumed_at": resumed_at,
    }
    tmp = run_dir / f".tmp-{os.getpid()}.weights.h5"
    model.save_weights(tmp)
    summary["weights_sha256"] = hashlib.sha256(tmp.read_bytes()).hexdigest()  # records name the weights
    os.replace(tmp, run_dir / WEIGHTS)
    (run_dir / f".{SUMMARY}.tmp").write_text(json.dumps(summary))
    os.replace(run_dir / f".{SUMMARY}.tmp", run_dir / SUMMARY)
    return Trained(summary, False, curve)

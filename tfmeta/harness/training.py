"""Meta-training with `model.fit`: progress bar, TensorBoard, CSV learning curve, resume after interruption.

Everything of one training run lives in its run folder:
    backup/           BackupAndRestore state, deleted by Keras when training completes
    checkpoint.json   episodes per checkpoint: Keras epochs are that long, so an interruption loses at
                      most that many episodes (50, or fewer to divide the validation interval)
    curve.csv         one row per checkpoint: training loss and accuracy, cumulative wall-clock seconds,
                      and the validation loss and accuracy where the row ends a validation interval
    tensorboard/      scalars for TensorBoard
    weights.weights.h5, training.json   written (atomically) once training has finished
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras

WEIGHTS = "weights.weights.h5"
SUMMARY = "training.json"
CURVE = "curve.csv"
RESUMES = "resumes.json"  # episode counts at which the training was resumed
CHECKPOINT = "checkpoint.json"
BACKUP = "backup"  # BackupAndRestore's folder
CHECKPOINT_EPISODES = 50  # the most episodes an interruption may cost
CURVE_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")


@dataclass(frozen=True)
class Trained:
    """A finished training: its summary (episodes, seconds, origin), whether it was reused from an earlier
    run, and its learning curve."""

    summary: dict
    reused: bool
    curve: list[dict]


def make_optimizer(config: dict, episodes_per_update: int = 1) -> keras.optimizers.Optimizer:
    """The meta-optimizer of a profile's `optimizer` block (name, learning rate, optional step decay).

    `decay_every` counts training episodes, like the budget: with meta-batches of `episodes_per_update`
    tasks the rate steps down every `decay_every / episodes_per_update` meta-updates, so a meta-batch
    variant decays at the same point of its budget as the one-task entry it is compared with."""
    learning_rate = config["learning_rate"]
    if "decay_every" in config:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            learning_rate,
            max(1, config["decay_every"] // episodes_per_update),
            config.get("decay_factor", 0.5),
            staircase=True,
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


class CurveLogger(keras.callbacks.Callback):
    """Appends one row per epoch to curve.csv with fixed columns (empty where an epoch did not validate),
    flushed at once; appends to an existing file in that file's own column order."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        logs = {"epoch": epoch, **(logs or {})}
        header = None
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open(newline="") as f:
                header = next(csv.reader(f), None)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header or CURVE_COLUMNS, extrasaction="ignore")
            if header is None:
                writer.writeheader()
            writer.writerow({key: logs.get(key, "") for key in writer.fieldnames})


def checkpoint_episodes(
    run_dir: Path, every: int, most: int = CHECKPOINT_EPISODES, episodes_per_step: int = 1
) -> int:
    """Episodes per checkpoint (per Keras epoch) of the training in `run_dir`: the largest divisor of the
    validation interval `every` not above `most` (or `episodes_per_step`, if larger) that is a whole
    number of steps, fixed in checkpoint.json when the training starts. A folder whose training began
    before checkpoints were finer than validations keeps `every`."""
    path = run_dir / CHECKPOINT
    if path.exists():
        return int(json.loads(path.read_text())["episodes"])
    if (run_dir / CURVE).exists() or (run_dir / BACKUP).exists():
        return every
    if every % episodes_per_step:
        raise ValueError(
            f"the validation interval ({every} episodes) is not a whole number of meta-batches of "
            f"{episodes_per_step}; make validation.every a multiple of meta_batch"
        )
    top = max(most, episodes_per_step)
    chunk = max(d for d in range(episodes_per_step, top + 1, episodes_per_step) if every % d == 0)
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"episodes": chunk}))
    return chunk


def episodes_done(run_dir: Path, every: int) -> int:
    """Training episodes an interrupted run has behind it: its last checkpoint (0 when none)."""
    metadata = run_dir / BACKUP / "training_metadata.json"
    if not metadata.exists():
        return 0
    return int(json.loads(metadata.read_text())["epoch"]) * checkpoint_episodes(run_dir, every)


def read_curve(run_dir: Path, every: int) -> list[dict]:
    """The learning curve of a run: one point per validation (every `every` episodes), the last row kept
    for a repeated epoch; the seconds of the last checkpoint even where it did not validate."""
    path = run_dir / CURVE
    if not path.exists():
        return []
    chunk = checkpoint_episodes(run_dir, every)
    rows = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            rows[int(row["epoch"])] = row
    return [
        {
            "episode": (epoch + 1) * chunk,
            "seconds": _number(row, "seconds"),
            "loss": _number(row, "loss"),
            "accuracy": _number(row, "accuracy"),
            "val_loss": _number(row, "val_loss"),
            "val_accuracy": _number(row, "val_accuracy"),
        }
        for epoch, row in sorted(rows.items())
        if _number(row, "val_loss") is not None or _number(row, "val_accuracy") is not None
    ]


def _number(row: dict, name: str) -> float | None:
    """A curve.csv cell as a number; None where the epoch logged nothing (empty, or Keras's "NA")."""
    value = row.get(name)
    return float(value) if value not in (None, "", "NA") else None


def _seconds_so_far(run_dir: Path) -> float:
    """Cumulative training seconds at the last row of curve.csv (0 for a new training)."""
    path = run_dir / CURVE
    if not path.exists():
        return 0.0
    with path.open(newline="") as f:
        seconds = [value for row in csv.DictReader(f) if (value := _number(row, "seconds")) is not None]
    return seconds[-1] if seconds else 0.0


def build(model: keras.Model, data) -> None:
    """Creates a model's weights by calling it on the first episode of `data`, if not done yet."""
    if not model.built:
        model(next(iter(data))[0])


def is_trained(run_dir: Path) -> bool:
    return (run_dir / SUMMARY).exists() and (run_dir / WEIGHTS).exists()


def load_weights(model: keras.Model, path: Path) -> None:
    """Loads a trained method's weights for testing. The file holds its training optimizer's state too,
    which a method built for testing has not created; Keras warns that it skips it, which is expected
    here, so that one warning is silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(path)


def load_trained(model: keras.Model, run_dir: Path, every: int) -> Trained:
    """Loads finished weights into a built model; `every` is the validation interval of its curve."""
    load_weights(model, run_dir / WEIGHTS)
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
    checkpoint_every: int = CHECKPOINT_EPISODES,
    episodes_per_step: int = 1,
) -> Trained:
    """Meta-trains `model` for `episodes` episodes, validating every `every`, resuming if interrupted.

    `train_data` must go on from episode `episodes_done(run_dir, every)` of its stream, so that a resumed
    training sees the episodes an uninterrupted one would have.

    Args:
        origin: provenance of the code that trains, kept in the summary for runs that reuse the training.
        callbacks: further Keras callbacks (early stopping, say).
        checkpoint_every: the most episodes between checkpoints (see `checkpoint_episodes`).
        episodes_per_step: episodes in each element of `train_data` (a method's meta-batch); `episodes`
            and `every` still count episodes.

    Returns:
        The finished training, its summary holding episodes, wall-clock seconds and origin.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    build(model, validation_data)  # BackupAndRestore needs weights to restore into
    chunk = checkpoint_episodes(run_dir, every, checkpoint_every, episodes_per_step)
    done = episodes_done(run_dir, every)
    resumed_at = _resumes(run_dir, done or None)
    callbacks = [
        *callbacks,
        ElapsedSeconds(_seconds_so_far(run_dir)),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.BackupAndRestore(str(run_dir / BACKUP)),
        CurveLogger(run_dir / CURVE),
        keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False),
    ]
    model.fit(
        train_data,
        epochs=(episodes // every) * (every // chunk),
        steps_per_epoch=chunk // episodes_per_step,
        validation_data=validation_data,
        validation_freq=every // chunk,
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

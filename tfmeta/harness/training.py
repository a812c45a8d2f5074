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

import contextlib
import csv
import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keras

from tfmeta.core.errors import UserError
from tfmeta.records import store

WEIGHTS = "weights.weights.h5"
WEIGHTS_EXPECTED = "weights are .weights.h5 files"
SUMMARY = "training.json"
CURVE = "curve.csv"
RESUMES = "resumes.json"  # episode counts at which the training was resumed
CHECKPOINT = "checkpoint.json"
BACKUP = "backup"  # BackupAndRestore's folder
CHECKPOINT_EPISODES = 50  # the most episodes an interruption may cost
CURVE_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # where Keras writes it: at the start of the file
ZIP_SIGNATURE = b"PK\x03\x04"  # a `.keras` archive


class WeightsError(UserError, ValueError):
    """A weights file that cannot be loaded into the method: not a regular file, not Keras weights, a
    whole model rather than weights, other bytes than its sha256 names, or another method's variables."""


class NotWritableError(UserError, OSError):
    """A folder a run must write to cannot be written (read-only, full, not a folder); the message says
    which, why, and what to do."""


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


def build(model: keras.Model, data) -> tuple[dict, object] | None:
    """Creates a model's weights by calling it on the first episode of `data`, if not done yet; returns
    that episode and the call's output (None when the model was built already)."""
    if not model.built:
        episode = next(iter(data))[0]
        return episode, model(episode)
    return None


def is_trained(run_dir: Path) -> bool:
    return (run_dir / SUMMARY).exists() and (run_dir / WEIGHTS).exists()


def load_weights(model: keras.Model, path: Path, sha256: str | None = None) -> None:
    """Loads a trained method's weights for testing, from a private copy of the file (`checked_weights`).

    The file holds its training optimizer's state too, which a method built for testing has not created;
    Keras warns that it skips it, which is expected here, so that one warning is silenced.

    Raises:
        WeightsError: the file is unreadable, not Keras weights, not the bytes `sha256` names, or its
            variables do not fit `model` (another method's or another configuration's weights).
    """
    with checked_weights(path, sha256) as copy, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        try:
            model.load_weights(copy)
        except Exception as err:  # whatever Keras or h5py raise, these are not this model's weights
            raise WeightsError(
                f"{path} does not fit {type(model).__name__} as configured ({_reason(err)}): these are "
                "another method's or configuration's weights; a record must name those its training wrote"
            ) from err


@contextlib.contextmanager
def checked_weights(path: Path, sha256: str | None = None) -> Iterator[Path]:
    """A private copy of the weights file at `path`, checked to be a Keras `.weights.h5` file.

    The copy is read from one descriptor opened only for a regular file (a FIFO or device named
    `*.weights.h5` is refused, never waited on), so the bytes checked, hashed and loaded are the same.

    Args:
        sha256: the hash the bytes must have (the one a record or a training's summary names).

    Raises:
        WeightsError: naming the file and what it is instead.
    """
    with tempfile.TemporaryDirectory(prefix="tfmeta-weights-") as folder:
        copy = Path(folder) / WEIGHTS
        digest = _copy_regular(Path(path), copy)
        if sha256 is not None and digest != sha256:
            raise WeightsError(
                f"{path} has sha256 {digest[:16]}..., not the {sha256[:16]}... its record or training "
                "summary names: the file was changed or replaced since; put the named weights back"
            )
        _check_format(copy, path)
        yield copy


def _copy_regular(path: Path, copy: Path) -> str:
    """Copies the regular file at `path` to `copy`; returns its sha256."""
    digest = hashlib.sha256()
    try:
        with store.open_regular(path, WEIGHTS_EXPECTED) as source, open(copy, "wb") as target:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                target.write(chunk)
    except store.RecordError as err:  # not a regular file
        raise WeightsError(str(err)) from None
    except OSError as err:
        raise WeightsError(f"cannot read the weights file {path}: {err.strerror or err}") from err
    return digest.hexdigest()


def _check_format(copy: Path, shown: Path) -> None:
    """Refuses what is not a Keras 3 weights file: another format, a `.keras` archive, or a file in the
    legacy HDF5 layout (a whole model with its config, whose layers may hold code, or Keras 2 weights)."""
    import h5py

    with open(copy, "rb") as f:
        head = f.read(len(HDF5_SIGNATURE))
    if head.startswith(ZIP_SIGNATURE):
        raise WeightsError(
            f"{shown} is a zip archive (a .keras model?), not the .weights.h5 file a training writes; "
            "tfmeta loads weights files only"
        )
    if head != HDF5_SIGNATURE:
        raise WeightsError(
            f"{shown} is not an HDF5 file, so not Keras weights; a record must name the .weights.h5 file its "
            "training wrote"
        )
    try:
        with h5py.File(copy, "r") as f:
            model, legacy = "model_config" in f.attrs, "layer_names" in f.attrs or "model_weights" in f
    except Exception as err:  # h5py's errors on a damaged file are of several types
        raise WeightsError(f"{shown} is not a readable HDF5 file ({_reason(err)})") from err
    if model or legacy:
        what = "a whole Keras model (model.save to .h5)" if model else "Keras 2 weights"
        raise WeightsError(
            f"{shown} is {what} in the legacy HDF5 layout, not a .weights.h5 file a tfmeta training writes; "
            "tfmeta never loads model files, whose layers can hold code"
        )


def _reason(err: Exception) -> str:
    """The informative line of an exception's message (Keras opens some with a line ending in ':')."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    useful = [line for line in lines if not line.endswith(":")] or lines
    return useful[0][:300] if useful else type(err).__name__


def check_writable(folder: Path, what: str, option: str) -> None:
    """Checks that a file can be created, written and removed in `folder` (or, while it does not exist,
    in the nearest existing folder above it, where it will be made), so that a run that could not keep
    its results fails before it trains, not after.

    Args:
        what: the folder's role in messages ("results folder").
        option: the command-line option that names another folder.

    Raises:
        NotWritableError: naming the folder, the reason and the way out.
    """
    folder = Path(folder)
    try:
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not existing.is_dir():
            where = "is" if existing == folder else f"would be made under {existing}, which is"
            raise NotWritableError(f"the {what} {folder} {where} a file; name a folder with {option}")
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".tfmeta-write-check-")
        try:
            os.write(fd, bytes(4096))
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except NotWritableError:
        raise
    except OSError as err:
        raise NotWritableError(
            f"the {what} {folder} cannot be written ({err.strerror or err}); nothing was trained: free "
            f"space there, make it writable, or name another folder with {option}"
        ) from err


def load_trained(model: keras.Model, run_dir: Path, every: int) -> Trained:
    """Loads finished weights into a built model; `every` is the validation interval of its curve.

    Raises:
        WeightsError: when the weights file is not the one the training's summary names by sha256.
    """
    summary = json.loads((run_dir / SUMMARY).read_text())
    load_weights(model, run_dir / WEIGHTS, summary.get("weights_sha256"))
    return Trained(summary, True, read_curve(run_dir, every))


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

"""`tfmeta meta-train-optimizer`: meta-trains the learned optimizers of an optimizer-track spec."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tfmeta.config.optimizer_specs import OptimizerTrack


def run_dir(runs_dir: str | os.PathLike, track: OptimizerTrack, profile: str, learned: str) -> Path:
    """Where one learned optimizer of a spec and profile is meta-trained."""
    return Path(runs_dir) / "optimizers" / track.name / profile / learned


def meta_train(
    track: OptimizerTrack,
    learned: str,
    profile: str,
    runs_dir: str | os.PathLike = "runs",
    data_dir=None,
    cache_dir=None,
    install: bool = False,
    verbose: bool = True,
) -> Path:
    """Meta-trains (or resumes) one learned optimizer; returns its final `.weights.h5`.

    Args:
        install: also copy the weights and the meta-training summary into
            `tfmeta/optimizers/pretrained/` as `<learned>.weights.h5` and `<learned>.json`.
    """
    from tfmeta import tasks
    from tfmeta.optimizers.lstm_optimizer import PRETRAINED_DIR
    from tfmeta.optimizers.meta_train import FINAL, MetaTrainConfig, MetaTrainer

    family = tasks.get(track.data["learned"][learned]["family"], data_dir, cache_dir)
    config = MetaTrainConfig(**track.meta_train_config(learned, profile))
    directory = run_dir(runs_dir, track, profile, learned)
    MetaTrainer(family, config, directory).train(verbose=verbose)
    if install:
        PRETRAINED_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(directory / FINAL, PRETRAINED_DIR / f"{learned}.weights.h5")
        shutil.copyfile(directory / "curve.json", PRETRAINED_DIR / f"{learned}.json")
    return directory / FINAL

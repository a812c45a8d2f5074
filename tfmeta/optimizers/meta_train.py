"""Meta-training of the LSTM optimizer: truncated back-propagation through time, Adam outside.

Andrychowicz et al. 2016 (https://arxiv.org/abs/1606.04474): each meta-iteration samples a batch of
fresh problems and optimizes them for `horizon` steps with the learned optimizer; every `unroll` steps
the summed optimizee losses are back-propagated into the optimizer's weights and Adam takes a step
(truncated BPTT). Meta-gradients are clipped by global norm. A non-finite meta-loss or meta-gradient is
never applied: the run is abandoned, the last good weights are restored, and the event is reported on
screen and in `nan_report.json`; too many such events stop training with that report.

A run folder holds:
    checkpoint/       meta.weights.h5, outer.npz (Adam's state), state.json (iteration, curve, ...)
    tensorboard/      meta-loss per iteration
    meta.weights.h5   the final weights; curve.json the meta-loss per iteration; nan_report.json
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfmeta.optimizers.coordinatewise import CoordinatewiseLSTM
from tfmeta.optimizers.preprocessing import num_features
from tfmeta.optimizers.unroll import flatten, unrolled_meta_loss
from tfmeta.tasks.base import TaskFamily

FINAL = "meta.weights.h5"


@dataclass
class MetaTrainConfig:
    """Hyper-parameters of meta-training (the paper's values are the defaults)."""

    iterations: int = 100
    horizon: int = 100
    unroll: int = 20
    meta_batch: int = 8
    learning_rate: float = 1e-3
    clip_norm: float = 10.0
    second_order: bool = False
    units: int = 20
    num_layers: int = 2
    preprocess_p: float = 10.0
    output_scale: float = 0.1
    extra_inputs: list[str] = field(default_factory=list)
    seed: int = 0
    checkpoint_every: int = 10
    max_bad_runs: int = 10

    def network(self) -> CoordinatewiseLSTM:
        return CoordinatewiseLSTM(
            self.units,
            self.num_layers,
            num_features(tuple(self.extra_inputs)),
            1,
            self.output_scale,
            seed=self.seed,
        )


class MetaTrainer:
    """Meta-trains a `CoordinatewiseLSTM` on problems of one task family, resumable from `run_dir`."""

    def __init__(self, family: TaskFamily, config: MetaTrainConfig, run_dir: str | os.PathLike):
        self.family, self.config, self.run_dir = family, config, Path(run_dir)
        self.network = config.network()
        self.outer = keras.optimizers.Adam(config.learning_rate)
        self.outer.build(self.network.trainable_variables)
        self.curve: list[dict] = []
        self.bad_runs: list[dict] = []
        self.iteration, self.seconds = 0, 0.0
        self._truncation = tf.function(self._truncation_eager, reduce_retracing=True, autograph=False)

    def _truncation_eager(self, params, state, data, start):
        c = self.config

        def loss_fn(p, step):
            return self.family.loss(p, data, step)

        with tf.GradientTape() as tape:
            meta_loss, params, state = unrolled_meta_loss(
                self.network,
                loss_fn,
                params,
                state,
                start,
                c.unroll,
                c.preprocess_p,
                c.second_order,
                tuple(c.extra_inputs),
            )
        grads = tape.gradient(meta_loss, self.network.trainable_variables)
        norm = tf.linalg.global_norm(grads)
        grads, _ = tf.clip_by_global_norm(grads, c.clip_norm, use_norm=norm)
        params = [tf.stop_gradient(p) for p in params]
        state = [tf.stop_gradient(s) for s in state]
        return meta_loss, norm, grads, params, state

    def run_once(self) -> float | None:
        """One meta-iteration (a full `horizon`-step run); its mean meta-loss per step, None if abandoned."""
        c = self.config
        problems = self.family.sample(
            c.meta_batch, c.seed * 1_000_003 + self.iteration, "train", c.horizon + 1
        )
        params = problems.params
        state = self.network.initial_state(int(tf.size(flatten(params))))
        good = [v.numpy() for v in self.network.trainable_variables]
        total = 0.0
        for start in range(0, c.horizon, c.unroll):
            meta_loss, norm, grads, params, state = self._truncation(
                params, state, problems.data, tf.constant(start)
            )
            if not (np.isfinite(float(meta_loss)) and np.isfinite(float(norm))):
                self._abandon(good, start, float(meta_loss), float(norm))
                return None
            self.outer.apply_gradients(zip(grads, self.network.trainable_variables, strict=True))
            total += float(meta_loss)
        return total / c.horizon

    def _abandon(self, good: list[np.ndarray], start: int, meta_loss: float, norm: float) -> None:
        for variable, value in zip(self.network.trainable_variables, good, strict=True):
            variable.assign(value)
        event = {
            "iteration": self.iteration,
            "step": start,
            "meta_loss": repr(meta_loss),
            "grad_norm": repr(norm),
        }
        self.bad_runs.append(event)
        _write_json(self.run_dir / "nan_report.json", {"events": self.bad_runs})
        print(
            f"\nmeta-train: non-finite meta-loss {meta_loss} or meta-gradient norm {norm} at iteration "
            f"{self.iteration}, unroll starting at step {start}; run abandoned, last good weights restored "
            f"(report: {self.run_dir / 'nan_report.json'})"
        )
        if len(self.bad_runs) > self.config.max_bad_runs:
            self.network.save_weights(self.run_dir / FINAL)
            raise FloatingPointError(
                f"meta-training diverged: {len(self.bad_runs)} runs had non-finite losses or gradients; the "
                f"last good weights are in {self.run_dir / FINAL}; see {self.run_dir / 'nan_report.json'}"
            )

    def train(self, verbose: bool = True) -> list[dict]:
        """Meta-trains up to `config.iterations`, resuming from the last checkpoint; returns the curve."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.restore()
        writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard"))
        bar = keras.utils.Progbar(self.config.iterations, verbose=1 if verbose else 0)
        bar.update(self.iteration)
        while self.iteration < self.config.iterations:
            began = time.perf_counter()
            loss = self.run_once()
            self.seconds += time.perf_counter() - began
            if loss is not None:
                self.curve.append({"iteration": self.iteration, "meta_loss": loss, "seconds": self.seconds})
                with writer.as_default():
                    tf.summary.scalar("meta_loss", loss, step=self.iteration)
            self.iteration += 1
            bar.update(self.iteration, [("meta_loss", loss if loss is not None else float("nan"))])
            if self.iteration % self.config.checkpoint_every == 0 or self.iteration == self.config.iterations:
                self.checkpoint()
        _atomic_save_weights(self.network, self.run_dir / FINAL)
        _write_json(self.run_dir / "curve.json", self.summary())
        return self.curve

    def summary(self) -> dict:
        return {
            "config": asdict(self.config),
            "family": self.family.config(),
            "curve": self.curve,
            "seconds": self.seconds,
            "bad_runs": self.bad_runs,
        }

    def checkpoint(self) -> None:
        directory = self.run_dir / "checkpoint"
        directory.mkdir(parents=True, exist_ok=True)
        _atomic_save_weights(self.network, directory / "meta.weights.h5")
        arrays = {f"v{i}": v.numpy() for i, v in enumerate(self.outer.variables)}
        tmp = directory / ".outer.tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, directory / "outer.npz")
        state = {"iteration": self.iteration, **self.summary()}
        _write_json(directory / "state.json", state)

    def restore(self) -> bool:
        """Loads the last checkpoint of `run_dir`, if any; True when training resumes."""
        directory = self.run_dir / "checkpoint"
        if not (directory / "state.json").exists():
            return False
        state = json.loads((directory / "state.json").read_text())
        self.network.load_weights(directory / "meta.weights.h5")
        with np.load(directory / "outer.npz", allow_pickle=False) as arrays:
            for i, variable in enumerate(self.outer.variables):
                variable.assign(arrays[f"v{i}"])
        self.iteration, self.curve = state["iteration"], state["curve"]
        self.seconds, self.bad_runs = state["seconds"], state["bad_runs"]
        return True


def _atomic_save_weights(network: keras.Model, path: Path) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}.weights.h5")
    network.save_weights(tmp)
    os.replace(tmp, path)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)

"""One benchmark run: train (or reuse a finished training), evaluate on the frozen test episodes, record.

Training depends only on the method, its config and the profile's training blocks, so one trained model
serves every test setting of a benchmark: a second `tfmeta run` with another --way/--shot reuses it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shlex
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tfmeta import methods
from tfmeta.bench import provenance, results, spec
from tfmeta.bench import record as record_fields
from tfmeta.data import load_class_sets
from tfmeta.data.episodes import EpisodeKey, frozen_dataset, frozen_episodes, training_dataset

RUNS_DIR = Path("runs")


@dataclass
class RunOptions:
    """What `tfmeta run` was asked to do."""

    spec: str | Path
    method: str
    profile: str = "standard"
    way: int | None = None
    shot: int | None = None
    method_config: dict = field(default_factory=dict)
    data_dir: str | None = None
    cache_dir: str | None = None
    runs_dir: Path = RUNS_DIR
    results_dir: Path = results.RESULTS_DIR
    verbose: str | int = "auto"
    notes: str = ""


@dataclass
class Plan:
    """A run's resolved configuration, before any TensorFlow work."""

    benchmark: spec.Benchmark
    profile: dict
    setting: dict
    train: dict
    validation: dict
    import_path: str

    @property
    def test_key(self) -> EpisodeKey:
        data, test = self.benchmark.data, self.benchmark.data["test"]
        return EpisodeKey(
            data["dataset"],
            data["split"],
            test["part"],
            self.setting["way"],
            self.setting["shot"],
            test["query"],
            self.profile["test_episodes"],
            test["seed"],
        )

    @property
    def validation_key(self) -> EpisodeKey:
        data, v = self.benchmark.data, self.validation
        return EpisodeKey(
            data["dataset"],
            data["split"],
            v["part"],
            v["way"],
            v["shot"],
            v["query"],
            v["episodes"],
            v["seed"],
        )


def plan(options: RunOptions) -> Plan:
    """Validates everything that can be checked without data or TensorFlow.

    Raises:
        spec.SpecError, methods.UnknownMethodError: with the valid choices.
    """
    benchmark = spec.load(options.spec)
    profile = method_profile(benchmark.profile(options.profile), options.method)
    setting = benchmark.setting(options.way, options.shot)
    train, validation = (
        {**block, "shot": setting["shot"] if block["shot"] == "test" else block["shot"]}
        for block in (profile["train"], profile["validation"])
    )
    every = validation.get("every", train["episodes"])
    if train["episodes"] % every:
        raise spec.SpecError(
            f"{benchmark.path}: profiles.{options.profile}: train.episodes ({train['episodes']}) must be a "
            f"multiple of validation.every ({every})"
        )
    return Plan(
        benchmark,
        profile,
        setting,
        train,
        {**validation, "every": every},
        methods.import_path(options.method),
    )


def method_profile(profile: dict, method: str) -> dict:
    """The profile with its `methods` entry for `method` (a per-method training budget) merged in."""
    override = profile.get("methods", {}).get(method, {})
    merged = {key: value for key, value in profile.items() if key != "methods"}
    for block in ("train", "validation", "optimizer"):
        if block in override:
            merged[block] = {**profile[block], **override[block]}
    if "note" in override:
        merged["note"] = override["note"]
    return merged


def training_id(plan: Plan, method_config: dict, analysis_only: tuple[str, ...] = ()) -> str:
    """A short hash of everything training depends on; runs sharing it share one trained model.

    Args:
        analysis_only: method-config keys that only change `analyse` (the method's `analysis_config`),
            left out so that a new analysis of a finished training reuses it.
    """
    data = plan.benchmark.data
    identity = {
        "method": plan.import_path,
        "method_config": {k: v for k, v in method_config.items() if k not in analysis_only},
        "dataset": data["dataset"],
        "split": data["split"],
        "train": plan.train,
        "validation": plan.validation,
        "optimizer": plan.profile["optimizer"],
        "jit_compile": plan.profile.get("jit_compile", False),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def make_optimizer(config: dict):
    import keras

    learning_rate = config["learning_rate"]
    if "decay_every" in config:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, config["decay_every"], config.get("decay_factor", 0.5), staircase=True
        )
    return {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}[
        config["name"]
    ](learning_rate)


def evaluate(model, dataset, labels, verbose) -> tuple[list[float], float, np.ndarray]:
    """Per-episode query accuracy on test episodes, the seconds it took, and the logits.

    Args:
        dataset: the test episodes as a tf.data dataset of (episode, query labels), in order.
        labels: int [episodes, queries], the query labels.

    Returns:
        (per-episode accuracies, seconds, logits [episodes, queries, way]).
    """
    start = time.perf_counter()
    logits = model.predict(dataset, verbose=verbose)
    seconds = time.perf_counter() - start
    logits = logits.reshape(*labels.shape, -1)
    predictions = np.argmax(logits, axis=-1)
    return [float(a) for a in (predictions == labels).mean(axis=1)], seconds, logits


def load_test_set(the_plan: Plan, class_sets: dict, data_dir: str | None):
    """The test set (frozen episodes, or Lake's runs where the spec says `source: lake_runs`) and its
    tf.data dataset."""
    test = the_plan.benchmark.data["test"]
    if test.get("source") == "lake_runs":
        from tfmeta.data.omniglot import lake_runs

        runs = lake_runs.load(data_dir)
        return runs, runs.dataset()
    episodes = frozen_episodes(the_plan.test_key, class_sets[test["part"]], the_plan.benchmark.episodes_dir)
    return episodes, frozen_dataset(episodes, class_sets[test["part"]])


def tune(the_plan: Plan, method, class_sets: dict) -> dict:
    """Lets the method choose its test-time hyperparameters (`method.tune`, e.g. a fine-tuning learning
    rate) on frozen episodes of the test setting drawn from the validation classes; never on the test
    classes: where the spec validates on its test part (Lake's runs), nothing is tuned."""
    if not getattr(method, "tunes", False):
        return {}
    validation, test = the_plan.validation, the_plan.benchmark.data["test"]
    if validation["part"] == test["part"]:
        return {"skipped": f"validation part {validation['part']!r} is the test part; defaults used"}
    # The validation episodes' draw, in the test setting's way and shot.
    key = dataclasses.replace(
        the_plan.validation_key, way=the_plan.setting["way"], shot=the_plan.setting["shot"]
    )
    class_set = class_sets[validation["part"]]
    episodes = frozen_episodes(key, class_set, the_plan.benchmark.episodes_dir)
    print(f"Tuning test-time hyperparameters on {len(episodes)} validation episodes")
    chosen = method.tune(frozen_dataset(episodes, class_set), episodes.query_labels())
    return {"episodes": len(episodes), "episodes_hash": episodes.hash, **chosen}


def run(options: RunOptions) -> tuple[Path, dict]:
    """Trains (or reuses a finished training), evaluates and writes one result record."""
    the_plan = plan(options)
    defaults = the_plan.benchmark.method_defaults(options.method, methods.get(options.method))
    options = RunOptions(**{**vars(options), "method_config": defaults | options.method_config})
    import keras

    from tfmeta.bench import training  # imports Keras and TensorFlow

    # Taken before training, which may outlive edits to the checkout.
    origin = provenance.collect(
        seeds={
            "train": the_plan.train["seed"],
            "validation": the_plan.validation["seed"],
            "test": the_plan.benchmark.data["test"]["seed"],
        },
        accelerators=_accelerators(),
        command=shlex.join(["tfmeta", *sys.argv[1:]]) if sys.argv[0].endswith("tfmeta") else "",
    )

    data = the_plan.benchmark.data
    parts = {the_plan.train["part"], the_plan.validation["part"], data["test"]["part"]}
    class_sets = load_class_sets(data["dataset"], data["split"], parts, options.data_dir, options.cache_dir)
    episodes_dir = the_plan.benchmark.episodes_dir
    test_set, test_data = load_test_set(the_plan, class_sets, options.data_dir)
    val_set = frozen_episodes(the_plan.validation_key, class_sets[the_plan.validation["part"]], episodes_dir)
    val_data = frozen_dataset(val_set, class_sets[the_plan.validation["part"]])

    keras.utils.set_random_seed(the_plan.train["seed"])  # weight initialisation, like the episode stream
    method = methods.get(options.method)(**options.method_config)
    method.compile(
        optimizer=make_optimizer(the_plan.profile["optimizer"]),
        jit_compile=the_plan.profile.get("jit_compile", False),
        **method.compile_arguments(),
    )
    training.build(method, val_data)
    method_name = options.method.rpartition(":")[2] if ":" in options.method else options.method
    run_dir = (
        Path(options.runs_dir)
        / the_plan.benchmark.name
        / _safe(method_name)
        / training_id(the_plan, record_fields.method_config(method), getattr(method, "analysis_config", ()))
    )

    reused = training.is_trained(run_dir)
    train = the_plan.train
    every = the_plan.validation["every"]
    if reused:
        print(f"Reusing the finished training in {run_dir}")
        summary = training.load_trained(method, run_dir)
    else:
        start_epoch = len(training.read_curve(run_dir, every))
        if start_epoch:
            print(f"Resuming the training in {run_dir} after {start_epoch * every} episodes")
        train_data = training_dataset(
            class_sets[train["part"]],
            train["way"],
            train["shot"],
            train["query"],
            seed=[train["seed"], start_epoch],
            with_classes=getattr(method, "uses_class_ids", False),
        )
        summary = training.fit(
            method, train_data, val_data, train["episodes"], every, run_dir, origin, options.verbose
        )

    tuning = tune(the_plan, method, class_sets)
    labels = test_set.query_labels()
    per_episode, test_seconds, logits = evaluate(method, test_data, labels, options.verbose)
    record = record_fields.build(
        the_plan,
        options,
        method,
        method_name=method_name,
        per_episode=per_episode,
        episodes_hash=test_set.hash,
        summary=summary,
        test_seconds=test_seconds,
        reused=reused,
        curve=training.read_curve(run_dir, every),
        origin=origin,
    )
    record.update(record_fields.extra_results(the_plan, method, logits, labels))
    analysis = method.analyse(test_data, labels)
    if tuning:
        analysis = {"tuning": tuning, **analysis}
    if analysis:
        record["analysis"] = analysis
    notes = " ".join(n for n in (the_plan.profile.get("note", ""), options.notes) if n)
    if notes:
        record["notes"] = notes
    created = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    setting = f"{the_plan.setting['way']}w{the_plan.setting['shot']}s"
    filename = f"{the_plan.benchmark.name}-{_safe(method_name)}-{setting}-{options.profile}-{created}.json"
    path = results.write(record, options.results_dir, filename)
    return path, record


def _accelerators() -> list[str]:
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices() if device.device_type != "CPU"]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)

"""One benchmark run, as a pipeline of named steps: plan -> data -> method -> train -> tune -> evaluate ->
record.

Training depends only on the method, its config and the profile's training blocks, so one trained model
serves every test setting of a benchmark: a second `tfmeta run` with another --way/--shot reuses it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from pathlib import Path

import tensorflow as tf

from tfmeta import methods
from tfmeta.core import locks
from tfmeta.data.pipelines import training_dataset
from tfmeta.harness import evaluation, inner_curves, provenance, recording, reproduction, training
from tfmeta.harness.building import RunData, build_method, config_error, load_data
from tfmeta.harness.planning import Plan, RunOptions, plan, training_id
from tfmeta.records import few_shot

__all__ = ["RunOptions", "plan", "run"]


def run(options: RunOptions) -> tuple[Path, dict]:
    """Trains (or reuses a finished training), evaluates and writes one result record.

    Raises:
        training.NotWritableError: before anything is trained, when the runs or results folder cannot be
            written; after, when the record cannot be written, naming the folder that keeps the finished
            training for the same command to reuse.
    """
    training.check_writable(options.results_dir, "results folder", "--results-dir")
    training.check_writable(options.runs_dir, "runs folder", "--runs-dir")
    record, run_dir = _make_record(options)
    try:
        return few_shot.write_new(record, options.results_dir), record
    except FileExistsError:
        raise
    except OSError as err:
        raise training.NotWritableError(
            f"the record could not be written in {options.results_dir} ({err.strerror or err}); the finished "
            f"training is kept in {run_dir}: free space there or make it writable, then run the same command "
            "again, which reuses that training and writes the record"
        ) from err


def make_record(options: RunOptions) -> dict:
    """Trains (or reuses a finished training), evaluates, and returns the result record unwritten."""
    return _make_record(options)[0]


def _make_record(options: RunOptions) -> tuple[dict, Path]:
    """`make_record`, and the folder of the training the record comes from."""
    the_plan = plan(options)
    method_class = methods.get(options.method)
    defaults = the_plan.benchmark.method_defaults(
        options.method, method_class, the_plan.profile_name, also=inner_curves.config_keys(method_class)
    )
    options = replace(options, method_config=defaults | options.method_config)
    # Before training, which may outlive edits to the checkout or to the method's file.
    origin = _origin(the_plan, options.command, method_class)
    data = load_data(the_plan, options)
    method = build_method(the_plan, method_class, options.method_config, data)
    try:
        curves = inner_curves.analysis_for(method, options.method_config)
    except ValueError as err:
        raise config_error(the_plan, method_class, options.method_config, err) from err
    run_dir = run_folder(the_plan, options, method)
    trained = train(the_plan, options, method, data, run_dir, origin)
    if curves is not None:
        curves.load_start(
            functools.partial(
                reproduction.load_record,
                sources=reproduction.Sources(
                    directories=reproduction.weights_dirs([options.runs_dir]),
                    data_dir=options.data_dir,
                    cache_dir=options.cache_dir,
                    allow_imports=_own_module(options.method),
                ),
            )
        )
    tuning = evaluation.tune(the_plan, method, data.class_sets, run_dir=run_dir, curves=curves)
    labels = data.test_set.query_labels()
    test_classes = data.class_sets[the_plan.benchmark.data["test"]["part"]]
    evaluated = evaluation.evaluate(
        method, data.test_data, labels, options.verbose, data.test_set, test_classes
    )
    record = recording.build(
        the_plan, method, options.method_config, trained, evaluated, data.test_set.hash, origin,
        analysis_config=curves.config if curves is not None else {},
    )  # fmt: skip
    record.update(recording.extra_results(the_plan, method, evaluated.logits, labels))
    analysis = curves.analyse(data.test_data, labels) if curves is not None else {}
    analysis |= method.analyse(data.test_data, labels)
    if tuning:
        analysis = {"tuning": tuning, **analysis}
    if analysis:
        record["analysis"] = analysis
    notes = " ".join(n for n in (the_plan.profile.get("note", ""), options.notes) if n)
    if notes:
        record["notes"] = notes
    return record, run_dir


def _own_module(name: str) -> tuple[str, ...]:
    """The module of a method the command line names by import path: a record of it that the run loads
    (a `curve_start`) may import it, since the user named it. Registered methods need no allowance."""
    return (name.partition(":")[0],) if ":" in name else ()


def run_folder(the_plan: Plan, options: RunOptions, method) -> Path:
    """The training's folder: one per method and `training_id`, shared by every test setting."""
    identity = training_id(the_plan, recording.method_config(method), method.analysis_config)
    return Path(options.runs_dir) / the_plan.benchmark.name / _safe(the_plan.method_name) / identity


def train(the_plan: Plan, options: RunOptions, method, data: RunData, run_dir: Path, origin: dict):
    """Meta-trains the method, resuming an interrupted training, or loads a finished one; one process at
    a time per training folder."""
    refusal = f"another tfmeta process is training in {run_dir}; run this again when it has finished"
    with locks.hold(run_dir / ".training.lock", refusal):
        return _train(the_plan, options, method, data, run_dir, origin)


def _train(the_plan: Plan, options: RunOptions, method, data: RunData, run_dir: Path, origin: dict):
    every = the_plan.validation["every"]
    if training.is_trained(run_dir):
        print(f"Reusing the finished training in {run_dir}")
        return training.load_trained(method, run_dir, every)
    start = training.episodes_done(run_dir, every)
    if start:
        print(f"Resuming the training in {run_dir} after {start} episodes")
    block = the_plan.train
    stream = training_dataset(
        data.class_sets[block["part"]],
        block["way"],
        block["shot"],
        block["query"],
        seed=[block["seed"], 0],  # the stream of every record so far
        with_classes=method.uses_class_ids,
        start=start,  # a resumed run goes on with the episodes it would have drawn
    )
    meta_batch = method.meta_batch
    if meta_batch > 1:  # tasks per meta-update arrive together; the budget still counts episodes
        stream = stream.batch(meta_batch, drop_remainder=True)
    return training.fit(
        method, stream, data.validation_data, block["episodes"], every, run_dir, origin, options.verbose,
        episodes_per_step=meta_batch,
    )  # fmt: skip


def _origin(the_plan: Plan, command: str | None, method_class: type) -> dict:
    accelerators = [d.name for d in tf.config.list_physical_devices() if d.device_type != "CPU"]
    if command is None:
        command = provenance.command_line()
    source = provenance.method_source(method_class, the_plan.import_path)
    return provenance.collect(the_plan.seeds, accelerators, command, source)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)

"""The benchmark harness end to end on real Omniglot: smoke training, frozen episodes, records, resume."""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from tfmeta.core import registries
from tfmeta.data.pipelines import frozen_dataset, training_dataset
from tfmeta.harness import training
from tfmeta.records import few_shot

# Measured: the smoke profile (60 training episodes) reaches 56-59% on its 20 test episodes, where chance
# is 20% and an untrained ProtoNet scores about 40%.
SMOKE_MIN_ACCURACY = 0.45
# Any method that learns at all clears this on 5-way smoke episodes (chance: 20%).
CONTRACT_MIN_ACCURACY = 0.3


@pytest.fixture(scope="module")
def smoke_runs(smoke_run):
    """Records of the built-in ProtoNet and an external method, run through the same harness."""
    return {method: smoke_run(method) for method in ("protonet", "tests.external_method:CosinePrototypes")}


def test_smoke_training_learns(smoke_runs):
    records = smoke_runs
    path, record = records["protonet"]
    assert record["accuracy"]["mean"] > SMOKE_MIN_ACCURACY
    assert record["curve"][-1]["val_accuracy"] > 0.3
    assert json.loads(path.read_text()) == record


def test_a_record_names_its_trained_weights_by_hash(smoke_runs):
    import hashlib

    path, record = smoke_runs["protonet"]
    runs = path.parents[1] / "runs"  # the smoke runs' shared folders (see conftest.smoke_run)
    hashes = {hashlib.sha256(p.read_bytes()).hexdigest() for p in runs.rglob(training.WEIGHTS)}
    assert record["weights"]["sha256"] in hashes


def test_verify_reproduces_a_record_and_names_the_first_forged_episode(
    smoke_runs, data_dir, cache_dir, tmp_path
):
    from tfmeta.harness import reproduction
    from tfmeta.records import few_shot, trust

    path, record = smoke_runs["protonet"]
    runs = [path.parents[1] / "runs"]
    sources = reproduction.Sources(runs, str(data_dir), str(cache_dir))
    done = reproduction.verify(path, sources)
    assert done.episodes == len(record["per_episode"])
    forged = json.loads(path.read_text())
    index = next(i for i, a in enumerate(forged["per_episode"]) if a < 1.0)
    forged["per_episode"][index] = 1.0
    forged["accuracy"] = few_shot.summarize(forged["per_episode"])
    forged_path = few_shot.write(forged, tmp_path, "forged.json")
    with pytest.raises(reproduction.EpisodeDiffers, match=rf"forged.json: episode {index} scores "):
        reproduction.verify(forged_path, sources)
    from tfmeta import cli

    code = cli.main([
        "verify", "--mark", str(forged_path), "--weights-dir", str(runs[0]),
        "--data-dir", str(data_dir), "--cache-dir", str(cache_dir),
    ])  # fmt: skip
    assert code == 1 and trust.label(forged_path, forged) == "differs on 1 machine"
    trust.mark(forged_path, 20, record["weights"]["sha256"], "test")
    forged_path.write_text(forged_path.read_text().replace('"profile"', '"profile" '))  # edited afterwards
    assert not trust.is_verified(forged_path, trust.load(tmp_path))


def test_two_methods_see_the_same_test_episodes(smoke_runs):
    records = smoke_runs
    (_, first), (_, second) = records.values()
    assert first["episodes_hash"] == second["episodes_hash"]
    assert first["benchmark"] == second["benchmark"]
    assert first["method"]["import_path"] != second["method"]["import_path"]
    assert second["method"]["name"] == "CosinePrototypes"


def test_record_is_complete_and_valid(smoke_runs):
    records = smoke_runs
    _, record = records["protonet"]
    few_shot.check(record)
    assert record["accuracy"]["n_episodes"] == len(record["per_episode"]) == 20
    assert record["params"] == 112_448  # Conv-4 with 64 filters on 1-channel input
    assert record["provenance"]["packages"]["keras"].startswith("3.")
    assert record["timing"]["train_seconds"] > 0 and not record["timing"]["reused_training"]
    assert [point["episode"] for point in record["curve"]] == [30, 60]


def test_another_setting_reuses_the_finished_training(smoke_runs, smoke_run):
    _, record = smoke_run("protonet", way=20, shot=5)
    first = smoke_runs["protonet"][1]
    assert record["timing"]["reused_training"]
    assert record["timing"]["train_seconds"] == first["timing"]["train_seconds"]
    assert record["episodes_hash"] != first["episodes_hash"]
    assert (record["benchmark"]["way"], record["benchmark"]["shot"]) == (20, 5)


class _InterruptAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_a_run_interrupted_between_validations_resumes_to_the_uninterrupted_weights(class_sets, tmp_path):
    """Checkpoints come every few episodes, not every validation: stopped 4 episodes into a 6-episode
    validation interval, the run loses nothing, goes on with episode 4 of the same stream, and ends with
    the weights of a run that was never stopped."""
    from tfmeta.core.episode_index import EpisodeKey
    from tfmeta.data.episodes import FrozenEpisodes
    from tfmeta.methods.protonet import PrototypicalNetwork

    val = FrozenEpisodes.sample(EpisodeKey("omniglot", "vinyals", "val", 5, 1, 2, 2, 0), class_sets["val"])
    val_data = frozen_dataset(val, class_sets["val"])

    def train(run_dir, interrupt_at=None):
        keras.utils.set_random_seed(7)
        model = PrototypicalNetwork(filters=8)
        model.compile(optimizer="adam", **model.compile_arguments())
        start = training.episodes_done(run_dir, 6)
        stream = training_dataset(class_sets["train"], 5, 1, 2, seed=[3, 0], start=start)
        extra = (_InterruptAt(interrupt_at),) if interrupt_at is not None else ()
        trained = training.fit(
            model, stream, val_data, 12, 6, run_dir, {}, verbose=0, callbacks=extra, checkpoint_every=2
        )
        return model, trained

    whole, whole_run = train(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "stopped", interrupt_at=2)  # after two 2-episode checkpoints
    assert training.episodes_done(tmp_path / "stopped", 6) == 4
    assert training.read_curve(tmp_path / "stopped", 6) == []  # no validation yet, yet 4 episodes kept
    resumed, resumed_run = train(tmp_path / "stopped")
    assert resumed_run.summary["resumed_at"] == [4]  # and the record says so (timing.resumed_at_episodes)
    assert int(resumed.optimizer.iterations.numpy()) == 12  # 4 restored + 8 new steps, not 12 new
    assert [p["episode"] for p in resumed_run.curve] == [p["episode"] for p in whole_run.curve] == [6, 12]
    assert resumed_run.curve == training.read_curve(tmp_path / "stopped", 6) and not resumed_run.reused
    assert np.all(np.diff([p["seconds"] for p in resumed_run.curve]) > 0)
    assert training.is_trained(tmp_path / "stopped")
    for mine, theirs in zip(resumed.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    assert [p["val_accuracy"] for p in resumed_run.curve] == pytest.approx(
        [p["val_accuracy"] for p in whole_run.curve], abs=1e-6
    )


@pytest.mark.parametrize("name", registries.method_names())
def test_every_registered_method_runs_the_smoke_profile_and_learns(name, smoke_run):
    """The shared contract: any registered method trains, evaluates and records through the harness."""
    path, record = smoke_run(name)
    few_shot.check(json.loads(path.read_text()))
    assert record["method"]["name"] == name
    assert record["accuracy"]["mean"] > CONTRACT_MIN_ACCURACY


def test_a_training_folder_in_use_is_refused_naming_its_holder(tmp_path):
    """Two identical runs at once: the second is refused before it touches the folder."""
    import os

    from tfmeta.core import locks
    from tfmeta.harness import pipeline

    with locks.hold(tmp_path / ".training.lock", "the first run"):
        with pytest.raises(locks.LockedError) as err:
            pipeline.train(None, None, None, None, tmp_path, {})
    message = str(err.value)
    assert message.startswith(f"another tfmeta process is training in {tmp_path}; run this again when")
    assert f"held by pid {os.getpid()} on " in message
    assert sorted(p.name for p in tmp_path.iterdir()) == [".training.lock"]


def test_a_dataset_cache_being_prepared_makes_the_next_preparer_wait(tmp_path):
    """Runs of a sweep start together on a fresh cache: the second preparer waits for the first's lock
    instead of racing it into the same folder (two concurrent Omniglot preparations failed on a rename)."""
    import subprocess
    import sys
    import time

    from tfmeta.core import locks

    lock, log = tmp_path / ".prepare.lock", tmp_path / "log"
    waiter = (
        "import sys, pathlib; from tfmeta.core import locks\n"
        "with locks.wait_for(pathlib.Path(sys.argv[1])):\n"
        "    open(sys.argv[2], 'a').write('second\\n')\n"
    )
    with locks.wait_for(lock):
        second = subprocess.Popen([sys.executable, "-c", waiter, str(lock), str(log)])
        time.sleep(1.0)
        assert second.poll() is None and not log.exists()  # still waiting
        log.write_text("first\n")
    assert second.wait(timeout=30) == 0
    assert log.read_text() == "first\nsecond\n"


def test_a_resumed_stream_draws_the_episodes_of_the_uninterrupted_one(class_sets):
    """Resuming after k episodes goes on with episode k of the same stream, not a reseeded one."""
    from tfmeta.data.pipelines import training_dataset

    whole = list(training_dataset(class_sets["train"], 5, 1, 2, seed=[3, 0]).take(7))
    resumed = list(training_dataset(class_sets["train"], 5, 1, 2, seed=[3, 0], start=4).take(3))
    for (episode, labels), (again, labels_again) in zip(whole[4:], resumed, strict=True):
        np.testing.assert_array_equal(labels, labels_again)
        np.testing.assert_array_equal(episode["query_images"], again["query_images"])


def test_a_block_larger_than_its_part_is_named_before_any_work(class_sets, tmp_path):
    from tfmeta.config import specs
    from tfmeta.harness import planning
    from tfmeta.records import locations

    spec = tmp_path / "omniglot.yaml"
    spec.write_text(
        (locations.benchmarks_dir() / "omniglot.yaml")
        .read_text()
        .replace(
            "train: {part: train, way: 5, shot: 1, query: 5, episodes: 60",
            "train: {part: train, way: 5, shot: 1, query: 25, episodes: 60",
        )
    )  # within the size caps, but 26 examples per class where the part holds 20
    the_plan = planning.plan(planning.RunOptions(spec=spec, method="protonet", profile="smoke"))
    with pytest.raises(
        specs.SpecError,
        match=r"train episodes of 5-way 1-shot 25-query need 5 classes of 26 examples, .* has \d+ classes "
        r"of 20",
    ):
        the_plan.check_fits(class_sets)


def test_learning_rate_decay_counts_episodes_whatever_the_meta_batch():
    """`decay_every: 8000` halves the rate after 8,000 episodes: 8,000 one-task updates, or 2,000 updates
    of 4 tasks, so a meta-batch variant decays where the one-task entry it is compared with does."""
    block = {"name": "adam", "learning_rate": 1e-3, "decay_every": 8000, "decay_factor": 0.5}
    one, four = training.make_optimizer(block), training.make_optimizer(block, episodes_per_update=4)
    assert float(one.learning_rate) == pytest.approx(1e-3)
    assert float(one._learning_rate(7999)) == pytest.approx(1e-3) and float(
        one._learning_rate(8000)
    ) == pytest.approx(5e-4)
    assert float(four._learning_rate(1999)) == pytest.approx(1e-3) and float(
        four._learning_rate(2000)
    ) == pytest.approx(5e-4)


def test_a_records_command_leaves_out_where_files_are_kept():
    """The command a record keeps names what ran, not one machine's folders: it runs as is elsewhere."""
    from tfmeta.harness.provenance import recorded_command

    argv = ["run", "omniglot", "--method", "meta_lstm", "--runs-dir", "/home/me/runs", "--seed", "2"]
    argv += ["--results-dir=/home/me/results", "--config", 'curve_baselines=["sgd"]', "--data-dir", "d"]
    assert recorded_command(argv) == (
        "tfmeta run omniglot --method meta_lstm --seed 2 --config 'curve_baselines=[\"sgd\"]'"
    )


def test_a_failed_verification_says_when_the_records_cpu_had_other_instruction_sets(monkeypatch):
    """Kernels are chosen by instruction set, so a record made on another CPU may round an episode on the
    edge differently: the message says so when the record's CPU is known to differ or is not named."""
    from tfmeta.harness import provenance, reproduction

    here = {"cpu": "AMD EPYC", "simd": ["avx", "avx2", "fma", "avx512f"]}
    monkeypatch.setattr(provenance, "hardware", lambda accelerators: here)
    same = {"provenance": {"hardware": {"simd": ["avx", "avx2", "fma", "avx512f"]}}}
    older = {"provenance": {"hardware": {"simd": ["avx", "avx2", "fma"]}}}
    unnamed = {"provenance": {"hardware": {"cpu": "AMD EPYC"}}}
    assert reproduction._cpu_difference(same) == ""
    assert "made on a CPU with avx, avx2, fma, this one has avx, avx2, fma, avx512f" in (
        reproduction._cpu_difference(older)
    )
    assert "does not name its CPU's instruction sets" in reproduction._cpu_difference(unnamed)


def test_hardware_names_the_cpus_family_and_instruction_sets():
    from tfmeta.harness import provenance

    machine = provenance.hardware([])
    if Path("/proc/cpuinfo").is_file():
        assert re.fullmatch(r"\S+ family \d+ model \d+", machine["cpu_id"])
        assert set(machine["simd"]) <= set(provenance.SIMD)


# Kept byte for byte, location options and all (superseded: the curve analysis was made again from the later
# training of seed 1): here it no longer re-evaluates to the same 1,000 episodes (episode 649 differs, with
# this checkout's code and with the commit that made it), so an edited copy could not be verified again.
KEEPS_ITS_LOCATION_OPTIONS = {"omniglot-meta_lstm-5w1s-standard-seed1-20261203T113015Z.json"}


def test_no_committed_record_keeps_a_machines_paths():
    """Every command a committed record keeps (the record's and its training's) is as `recorded_command`
    keeps it (no location options), and no pretrained-weights setting is an absolute path."""
    import shlex

    from tests.records import REPO
    from tfmeta.harness.provenance import recorded_command

    def strings(node, key):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from [v] if k == key and isinstance(v, str) else strings(v, key)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v, key)

    paths = sorted((REPO / "leaderboard" / "results").rglob("*.json"))
    commands = 0
    for path in (p for p in paths if p.name not in KEEPS_ITS_LOCATION_OPTIONS):
        record = json.loads(path.read_text())
        for command in filter(None, strings(record, "command")):  # empty: trained inside a sweep
            commands += 1
            assert recorded_command(shlex.split(command)[1:]) == command, path.name
        assert not any(p.startswith("/") for p in strings(record, "pretrained")), path.name
    assert len(paths) > 200 and commands > 100
    assert KEEPS_ITS_LOCATION_OPTIONS <= {path.name for path in paths}


def test_the_command_line_takes_no_abbreviated_options(capsys):
    """An abbreviation (`--runs` for `--runs-dir`) would slip a path past `recorded_command`'s filter."""
    from tfmeta.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "omniglot", "--method", "protonet", "--runs", "/home/me/runs"])
    assert "unrecognized arguments: --runs" in capsys.readouterr().err
    args = build_parser().parse_args(["run", "omniglot", "--method", "protonet", "--runs-dir", "r"])
    assert str(args.runs_dir) == "r"

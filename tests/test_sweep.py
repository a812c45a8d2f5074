"""`tfmeta sweep`: validation before any run, dry runs, and real Ray execution on loopback clusters."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tfmeta.config import specs, sweeps
from tfmeta.core import locks
from tfmeta.records import few_shot

SMOKE = textwrap.dedent(
    """\
    name: two
    profile: smoke
    seeds: [0, 1]
    entries:
      - benchmark: omniglot
        settings: [{way: 5, shot: 1}]
        methods:
          protonet: {}
    """
)


def write(tmp_path, text, name="sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("protonet: {}", "protonett: {}", r"sweep.yaml:8: entries.0.methods.protonett: unknown method 'protonett'; valid names: .*protonet"),  # noqa: E501
        ("benchmark: omniglot", "benchmark: omniglott", r"sweep.yaml:5: entries.0.benchmark: unknown benchmark 'omniglott'; valid: .*omniglot"),  # noqa: E501
        ("{way: 5, shot: 1}", "{way: 7, shot: 1}", r"sweep.yaml:6: entries.0.settings: omniglot has no 7-way 1-shot setting; valid: 5-way 1-shot"),  # noqa: E501
        ("profile: smoke", "profile: smokey", r"sweep.yaml:2: profile: .*unknown profile 'smokey'; valid profiles: smoke, quick, standard, trainval60, paper"),  # noqa: E501
        ("seeds: [0, 1]", "seeds: [0, -1]", r"sweep.yaml:3: seeds.1: -1 is less than the minimum of 0"),
    ],
)  # fmt: skip
def test_a_bad_sweep_is_refused_whole_with_file_line_and_valid_names(tmp_path, old, new, message):
    with pytest.raises(specs.SpecError, match=message):
        sweeps.load(write(tmp_path, SMOKE.replace(old, new)))


def test_the_shipped_sweeps_expand():
    standard = sweeps.load("standard")
    labels = {t.label for t in standard.trainings}
    assert {
        "omniglot/protonet/seed2",
        "omniglot/relation/seed1",
        'omniglot/maml[curve_baselines=["sgd", "momentum", "nag", "adam", "rmsprop", "adagrad"]]/seed0',
    } <= labels  # noqa: E501
    smoke = sweeps.load("smoke")
    assert len(smoke.runs) >= 4 and {t.seed for t in smoke.trainings} == {0, 1}
    fidelity = {t.label for t in sweeps.load("fidelity").trainings}
    assert {
        "omniglot/fomaml[meta_batch=4]/seed2",
        'omniglot/reptile[batch_norm="inductive",inner_batch=10]/seed0',
    } <= fidelity
    assert {t.method for t in sweeps.load("protocol").trainings} == {"protonet", "relation"}


def test_variants_select_the_trainings_of_one_method_config():
    standard = sweeps.load("standard")
    matching = standard.only(
        ["matching", "siamese"], [1], ["omniglot"], variants=["scale=10", "loss=contrastive"]
    )
    assert [t.label for t in matching.trainings] == [
        "omniglot/matching[scale=10]/seed1",
        'omniglot/siamese[loss="contrastive"]/seed1',
    ]
    fidelity = sweeps.load("fidelity").only(["fomaml"], variants=["meta_batch=4,inner_learning_rate=0.1"])
    assert {t.seed for t in fidelity.trainings} == {0, 1, 2}
    assert all(t.config == {"meta_batch": 4, "inner_learning_rate": 0.1} for t in fidelity.trainings)
    with pytest.raises(specs.SpecError, match=r"no training with variant scale=3 .*\{\"scale\": 10\}"):
        standard.only(["matching"], variants=["scale=3"])
    with pytest.raises(specs.SpecError, match="expected KEY=VALUE"):
        standard.only(variants=["scale"])


@pytest.mark.slow
def test_dry_run_marks_existing_records_and_estimates_cpu_hours(capsys, tmp_path):
    """On a results folder holding one committed record (the estimate reads its training time)."""
    import shutil

    from tfmeta import cli
    from tfmeta.records import locations

    committed = sorted(
        (locations.app_dir() / "results").glob("omniglot-protonet-5w1s-standard-seed0-*.json")
    )[0]
    shutil.copy(committed, tmp_path)
    assert cli.main(["sweep", "standard", "--dry-run", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"omniglot/protonet/seed0 5-way 1-shot: done  {committed.name}" in out
    assert "omniglot/protonet/seed1 5-way 1-shot: to run" in out and "about " in out and "CPU-hours" in out
    # Seed 1's run has a shipped record: named and estimated from, but run again in this results folder.
    seed1 = "omniglot/protonet/seed1 5-way 1-shot: to run (shipped: omniglot-protonet-5w1s-standard-seed1-"
    assert seed1 in out
    assert "runs done, " in out and " more with a shipped record (run again here)" in out
    # A sweep none of whose trainings has a record to go by, here or shipped, says so instead of "about
    # 0.0 CPU-hours".
    mine = str(write(tmp_path, SMOKE))
    assert cli.main(["sweep", mine, "--dry-run", "--results-dir", str(tmp_path / "none")]) == 0
    out = capsys.readouterr().out
    assert "no CPU-hour estimate, no record made yet to go by" in out and "0.0 CPU-hours" not in out


@pytest.mark.slow
def test_an_installed_tfmeta_dry_run_counts_and_estimates_from_the_shipped_records(tmp_path):
    """The layout of an installed wheel (the package alone on the path, its `_shipped/` copies of the
    benchmarks and records beside its modules, run from an empty folder): the dry run names the shipped
    records beside the runs and estimates CPU-hours from their training times, where it used to read
    only the empty `./tfmeta-results/` ("0 runs done", no estimate)."""
    import shutil
    import subprocess

    from tests.records import REPO

    package = tmp_path / "site" / "tfmeta"
    shutil.copytree(REPO / "tfmeta", package, ignore=shutil.ignore_patterns("__pycache__", "_shipped"))
    (package / "_shipped" / "leaderboard").mkdir(parents=True)
    (package / "_shipped" / "benchmarks").symlink_to(REPO / "benchmarks")
    (package / "_shipped" / "leaderboard" / "results").symlink_to(REPO / "leaderboard" / "results")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("TFMETA_RESULTS_DIR", "PYTHONPATH")}
    done = subprocess.run(
        [sys.executable, "-m", "tfmeta.cli", "sweep", "standard", "--dry-run", "--method", "protonet"],
        cwd=empty, env={**env, "PYTHONPATH": str(tmp_path / "site")}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert f"results in {empty / 'tfmeta-results'}:" in out, out  # the installed layout's results folder
    assert str(package / "_shipped" / "benchmarks" / "sweeps") in out, out  # and its shipped sweep
    seed0 = "omniglot/protonet/seed0 5-way 1-shot: to run (shipped: omniglot-protonet-5w1s-standard-seed0-"
    assert seed0 in out, out
    summary = out.strip().splitlines()[-1]
    counted = re.search(r"; 0 runs done, (\d+) more with a shipped record \(run again here\), ", summary)
    assert counted and int(counted.group(1)) > 0, summary
    assert re.search(r": about \d+\.\d CPU-hours from the training times of records", summary), summary


@pytest.mark.slow
def test_an_unreproducible_record_is_run_again_and_moves_aside_for_its_successor(capsys, tmp_path):
    """Seed 0's first ProtoNet record (now in superseded/, its clean re-run having landed) names no weights:
    with --redo-unreproducible the dry run marks it to run again, seed 1's (weights, clean tree) stays
    done, and when the re-run's record is written the old one moves to superseded/, still on disk, no
    longer among the folder's records."""
    import shutil

    from tfmeta import cli
    from tfmeta.harness import sweep as engine
    from tfmeta.records import locations

    results = locations.app_dir() / "results"
    old = sorted((results / sweeps.SUPERSEDED).glob("omniglot-protonet-5w1s-standard-2*.json"))[0]
    kept = sorted(results.glob("omniglot-protonet-5w1s-standard-seed1-*.json"))[0]
    for path in (old, kept):
        shutil.copy(path, tmp_path)
    assert (
        cli.main(["sweep", "standard", "--dry-run", "--results-dir", str(tmp_path), "--redo-unreproducible"])
        == 0
    )
    out = capsys.readouterr().out
    assert f"omniglot/protonet/seed0 5-way 1-shot: to run again: {old.name} names no trained weights" in out
    assert f"omniglot/protonet/seed1 5-way 1-shot: done  {kept.name}" in out

    rerun = json.loads(old.read_text())
    rerun["weights"] = {"sha256": "0" * 64}
    rerun["provenance"]["git_dirty"] = False
    rerun["provenance"]["created"] = "2026-12-02T00:00:00+00:00"
    assert sweeps.unreproducible(rerun) is None
    dirty = {**rerun, "provenance": {**rerun["provenance"], "git_dirty": True}}
    assert sweeps.unreproducible(dirty) == "made from a tree with uncommitted changes"

    class Finished:  # what ray.get returns for a finished task: the records, unwritten
        @staticmethod
        def get(ref):
            return [rerun]

    training = sweeps.load("standard").only(["protonet"], [0], ["omniglot"]).trainings[0]
    outcome = engine._collect(Finished, None, training, tmp_path, 1.0, print, {(5, 1): tmp_path / old.name})
    assert outcome.status == "done", outcome.error
    assert (tmp_path / sweeps.SUPERSEDED / old.name).read_bytes() == old.read_bytes()
    names = {p.name for p, _ in few_shot.load_all(tmp_path).records}
    assert old.name not in names and outcome.records[0][0].name in names and kept.name in names


def test_two_variants_whose_records_share_a_name_both_land_with_every_setting(tmp_path):
    """Two variants of one method whose trainings start in the same second give their first setting's
    records the same name: the second is written as `...-2.json`, and its other settings still land (a
    refused record once dropped every record of its training after it)."""
    from tfmeta.harness import sweep as engine

    results = Path(__file__).resolve().parents[1] / "leaderboard" / "results"
    shipped = sorted(results.glob("omniglot-relation-*-standard-seed1-*.json"))
    records = [json.loads(path.read_text()) for path in shipped]
    assert len(records) == 4
    for record in records:
        record["provenance"]["created"] = "2026-12-04T00:00:00+00:00"  # one second for every setting
    variant = [{**r, "config": {**r["config"], "method_config": {"scale": 10}}} for r in records]
    training = sweeps.load("standard").only(["relation"], [1], ["omniglot"]).trainings[0]

    def collect(batch):
        class Finished:
            @staticmethod
            def get(ref):
                return batch

        return engine._collect(Finished, None, training, tmp_path, 1.0, print)

    first, second = collect(records), collect(variant)
    assert first.status == second.status == "done", second.error
    assert len(first.records) == len(second.records) == 4
    names = sorted(path.name for path, _ in second.records)
    assert all(name.endswith("T000000Z-2.json") for name in names), names
    written = {path.name: record for path, record in few_shot.load_all(tmp_path).records}
    assert len(written) == 8
    assert sum(r["config"]["method_config"] == {"scale": 10} for r in written.values()) == 4


def test_a_record_of_another_variant_does_not_count_as_the_runs():
    """The standard sweep's MAML seed 0 (default transductive batch norm) is not done by the fidelity
    sweep's inductive record of seed 0, nor first-order MAML by a meta_batch=4 record; analysis-only
    arguments (the meta-LSTM's second start) and a default stated by the sweep (siamese `loss: bce`) do
    not make another variant."""
    from tfmeta.records import locations

    results = locations.app_dir() / "results"

    def record(pattern):
        return (path := sorted(results.glob(pattern))[0]), json.loads(path.read_text())

    standard = sweeps.load("standard")

    def done(pattern, method, seed, config=None):
        (training,) = [
            t for t in standard.only([method], [seed], ["omniglot"]).trainings if config in (None, t.config)
        ]
        return bool(sweeps.existing(dataclasses.replace(standard, trainings=(training,)), [record(pattern)]))

    inductive = "omniglot-maml-5w1s-standard-seed0-20261202T232727Z.json"
    assert record(inductive)[1]["config"]["method_config"]["batch_norm"] == "inductive"
    assert not done(inductive, "maml", 0)
    assert done("omniglot-maml-5w1s-standard-seed1-20261202T080133Z.json", "maml", 1)  # the same variant
    assert not done("omniglot-fomaml-5w1s-standard-seed0-20261203T082321Z.json", "fomaml", 0)
    assert done("omniglot-meta_lstm-5w1s-standard-seed1-20261205T013534Z.json", "meta_lstm", 1)  # curve_start
    bce = "omniglot-siamese-5w1s-standard-seed0-20261204T035824Z-2.json"
    assert done(bce, "siamese", 0, config={"loss": "bce"})


def test_a_second_sweep_on_the_same_results_folder_is_refused(tmp_path):
    from tfmeta.harness import sweep

    with sweep.exclusive(tmp_path), pytest.raises(locks.LockedError, match="another sweep is writing to"):
        with sweep.exclusive(tmp_path):
            pass


def test_an_unreachable_address_fails_fast():
    from tfmeta.harness import sweep

    started = time.monotonic()
    with pytest.raises(sweep.SweepError, match="no Ray cluster answers at 127.0.0.1:9"):
        sweep.check_reachable("127.0.0.1:9")
    assert time.monotonic() - started < 30


def _records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def test_embedded_sweep_gives_the_records_of_sequential_runs(
    tmp_path, data_dir, cache_dir, smoke_run, monkeypatch
):
    """A smoke run on the embedded default Ray instance equals, to the last digit, the session's smoke run
    through `tfmeta run`'s code path (that another seed differs is the killed-node test's)."""
    import ray

    from tfmeta.harness import sweep as engine

    sweep = sweeps.load(write(tmp_path, SMOKE.replace("seeds: [0, 1]", "seeds: [0]")))
    monkeypatch.setattr(
        sys, "argv", ["/venv/bin/tfmeta", "sweep", str(tmp_path / "sweep.yaml"), "--results-dir", "r"]
    )
    try:
        outcomes = engine.run_sweep(
            sweep, tmp_path / "ray", tmp_path / "ray-runs", str(data_dir), str(cache_dir)
        )
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}  # loopback only
    finally:
        ray.shutdown()
        monkeypatch.undo()  # the session's smoke run below is `tfmeta run`'s, not the sweep's
    assert [o.status for o in outcomes] == ["done"]
    (record,) = _records(tmp_path / "ray")
    _, sequential = smoke_run("protonet")
    assert record["seed"] == 0 and record["per_episode"] == sequential["per_episode"]
    assert record["accuracy"] == sequential["accuracy"]
    # It names the sweep's command, which made it (less the location options).
    assert record["provenance"]["command"] == f"tfmeta sweep {tmp_path / 'sweep.yaml'}"
    # Running the sweep again finds every record and runs nothing.
    again = engine.run_sweep(sweep, tmp_path / "ray", tmp_path / "ray-runs", str(data_dir), str(cache_dir))
    assert {o.status for o in again} == {"skipped"} and len(_records(tmp_path / "ray")) == 1


@pytest.mark.slow
def test_the_embedded_instance_is_its_own_where_a_cluster_already_runs_here(monkeypatch):
    """With no address, a sweep starts its own loopback instance with this machine's CPUs even where a
    cluster started earlier on this machine (as `ray start` leaves one) would be found by a bare
    `ray.init()`, which joins it and refuses `num_cpus` (a ValueError traceback)."""
    import ray
    from ray.cluster_utils import Cluster

    from tfmeta.harness import sweep as engine

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(ray._private.ray_constants, "ENABLE_RAY_CLUSTER", False)
    other = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "node_ip_address": "127.0.0.1"})
    try:
        engine.connect(None)
        assert ray.cluster_resources().get("CPU") == os.cpu_count()  # not the other cluster's 0 CPUs
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    finally:
        ray.shutdown()
        other.shutdown()


def test_a_worker_node_killed_mid_run_loses_no_run(tmp_path, data_dir, cache_dir, characters, monkeypatch):
    """A two-training smoke sweep (ProtoNet, seeds 0 and 1) on a head and two worker nodes, all on
    127.0.0.1; one worker node is killed (its processes, by process id) while a training runs on it. Ray
    retries that training on the surviving node, which resumes or restarts it; every run ends with exactly
    one record, no partial file. (Ray's task-state API needs its dashboard, which this loopback cluster
    does not run; a busy node is found by its free CPUs instead.)"""
    import ray
    from ray._private.state import available_resources_per_node
    from ray.cluster_utils import Cluster

    from tfmeta.harness import sweep as engine

    # Ray rewrites a loopback cluster address to the machine's network address before connecting a
    # driver; with this switch it keeps 127.0.0.1, so the driver joins the loopback-only nodes.
    monkeypatch.setattr(ray._private.ray_constants, "ENABLE_RAY_CLUSTER", False)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "node_ip_address": "127.0.0.1"})
    workers = [cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1") for _ in range(2)]
    try:
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False, _node_ip_address="127.0.0.1")
        sweep = sweeps.load(write(tmp_path, SMOKE))
        results = tmp_path / "results"
        done: dict = {}
        driver = threading.Thread(
            target=lambda: done.update(
                outcomes=engine.run_sweep(sweep, results, tmp_path / "runs", str(data_dir), str(cache_dir))
            )
        )
        driver.start()
        victim = None
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline:
            # A worker node with no CPU free is running a training (one CPU each, one task each).
            free = available_resources_per_node()
            busy = [w for w in workers if free.get(w.node_id, {}).get("CPU", 0) == 0]  # absent when all taken
            if busy:
                time.sleep(8)  # well into the run: data loaded, training begun
                victim = busy[0]
            else:
                time.sleep(0.5)
        assert victim is not None, "no training started within 5 minutes"
        cluster.remove_node(victim, allow_graceful=False)  # kills the node's processes by their ids
        driver.join(timeout=900)
        assert not driver.is_alive()
    finally:
        ray.shutdown()
        cluster.shutdown()
    outcomes = done["outcomes"]
    assert sorted(o.status for o in outcomes) == ["done"] * len(sweep.trainings)
    records = _records(results)
    keys = [(r["method"]["name"], r["seed"], r["benchmark"]["way"], r["benchmark"]["shot"]) for r in records]
    assert len(keys) == len(set(keys)) == len(sweep.runs)
    assert records[0]["per_episode"] != records[1]["per_episode"]  # seeds 0 and 1: the seed matters
    assert not [p for p in results.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".tmp")]
    for record in records:
        few_shot.check(record)


@pytest.mark.parametrize(
    ("trainings", "node_cpus", "expected"),
    [
        (1, [2.0], 2),
        (2, [2.0], 1),
        (3, [2.0], 1),
        (1, [0.0, 1.0, 1.0], 1),
        (2, [0.0, 8.0, 8.0], 8),
        (5, [16.0], 3),
    ],
)
def test_trainings_share_the_clusters_cpus_unless_the_sweep_sets_them(trainings, node_cpus, expected):
    """A lone training gets the whole machine; no training takes more than a node has, or less than 1."""
    from tfmeta.harness import sweep as engine

    assert engine.cpus_per_training(trainings, node_cpus) == expected

"""Every hook the harness calls is declared on the base classes; external classes that break the contract
are refused when they are looked up, naming the hook and the class, before any data or training."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.records import REPO
from tfmeta import methods, tasks
from tfmeta.core import registries
from tfmeta.core.contract import ContractError
from tfmeta.methods import base

HARNESS = REPO / "tfmeta" / "harness"


@pytest.mark.parametrize("name", registries.method_names())
def test_every_builtin_method_honours_the_contract(name):
    base.check_declared(methods.get(name))


@pytest.mark.parametrize("name", registries.family_names())
def test_every_builtin_task_family_honours_the_contract(name):
    tasks.family_class(name)


BROKEN_METHODS = {
    "NoCall": r"tests\.broken_contracts\.NoCall does not implement the required hook call\(\)",
    "TuneWithoutLabels": (
        r"TuneWithoutLabels\.tune\(self, data\) cannot be called as FewShotMethod\.tune\(self, data, labels\)"
    ),
    "PairFlagAsText": r"PairFlagAsText\.scores_pairs is 'yes'; it must be a bool",
}
BROKEN_FAMILIES = {
    "NoLoss": r"NoLoss does not implement the required hook loss\(\)",
    "SampleWithExtraArgument": r"SampleWithExtraArgument\.sample\(.*device\) cannot be called",
}


@pytest.mark.parametrize("name, message", sorted(BROKEN_METHODS.items()))
def test_a_broken_method_is_refused_naming_hook_and_class(name, message):
    with pytest.raises(ContractError, match=message):
        methods.get(f"tests.broken_contracts:{name}")


@pytest.mark.parametrize("name, message", sorted(BROKEN_FAMILIES.items()))
def test_a_broken_task_family_is_refused_naming_hook_and_class(name, message):
    with pytest.raises(ContractError, match=message):
        tasks.get(f"tests.broken_contracts:{name}")


@pytest.mark.slow
def test_the_cli_refuses_a_broken_method_before_any_work(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "tfmeta.cli", "run", "omniglot", "--method", "tests.broken_contracts:NoCall",
         "--profile", "smoke", "--runs-dir", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "res"),
         "--data-dir", str(tmp_path / "no-data")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "NoCall does not implement the required hook call()" in done.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "res").exists()


def test_unknown_task_family_lists_the_valid_ones():
    with pytest.raises(registries.UnknownFamilyError, match="valid families: quadratic, mlp_omniglot"):
        tasks.get("mlp")


def test_task_families_declare_whether_they_need_data():
    needs = {name: tasks.family_class(name).needs_data for name in registries.family_names()}
    assert needs["quadratic"] is False and needs["mlp_omniglot"] is True and needs["convnet_omniglot"] is True


def test_the_harness_calls_only_declared_hooks():
    """No `getattr(method, ...)` probing: every attribute the harness reads is declared on the base."""
    source = "\n".join(path.read_text() for path in HARNESS.rglob("*.py"))
    assert "getattr(method" not in source
    used = set(re.findall(r"(?<![\w.])method\.(\w+)", source))
    declared = {name for name, _ in inspect.getmembers(base.FewShotMethod)}
    assert used <= declared, used - declared


def test_the_inner_loop_analysis_reads_only_what_the_learner_declares():
    """The harness's inner-loop analysis reads a trained learner through `GradientBasedMethod`'s members
    and constructor arguments alone, so a new gradient-based learner needs nothing more."""
    from tfmeta.methods.optimization.learner import GradientBasedMethod

    readers = [HARNESS / "inner_curves.py", REPO / "tfmeta/methods/optimization/step_curves.py"]
    source = "\n".join(path.read_text() for path in readers)
    used = set(re.findall(r"(?<![\w.])learner\.(\w+)", source))
    declared = {name for name, _ in inspect.getmembers(GradientBasedMethod)}
    declared |= set(inspect.signature(GradientBasedMethod.__init__).parameters)
    assert used and used <= declared, used - declared


def test_one_confidence_interval_function():
    """Every 95% CI of tfmeta comes from `tfmeta.core.stats.mean_ci95` (sample std, ddof = 1)."""
    sources = {p: p.read_text() for p in (REPO / "tfmeta").rglob("*.py")}
    hand_made = [str(p.relative_to(REPO)) for p, text in sources.items() if re.search(r"1\.96 \*", text)]
    assert hand_made == [str(Path("tfmeta/core/stats.py"))], hand_made


def test_logits_of_another_shape_are_refused_naming_class_and_both_shapes():
    from tests.broken_contracts import TransposedLogits
    from tests.external_method import CosinePrototypes
    from tests.tiny_episodes import tiny_episode

    episode, _ = tiny_episode(way=5, shot=1, query=5)
    base.check_logits(CosinePrototypes(), episode, CosinePrototypes()(episode))
    method = TransposedLogits()
    with pytest.raises(ContractError) as refused:
        base.check_logits(method, episode, method(episode))
    assert str(refused.value) == (
        "tests.broken_contracts.TransposedLogits.call returned shape (5, 25) for a 5-way episode with 25 "
        "queries; return logits [way * query, way] = (25, 5): one row per query, one column per class"
    )
    with pytest.raises(ContractError, match=r"returned a tuple for a 5-way episode"):
        base.check_logits(method, episode, (method(episode),))


def test_a_run_refuses_wrong_logits_in_one_line_before_training(data_dir, cache_dir, tmp_path, capsys):
    from tfmeta import cli

    code = cli.main([
        "run", "omniglot", "--method", "tests.broken_contracts:TransposedLogits", "--profile", "smoke",
        "--runs-dir", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results"),
        "--data-dir", str(data_dir), "--cache-dir", str(cache_dir),
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err[-2000:]
    (line,) = [line for line in err.splitlines() if line.startswith("tfmeta:")]
    assert "Traceback" not in err
    assert re.fullmatch(
        r"tfmeta: error: tests\.broken_contracts\.TransposedLogits\.call returned shape \((\d+), (\d+)\) for "
        r"a \1-way episode with \2 queries; return logits \[way \* query, way\] = \(\2, \1\): .*",
        line,
    ), line
    assert not list(tmp_path.rglob("*.weights.h5")) and not list(tmp_path.rglob("*.json"))

"""The `tfmeta` command line: listings and clear errors with exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest


def tfmeta(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "tfmeta.cli", *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_list_shows_methods_and_benchmarks():
    result = tfmeta("list")
    assert result.returncode == 0, result.stderr
    assert "protonet" in result.stdout and "omniglot.yaml: 5w1s, 5w5s, 20w1s, 20w5s" in result.stdout


@pytest.mark.slow
def test_unknown_method_lists_valid_names():
    result = tfmeta("run", "omniglot", "--method", "protonett", "--profile", "smoke")
    assert result.returncode == 2
    assert "unknown method 'protonett'; valid names: " in result.stderr and "protonet," in result.stderr


@pytest.mark.slow
def test_unknown_setting_lists_valid_settings():
    result = tfmeta("run", "omniglot", "--method", "protonet", "--way", "10")
    assert result.returncode == 2 and "valid settings: 5-way 1-shot" in result.stderr


def test_missing_data_names_variable_flag_and_files(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TFMETA_DATA_DIR": str(tmp_path / "none")}
    result = tfmeta("data", "prepare", "--cache-dir", str(tmp_path / "cache"), env=env)
    assert result.returncode == 2
    assert "TFMETA_DATA_DIR" in result.stderr and "--data-dir" in result.stderr
    assert "images_background.zip" in result.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [("bogus=1", "bogus"), ("filters=0", "filters")],
)
def test_a_config_the_method_refuses_is_one_line_naming_its_arguments(
    config, message, data_dir, cache_dir, characters, tmp_path, capsys
):
    from tfmeta import cli

    code = cli.main([
        "run", "omniglot", "--method", "protonet", "--profile", "smoke", "--config", config,
        "--data-dir", str(data_dir), "--cache-dir", str(cache_dir), "--runs-dir", str(tmp_path / "runs"),
        "--results-dir", str(tmp_path / "results"),
    ])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and err.startswith("tfmeta: error: protonet cannot be built with"), err
    assert message in err and "Its arguments: " in err and "--config KEY=VALUE" in err and ".." not in err
    assert not (tmp_path / "results").exists() and not (tmp_path / "runs").exists()


def test_a_count_below_one_is_refused_by_the_parser(capsys):
    from tfmeta import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["speed", "--episodes", "0"])
    assert exit_.value.code == 2 and "--episodes: must be at least 1, got 0" in capsys.readouterr().err


def test_an_unknown_optimizer_family_lists_the_profile_s_families(tmp_path, capsys):
    from tfmeta import cli

    code = cli.main([
        "optimizer-track", "learned_optimizers", "--profile", "smoke", "--family", "nosuch",
        "--results-dir", str(tmp_path / "results"), "--runs-dir", str(tmp_path / "runs"),
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "evaluates no family 'nosuch'; its families: " in err and "quadratic" in err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "command, folder",
    [("run", "benchmarks"), ("sweep", "benchmarks/sweeps"), ("optimizer-track", "benchmarks/optimizers")],
)
def test_help_names_every_shipped_spec(command, folder, capsys):
    from pathlib import Path

    from tfmeta import cli

    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    shipped = sorted(Path(__file__).parents[1].joinpath(folder).glob("*.yaml"))
    assert shipped and all(p.stem in help_text for p in shipped), help_text

"""The `tfmeta` command line: listings and clear errors with exit status 2."""

from __future__ import annotations

import subprocess
import sys


def tfmeta(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "tfmeta.cli", *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_list_shows_methods_and_benchmarks():
    result = tfmeta("list")
    assert result.returncode == 0, result.stderr
    assert "protonet" in result.stdout and "omniglot.yaml: 5w1s, 5w5s, 20w1s, 20w5s" in result.stdout


def test_unknown_method_lists_valid_names():
    result = tfmeta("run", "omniglot", "--method", "protonett", "--profile", "smoke")
    assert result.returncode == 2
    assert "unknown method 'protonett'; valid names: " in result.stderr and "protonet," in result.stderr


def test_unknown_setting_lists_valid_settings():
    result = tfmeta("run", "omniglot", "--method", "protonet", "--way", "10")
    assert result.returncode == 2 and "valid settings: 5-way 1-shot" in result.stderr


def test_missing_data_names_variable_flag_and_files(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TFMETA_DATA_DIR": str(tmp_path / "none")}
    result = tfmeta("data", "prepare", "--cache-dir", str(tmp_path / "cache"), env=env)
    assert result.returncode == 2
    assert "TFMETA_DATA_DIR" in result.stderr and "--data-dir" in result.stderr
    assert "images_background.zip" in result.stderr

"""Benchmark specs: the shipped ones load; malformed ones are reported with file, line and field."""

from __future__ import annotations

import pytest

from tfmeta import methods
from tfmeta.config import specs
from tfmeta.core import registries
from tfmeta.harness import planning
from tfmeta.records import locations

GOOD = (locations.benchmarks_dir() / "omniglot.yaml").read_text()


def _write(tmp_path, text):
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", specs.available(), ids=lambda p: p.name)
def test_shipped_specs_are_valid(path):
    benchmark = specs.load(path)
    for name in benchmark.data["profiles"]:
        for setting in benchmark.data["settings"]:
            planning.plan(planning.RunOptions(spec=path, method="protonet", profile=name, **setting))


def test_wrong_type_names_file_line_and_field(tmp_path):
    path = _write(tmp_path, GOOD.replace("query: 15, episodes: 6000", "query: fifteen, episodes: 6000"))
    line = 1 + path.read_text().splitlines().index(
        next(line for line in path.read_text().splitlines() if "fifteen" in line)
    )
    with pytest.raises(specs.SpecError) as err:
        specs.load(path)
    assert str(err.value).startswith(f"{path}:{line}: profiles.standard.train.query: 'fifteen'")


def test_unknown_field_is_named(tmp_path):
    path = _write(tmp_path, GOOD.replace("  query: 15\n", "  query: 15\n  querys: 5\n", 1))
    with pytest.raises(specs.SpecError, match=r"bench.yaml:\d+: test: Additional properties .*'querys'"):
        specs.load(path)


def test_missing_field_points_at_its_parent(tmp_path):
    path = _write(tmp_path, GOOD.replace("  seed: 1703\n", ""))
    with pytest.raises(specs.SpecError, match=r"bench.yaml:\d+: test: 'seed' is a required property"):
        specs.load(path)


def test_yaml_syntax_error_has_a_line(tmp_path):
    path = _write(tmp_path, "name: x\nsettings: [\n")
    with pytest.raises(specs.SpecError, match=r"bench.yaml:3: invalid YAML"):
        specs.load(path)


def test_unknown_names_list_the_valid_ones(tmp_path):
    benchmark = specs.load("omniglot")
    with pytest.raises(specs.SpecError, match="valid profiles: smoke, quick, standard, trainval60, paper"):
        benchmark.profile("quik")
    with pytest.raises(specs.SpecError, match="valid settings: 5-way 1-shot, 5-way 5-shot"):
        benchmark.setting(10, 1)
    with pytest.raises(specs.SpecError, match="pass a YAML file or one of: .*omniglot"):
        specs.load("omniglott")
    with pytest.raises(registries.UnknownMethodError, match="valid names: .*protonet"):
        methods.get("protonett")
    with pytest.raises(registries.UnknownMethodError, match="cannot import method"):
        methods.get("no.such.module:Learner")


def test_validation_must_divide_training(tmp_path):
    path = _write(tmp_path, GOOD.replace("query: 15, episodes: 6000", "query: 15, episodes: 6001"))
    with pytest.raises(specs.SpecError, match=r"must be a multiple of validation.every \(250\)"):
        planning.plan(planning.RunOptions(spec=path, method="protonet"))


@pytest.mark.parametrize("key", ["x", "description"])  # a key of its own, and a field the spec knows
def test_an_alias_bomb_is_refused_fast_with_a_short_message(tmp_path, key):
    """Nine levels of ten aliases each: a billion values once expanded, refused from the node graph."""
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    bomb = f"{key}:\n" + "".join(f"  {line}\n" for line in levels)
    text = "\n".join(line for line in GOOD.splitlines() if not line.startswith("description:")) + "\n"
    path = _write(tmp_path, text.replace("name: omniglot\n", "name: omniglot\n" + bomb, 1))
    with pytest.raises(specs.SpecError) as err:
        specs.load(path)
    assert "anchors and aliases expand past 100000 values" in str(err.value)
    assert len(str(err.value)) < 300


def test_a_binary_file_is_named_as_not_yaml_text(tmp_path):
    path = tmp_path / "bench.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(specs.SpecError, match=r"bench.yaml: not a UTF-8 text file \(byte \d+\)"):
        specs.load(path)

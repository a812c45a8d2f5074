"""Hostile or careless specs, sweeps and options: one `tfmeta: error:` line naming the problem and the fix,
exit status 2, nothing written, no traceback, and no data read or training started. Data-free and fast."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tfmeta import cli
from tfmeta.config import specs
from tfmeta.harness import planning
from tfmeta.records import locations

GOOD = (locations.benchmarks_dir() / "omniglot.yaml").read_text()
SWEEP = textwrap.dedent(
    """\
    name: hostile
    profile: smoke
    seeds: [0]
    entries:
      - benchmark: omniglot
        settings: [{way: 5, shot: 1}]
        methods:
          protonet: {}
    """
)
SECRET = "s3cr3t-token-0123456789"
SEED_RANGE = "--seed: must be from 0 to 2147483647"


@pytest.fixture(autouse=True)
def workdir(tmp_path, monkeypatch):
    """Each test in an empty folder of its own, with the size caps in force."""
    monkeypatch.delenv(specs.ALLOW_LARGE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def refused(argv: list[str], folder: Path, capsys) -> str:
    """Runs the CLI and returns its one error line, asserting exit status 2 and that nothing was written."""
    before = files(folder)
    code = cli.main([*argv, "--results-dir", str(folder / "results"), "--runs-dir", str(folder / "runs")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("tfmeta: error: "), lines
    assert files(folder) == before
    return lines[0]


def refused_by_parser(argv: list[str], capsys) -> str:
    """Parses the arguments and returns argparse's error line, asserting exit status 2."""
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and "Traceback" not in "\n".join(err), err
    return err[-1]


def run(spec: Path) -> list[str]:
    return ["run", str(spec), "--method", "protonet", "--profile", "smoke"]


def dry_run(sweep: Path) -> list[str]:
    return ["sweep", str(sweep), "--dry-run"]


@pytest.mark.parametrize("kind", ["spec", "sweep"])
def test_deeply_nested_yaml_is_refused_with_file_and_line(kind, workdir, capsys):
    if kind == "spec":
        path = write(workdir, "deep.yaml", "name: x\ndescription: " + "[" * 5000 + "\n")
        argv = run(path)
    else:
        path = write(workdir, "deep.yaml", "name: x\nprofile: smoke\nseeds: [0]\nentries: " + "[" * 5000)
        argv = dry_run(path)
    line = refused(argv, workdir, capsys)
    assert f"{path}:" in line and f"nested deeper than {specs.MAX_SPEC_DEPTH} levels" in line


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("test_episodes: 20\n", "test_episodes: 1000000000\n", "1,000,000,000 test episodes, above the cap"),
        ("episodes: 60, seed: 0}", "episodes: 1000000000000, seed: 0}", "training episodes, above the cap"),
        ("test_episodes: 20\n", "test_episodes: 1.0e+9\n", "write a count as a whole number"),
    ],
)
def test_counts_above_the_caps_or_not_whole_are_refused_before_any_work(old, new, message, workdir, capsys):
    spec = write(workdir, "big.yaml", GOOD.replace(old, new, 1))
    line = refused(run(spec), workdir, capsys)
    assert f"{spec}:" in line and message in line
    if "cap" in message:
        assert f"{specs.ALLOW_LARGE_ENV}=1" in line


def test_a_sweep_of_a_million_runs_is_refused_before_it_is_expanded(workdir, capsys):
    seeds = ", ".join(map(str, range(1000)))
    variants = ", ".join(f"{{filters: {n}}}" for n in range(1, 1001))
    text = SWEEP.replace("seeds: [0]", f"seeds: [{seeds}]").replace("protonet: {}", f"protonet: [{variants}]")
    line = refused(dry_run(write(workdir, "big.yaml", text)), workdir, capsys)
    assert "expands to 1,000,000 runs" in line and f"{specs.ALLOW_LARGE_ENV}=1" in line


def test_the_override_lifts_the_caps_and_the_shipped_paper_profiles_need_none(workdir, monkeypatch):
    spec = write(workdir, "big.yaml", GOOD.replace("test_episodes: 20\n", "test_episodes: 1000000\n", 1))
    options = planning.RunOptions(spec=spec, method="protonet", profile="smoke")
    with pytest.raises(specs.SpecError, match="above the cap"):
        planning.plan(options)
    assert planning.plan(planning.RunOptions(spec=spec, method="protonet", profile="smoke", allow_large=True))
    monkeypatch.setenv(specs.ALLOW_LARGE_ENV, "1")
    assert planning.plan(options).profile["test_episodes"] == 1000000
    monkeypatch.delenv(specs.ALLOW_LARGE_ENV)
    for method in ("protonet", "maml", "reptile"):  # MAML's paper budget is the largest shipped
        planning.plan(planning.RunOptions(spec="omniglot", method=method, profile="paper", way=20, shot=5))


@pytest.mark.parametrize("value", [".inf", ".nan"])
def test_a_non_finite_learning_rate_in_a_spec_is_refused_at_load(value, workdir, capsys):
    spec = write(workdir, "lr.yaml", GOOD.replace("learning_rate: 0.001}", f"learning_rate: {value}}}", 1))
    line = refused(run(spec), workdir, capsys)
    assert "profiles.smoke.optimizer.learning_rate:" in line and "is not a finite number" in line


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "[1, NaN]"])
def test_a_non_finite_config_value_on_the_command_line_is_refused(value, capsys):
    line = refused_by_parser(
        ["run", "omniglot", "--method", "matching", "--config", f"scale={value}"], capsys
    )
    assert line.endswith(
        f"argument --config: scale={value}: not a finite number; give a finite value, as scale=10"
    )


def test_a_non_finite_value_in_a_sweep_variant_is_refused(workdir, capsys):
    sweep = write(
        workdir, "nan.yaml", SWEEP.replace("protonet: {}", "matching: [{scale: 10}, {scale: .nan}]")
    )
    line = refused(dry_run(sweep), workdir, capsys)
    assert f"{sweep}:8: entries.0.methods.matching.1.scale: nan is not a finite number" in line


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "omniglot", "--method", "protonet", "--seed", str(2**40)], f"{SEED_RANGE}, got {2**40}"),
        (["run", "omniglot", "--method", "protonet", "--seed", "-1"], f"{SEED_RANGE}, got -1"),
        (["sweep", "smoke", "--seed", str(2**31)], f"{SEED_RANGE}, got {2**31}"),
        (["run", "omniglot", "--method", "protonet", "--way", "0"], "--way: must be at least 1, got 0"),
        (["run", "omniglot", "--method", "protonet", "--shot", "-5"], "--shot: must be at least 1, got -5"),
        (["leaderboard", "--port", "99999"], "--port: a port is from 1 to 65535, got 99999"),
        (["leaderboard", "--port", "0"], "--port: a port is from 1 to 65535, got 0"),
        (["leaderboard", "--host", "999.1.1.1"], "--host: not an IP address or host name: '999.1.1.1'"),
        (["leaderboard", "--host", "bad_host!"], "--host: not an IP address or host name"),
    ],
)  # fmt: skip
def test_numbers_and_addresses_out_of_range_are_refused_by_the_parser(argv, message, capsys):
    assert message in refused_by_parser(argv, capsys)


def test_valid_addresses_and_seeds_still_parse():
    parse = cli.build_parser().parse_args
    for host in ("127.0.0.1", "0.0.0.0", "::1", "localhost", "node-1.example.org"):
        assert parse(["leaderboard", "--host", host, "--port", "65535"]).host == host
    assert parse(["run", "omniglot", "--method", "protonet", "--seed", str(2**31 - 1)]).seed == 2**31 - 1


@pytest.mark.parametrize(
    "methods, message",
    [
        ("os:system: {}", "entries.0.methods.os:system: os:system is not a subclass of"),
        (
            "matching: [{scale: 10}, {scael: 1}]",
            "entries.0.methods.matching: matching takes no argument scael",
        ),
    ],
)
@pytest.mark.parametrize("dry", [True, False])
def test_a_sweep_checks_every_method_and_variant_before_it_starts(methods, message, dry, workdir, capsys):
    sweep = write(workdir, "bad.yaml", SWEEP.replace("protonet: {}", f"protonet: {{}}\n      {methods}"))
    argv = dry_run(sweep) if dry else ["sweep", str(sweep), "--address", "127.0.0.1:9"]
    line = refused(argv, workdir, capsys)  # without --dry-run: refused before Ray is reached
    assert f"{sweep}:9: {message}" in line


@pytest.mark.parametrize(
    "content",
    [f"root:x:0:0:{SECRET}:/root:/bin/bash\n", f"api_key: {SECRET}\nother: [{SECRET}]\n", f"- {SECRET}\n"],
)
@pytest.mark.parametrize("kind", ["spec", "sweep"])
def test_a_file_that_is_not_a_spec_is_named_but_never_quoted(content, kind, workdir, capsys):
    other = write(workdir, "passwd", content)
    if kind == "spec":
        line = refused(run(other), workdir, capsys)
    else:
        sweep = write(workdir, "sweep.yaml", SWEEP.replace("benchmark: omniglot", f"benchmark: {other}"))
        line = refused(dry_run(sweep), workdir, capsys)
        assert f"{sweep}:5: entries.0.benchmark: " in line
    assert f"{other}: not a tfmeta benchmark spec: expected a YAML mapping with the keys name" in line
    shown = line.replace(str(workdir), "")  # the paths may hold any word
    assert SECRET not in shown and "root" not in shown and "api_key" not in shown

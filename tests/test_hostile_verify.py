"""Hostile and careless input to `tfmeta verify` and `tfmeta run`: each refused in one line naming the
problem and the way out, with a non-zero exit, nothing imported that a record names without leave, nothing
waited on, nothing written, and a batch of records checked to its end.

The records are the session's ProtoNet smoke record (conftest.smoke_run) with one field forged; all but one
test fail before any re-evaluation.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import json
import os
import re
import shutil
import sys
from importlib import metadata
from pathlib import Path

import keras
import pytest

from tests.deadlines import deadline
from tests.records import write_json
from tfmeta import cli
from tfmeta.core import registries
from tfmeta.harness import building, reproduction, training
from tfmeta.records import locations

PROBE_MODULE = "tfmeta_verify_probe"  # a module whose import leaves a marker file


@pytest.fixture(scope="module")
def smoke(smoke_run):
    """The ProtoNet smoke record (path, record) and the runs folder holding its weights."""
    path, record = smoke_run("protonet")
    return path, record, path.parents[1] / "runs"


@pytest.fixture
def probe(tmp_path, monkeypatch) -> Path:
    """An importable module that writes the returned marker file when it is imported."""
    marker = tmp_path / "imported"
    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / f"{PROBE_MODULE}.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path / "modules"))
    monkeypatch.delitem(sys.modules, PROBE_MODULE, raising=False)
    return marker


def forged(record: dict, import_path: str | None = None, sha256: str | None = None, name: str = "") -> dict:
    """A copy of `record` naming another method (called `name`, else its class name) or other weights."""
    record = copy.deepcopy(record)
    if import_path:
        record["method"].update(name=name or import_path.rpartition(":")[2], import_path=import_path)
    if sha256:
        record["weights"]["sha256"] = sha256
    return record


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def error_lines(text: str) -> list[str]:
    """The lines tfmeta itself wrote (TensorFlow's and absl's logging aside)."""
    return [line for line in text.splitlines() if line.startswith(("NOT verified", "tfmeta"))]


@pytest.mark.parametrize(
    "import_path", ["this:Zen", "antigravity:Fly", "os:system", f"{PROBE_MODULE}:Method"]
)
def test_a_record_cannot_make_verify_import_a_module(import_path, smoke, probe, tmp_path):
    module = import_path.partition(":")[0]
    loaded_before = module in sys.modules
    path, record, runs = smoke
    forgery = write_json(tmp_path, "forged.json", forged(record, import_path))
    with pytest.raises(reproduction.VerificationError, match=f"import and run module {module}") as refused:
        reproduction.verify(forgery, reproduction.Sources([runs]))
    assert f"--allow-import {module}" in str(refused.value) and "\n" not in str(refused.value)
    assert (module in sys.modules) == loaded_before and not probe.exists()


@pytest.mark.parametrize("import_path", ["../evil:X", ".relative:X", "pkg.:X", "pkg:not a class"])
def test_a_malformed_import_path_is_refused(import_path, smoke, tmp_path):
    path, record, runs = smoke
    forgery = write_json(tmp_path, "forged.json", forged(record, import_path, name="X"))
    with pytest.raises(reproduction.VerificationError, match="is not package.module:Class"):
        reproduction.verify(forgery, reproduction.Sources([runs]))


def test_an_allowed_module_is_imported(smoke, probe, tmp_path):
    path, record, runs = smoke
    forgery = write_json(tmp_path, "forged.json", forged(record, f"{PROBE_MODULE}:Method"))
    with pytest.raises(reproduction.VerificationError, match=f"cannot import method '{PROBE_MODULE}:Method'"):
        reproduction.verify(forgery, reproduction.Sources([runs], allow_imports=[PROBE_MODULE]))
    assert probe.exists()  # imported, since the user allowed it; it holds no such class


def test_registered_methods_are_recognised_without_importing(monkeypatch):
    plugin = metadata.EntryPoint(name="mine", value="someone.plugin:Mine", group=registries.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registries.metadata, "entry_points", lambda **kwargs: [plugin])
    assert registries.is_registered_method(registries.METHODS["protonet"])
    assert registries.is_registered_method("someone.plugin:Mine")
    assert not registries.is_registered_method("someone.plugin:Other")
    assert not registries.is_registered_method("this:Zen")
    record = {"method": {"name": "mine", "import_path": "someone.plugin:Mine"}}
    assert reproduction.method_to_build(record) == "mine"
    assert "someone" not in sys.modules


def _keras_archive(folder: Path) -> Path:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(folder / "model.keras")
    return folder / "model.keras"


def _legacy_model_with_lambda(folder: Path) -> Path:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(folder / "model.h5")
    return folder / "model.h5"


def _text(folder: Path) -> Path:
    (folder / "notes.txt").write_text("these are not weights\n" * 10)
    return folder / "notes.txt"


@pytest.mark.parametrize(
    "make, refusal",
    [
        (_text, "is not an HDF5 file, so not Keras weights"),
        (_keras_archive, r"is a zip archive \(a .keras model\?\)"),
        (_legacy_model_with_lambda, "is a whole Keras model .* in the legacy HDF5 layout"),
    ],
    ids=["text", "keras_archive", "legacy_h5_with_lambda"],
)
def test_weights_of_another_kind_are_refused_before_any_data_is_read(
    make, refusal, smoke, tmp_path, monkeypatch
):
    path, record, runs = smoke
    weights = tmp_path / "weights"
    weights.mkdir()
    made = make(tmp_path)
    disguised = weights / "disguised.weights.h5"  # found by its sha256 whatever its name
    shutil.copyfile(made, disguised)
    forgery = write_json(tmp_path, "forged.json", forged(record, sha256=sha256_of(disguised)))

    def no_data(*args, **kwargs):
        raise AssertionError("data was read for a record whose weights are not weights")

    monkeypatch.setattr(building, "load_data", no_data)
    match = f"forged.json: {re.escape(str(disguised))}.* {refusal}"
    with pytest.raises(reproduction.VerificationError, match=match):
        reproduction.verify(forgery, reproduction.Sources([weights, runs]))


def test_weights_of_another_architecture_are_named(smoke, tmp_path):
    path, record, runs = smoke
    relation = next((locations.app_dir() / "results").glob("omniglot-relation-*.json"))
    sha = json.loads(relation.read_text())["weights"]["sha256"]  # shipped beside the records
    forgery = write_json(tmp_path, "forged.json", forged(record, sha256=sha))
    match = r"does not fit PrototypicalNetwork as configured \(Layer .*\): these are another method's"
    with pytest.raises(reproduction.VerificationError, match=match) as refused:
        reproduction.verify(forgery, reproduction.Sources(reproduction.weights_dirs([runs])))
    assert "\n" not in str(refused.value)


def test_a_fifo_or_device_named_like_weights_is_never_waited_on(tmp_path, monkeypatch):
    fifo, device = tmp_path / "fifo.weights.h5", tmp_path / "device.weights.h5"
    os.mkfifo(fifo)
    device.symlink_to("/dev/zero")
    with deadline(20):
        for path in (fifo, device):
            with pytest.raises(training.WeightsError, match="is not a regular file"):
                training.load_weights(keras.Sequential(), path)
        with pytest.raises(reproduction.VerificationError, match="no trained weights with sha256"):
            reproduction.find_weights("0" * 64, [tmp_path])
        real_stat = os.stat
        # A FIFO swapped in after the check: the descriptor, opened without blocking, is checked again.
        monkeypatch.setattr(os, "stat", lambda p, *a, **k: real_stat(tmp_path / "fifo" if p == fifo else p))
        (tmp_path / "fifo").write_bytes(b"regular")
        with pytest.raises(training.WeightsError, match="is not a regular file"):
            training.load_weights(keras.Sequential(), fifo)


@pytest.mark.parametrize(
    "name, refusal",
    [
        ("missing.json", "missing.json: no such file; name a record's JSON file"),
        ("", "is a folder; name the record files in it"),
        ("fifo.json", "fifo.json is not a regular file (a device or FIFO)"),
    ],
    ids=["missing", "folder", "fifo"],
)
def test_verify_of_a_missing_file_a_folder_or_a_fifo_is_one_line(name, refusal, tmp_path, capsys):
    if name == "fifo.json":
        os.mkfifo(tmp_path / name)
    with deadline(20):
        assert cli.main(["verify", str(tmp_path / name)]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith("NOT verified: ") and refusal in line


def test_a_batch_is_checked_to_the_end_and_only_what_passed_is_marked(
    smoke, data_dir, cache_dir, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("TFMETA_VERIFY_KEY", str(tmp_path / "verify.key"))
    path, record, runs = smoke
    folder = tmp_path / "records"
    good = folder / "good.json"
    folder.mkdir()
    shutil.copyfile(path, good)
    junk = tmp_path / "weights" / "junk.weights.h5"
    junk.parent.mkdir()
    junk.write_text("not weights")
    bad = [
        write_json(folder, "imports.json", forged(record, "this:Zen")),
        write_json(folder, "junk.json", forged(record, sha256=sha256_of(junk))),
        folder / "missing.json",
        tmp_path / "weights",
    ]
    argv = ["verify", *map(str, [*bad, good]), "--mark", "--weights-dir", str(runs)]
    argv += ["--weights-dir", str(junk.parent), "--data-dir", str(data_dir), "--cache-dir", str(cache_dir)]
    assert cli.main(argv) == 1
    out, err = capsys.readouterr()
    failures = [line for line in error_lines(err) if line.startswith("NOT verified")]
    assert [line.split()[2] for line in failures] == [
        "imports.json:",
        "junk.json:",
        f"{bad[2]}:",
        str(bad[3]),
    ]
    assert "tfmeta: 4 of 5 records not verified" in err
    assert out.count("verified: good.json (20 episodes reproduced") == 1
    assert list(json.loads((folder / "verified.json").read_text())) == ["good.json"]


@pytest.fixture
def run_argv(data_dir, cache_dir, tmp_path):
    """`tfmeta run` of ProtoNet's smoke profile, writing under tmp_path."""

    def argv(runs: Path, results: Path) -> list[str]:
        return [
            "run", "omniglot", "--method", "protonet", "--profile", "smoke", "--runs-dir", str(runs),
            "--results-dir", str(results), "--data-dir", str(data_dir), "--cache-dir", str(cache_dir),
        ]  # fmt: skip

    return argv


def _failing_under(folder: Path, code: int, real):
    """`real` (os.open or os.link), raising OSError `code` for paths under `folder`."""

    def call(*args, **kwargs):
        if any(str(arg).startswith(str(folder)) for arg in args[:2] if isinstance(arg, str | Path)):
            raise OSError(code, os.strerror(code), str(args[0]))
        return real(*args, **kwargs)

    return call


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC], ids=["read_only", "disk_full"])
@pytest.mark.parametrize("which", ["results", "runs"])
def test_run_refuses_an_unwritable_folder_before_training(
    which, code, run_argv, tmp_path, capsys, monkeypatch
):
    runs, results = tmp_path / "runs", tmp_path / "results"
    runs.mkdir()
    results.mkdir()
    unwritable = {"runs": runs, "results": results}[which]
    monkeypatch.setattr(os, "open", _failing_under(unwritable, code, os.open))

    def no_training(*args, **kwargs):
        raise AssertionError("trained although a folder cannot be written")

    monkeypatch.setattr(training, "fit", no_training)
    assert cli.main(run_argv(runs, results)) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert f"tfmeta: error: the {which} folder {unwritable} cannot be written ({os.strerror(code)})" in line
    assert f"--{which}-dir" in line and "nothing was trained" in line
    assert list(runs.iterdir()) == list(results.iterdir()) == []


def test_a_record_that_cannot_be_written_says_where_the_training_is_kept(
    smoke, run_argv, tmp_path, capsys, monkeypatch
):
    path, record, smoke_runs = smoke
    runs, results = tmp_path / "runs", tmp_path / "results"
    shutil.copytree(smoke_runs, runs, ignore=shutil.ignore_patterns("*.lock"))
    sha = record["weights"]["sha256"]
    run_dir = next(p.parent for p in runs.rglob(training.WEIGHTS) if sha256_of(p) == sha)
    with monkeypatch.context() as patch:
        patch.setattr(os, "link", _failing_under(results, errno.ENOSPC, os.link))
        assert cli.main(run_argv(runs, results)) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert f"could not be written in {results} (No space left on device)" in line
    assert f"the finished training is kept in {run_dir}" in line and "run the same command again" in line
    assert list(results.iterdir()) == []  # no partial record, no temporary file
    assert cli.main(run_argv(runs, results)) == 0  # the same command, once there is space
    out = capsys.readouterr().out
    assert f"Reusing the finished training in {run_dir}" in out
    (written,) = results.glob("*.json")
    assert json.loads(written.read_text())["per_episode"] == record["per_episode"]

"""Naming a method: near-miss names and classes get a "did you mean", a module Python cannot find gets the
import path to set, a `path/to/file.py:Class` reference works, and a record keeps the sha256 of an external
method's source, which `tfmeta verify` compares."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import sys

import pytest

from tests.records import REPO, make_record
from tfmeta import cli, methods
from tfmeta.core import registries
from tfmeta.harness import provenance, reproduction
from tfmeta.records import few_shot, store

EXTERNAL = REPO / "tests" / "external_method.py"


def refusal(reference: str) -> str:
    with pytest.raises(registries.UnknownMethodError) as refused:
        methods.get(reference)
    assert "\n" not in str(refused.value)
    return str(refused.value)


def test_a_misspelt_method_name_gets_the_nearest_registered_one():
    assert refusal("protonte").endswith("; did you mean 'protonet'?")
    assert refusal("matchingfce").endswith("; did you mean 'matching_fce'?")
    assert "did you mean" not in refusal("zzzz") and "path/to/file.py:ClassName" in refusal("zzzz")


def test_a_misspelt_class_gets_the_nearest_class_of_its_module():
    assert refusal("tests.external_method:CosinePrototype") == (
        "cannot import method 'tests.external_method:CosinePrototype': tests.external_method has no class "
        "'CosinePrototype'; did you mean 'CosinePrototypes'?"
    )
    assert refusal("tests.external_method:Zzz").endswith("its FewShotMethod subclasses: CosinePrototypes")


def test_a_module_python_cannot_find_gets_the_import_path_to_set(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, "mymeta", raising=False)
    assert refusal("mymeta.cosine:Cosine") == (
        "cannot import method 'mymeta.cosine:Cosine': No module named 'mymeta'; set PYTHONPATH to the folder "
        "that holds mymeta/ or mymeta.py (PYTHONPATH=. from that folder), or name the file: "
        "path/to/mymeta/cosine.py:Cosine"
    )
    assert refusal("tests.external_methd:X").endswith("; did you mean tests.external_method?")
    (tmp_path / "needs_dependency.py").write_text("import tfmeta_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert refusal("needs_dependency:X").endswith(
        "; needs_dependency imports tfmeta_no_such_dependency: install it, or add the folder holding it to "
        "PYTHONPATH"
    )


def test_a_file_path_names_a_method(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    cls = methods.get("./tests/../tests/external_method.py:CosinePrototypes")
    assert cls.__name__ == "CosinePrototypes" and cls.__module__ == "external_method"
    assert methods.get("tests/external_method.py:CosinePrototypes") is cls  # one module per file
    assert methods.get(f"{EXTERNAL}:CosinePrototypes") is cls
    # One spelling in records and training folders, relative to the current folder when below it.
    assert registries.method_import_path("./tests/external_method.py:X") == "tests/external_method.py:X"
    assert registries.method_import_path(f"{EXTERNAL}:X") == "tests/external_method.py:X"
    monkeypatch.chdir(tmp_path)
    assert registries.method_import_path(f"{EXTERNAL}:X") == f"{EXTERNAL.as_posix()}:X"
    assert refusal("mymeta/cosine.py:Cosine") == (
        "cannot import method 'mymeta/cosine.py:Cosine': no file mymeta/cosine.py; give the .py file's path "
        "from the current folder, or an absolute one"
    )
    assert refusal(f"{EXTERNAL}:CosinePrototype").endswith("; did you mean 'CosinePrototypes'?")


def test_the_source_hash_of_an_external_method_and_none_for_a_builtin(monkeypatch):
    from tests.external_method import CosinePrototypes

    digest = hashlib.sha256(EXTERNAL.read_bytes()).hexdigest()
    assert provenance.method_source(CosinePrototypes, "tests.external_method:CosinePrototypes") == {
        "path": "tests/external_method.py",
        "sha256": digest,
    }
    monkeypatch.chdir(REPO)
    from_file = methods.get("tests/external_method.py:CosinePrototypes")
    assert provenance.method_source(from_file, "tests/external_method.py:CosinePrototypes") == {
        "path": "tests/external_method.py",
        "sha256": digest,
    }
    assert provenance.method_source(methods.get("protonet"), registries.METHODS["protonet"]) is None


def test_the_record_schema_holds_the_source_hash():
    record = make_record()
    record["provenance"]["method_source"] = {"path": "mymeta/cosine.py", "sha256": "ab" * 32}
    few_shot.check(record)
    for broken in ({"path": "mymeta/cosine.py"}, {"path": "x.py", "sha256": "AB"}, {"sha256": "ab" * 32}):
        record["provenance"]["method_source"] = broken
        with pytest.raises(store.RecordError, match="method_source"):
            few_shot.check(record)


def test_verify_imports_a_file_only_when_allowed_by_its_path(monkeypatch):
    monkeypatch.chdir(REPO)
    record = {"method": {"name": "X", "import_path": "tests/external_method.py:X"}}
    with pytest.raises(reproduction.VerificationError) as refused:
        reproduction.method_to_build(record)
    assert str(refused.value).endswith(
        "verifying it would import and run file tests/external_method.py; if you trust that code, pass "
        "--allow-import tests/external_method.py"
    )
    with pytest.raises(reproduction.VerificationError):
        reproduction.method_to_build(record, ["tests", "tests.external_method"])
    for allowed in ("tests/external_method.py", "./tests/external_method.py", str(EXTERNAL)):
        assert reproduction.method_to_build(record, [allowed]) == "tests/external_method.py:X"
    record["method"]["import_path"] = "evil.py:not a class"
    with pytest.raises(reproduction.VerificationError, match="is not path/to/file.py:Class"):
        reproduction.method_to_build(record, ["evil.py"])


def test_verify_notes_a_source_that_changed():
    from tests.external_method import CosinePrototypes

    record = make_record()
    record["method"]["import_path"] = "tests.external_method:CosinePrototypes"
    source = provenance.method_source(CosinePrototypes, record["method"]["import_path"])
    record["provenance"]["method_source"] = source
    assert reproduction.source_change(record, CosinePrototypes) is None
    old = copy.deepcopy(record)
    old["provenance"]["method_source"]["sha256"] = "0" * 64
    assert reproduction.source_change(old, CosinePrototypes) == (
        "the method's source tests/external_method.py differs from the one the record was run with (sha256 "
        f"000000000000... then, sha256 {source['sha256'][:12]}... now); use the file of that hash to check "
        "the code that made it"
    )
    del old["provenance"]["method_source"]
    assert reproduction.source_change(old, CosinePrototypes) is None  # made before sources were hashed


@pytest.fixture(scope="module")
def own_folder(tmp_path_factory):
    """A researcher's folder holding a method file, as from docs/submitting.md."""
    folder = tmp_path_factory.mktemp("researcher")
    shutil.copy(EXTERNAL, folder / "mymeta.py")
    return folder


def test_a_file_method_runs_verifies_and_submits_from_its_folder(
    own_folder, smoke_run, data_dir, cache_dir, monkeypatch, capsys
):
    """The smoke run of `mymeta.py:CosinePrototypes`: the record names the file and its hash, `verify`
    reproduces it once the file is allowed (and warns when the file changed since), and `submit` of the
    record the run stored says so and succeeds."""
    monkeypatch.chdir(own_folder)
    path, record = smoke_run("mymeta.py:CosinePrototypes")
    source = {
        "path": "mymeta.py",
        "sha256": hashlib.sha256((own_folder / "mymeta.py").read_bytes()).hexdigest(),
    }
    assert record["method"]["name"] == "CosinePrototypes"
    assert record["method"]["import_path"] == "mymeta.py:CosinePrototypes"
    assert record["provenance"]["method_source"] == source
    assert record["provenance"]["training"]["method_source"] == source

    runs = path.parents[1] / "runs"
    verify = ["verify", str(path), "--weights-dir", str(runs), "--data-dir", str(data_dir),
              "--cache-dir", str(cache_dir)]  # fmt: skip
    capsys.readouterr()
    assert cli.main(verify) == 1
    assert "--allow-import mymeta.py" in capsys.readouterr().err
    assert cli.main([*verify, "--allow-import", "mymeta.py"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"verified: {path.name}") and "warning" not in err
    original = (own_folder / "mymeta.py").read_text()
    try:
        (own_folder / "mymeta.py").write_text(original + "# edited after the run\n")
        assert cli.main([*verify, "--allow-import", "mymeta.py"]) == 0
        (warning,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
        assert warning.startswith(
            f"warning: {path.name}: the method's source mymeta.py differs from the one the record was run "
            f"with (sha256 {source['sha256'][:12]}... then, sha256 "
        ), warning
    finally:
        (own_folder / "mymeta.py").write_text(original)

    assert cli.main(["submit", str(path), "--results-dir", str(path.parent)]) == 0
    assert capsys.readouterr().out == f"{path.name} is already stored as {path}; nothing to do\n"
    assert json.loads(path.read_text()) == record

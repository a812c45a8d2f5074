"""Weights out of the wheel: `tfmeta verify` finds a record's weights by sha256 in the cache or downloads
them from a base URL, kept only when the bytes have that sha256; and an installed package, which carries no
weights, still counts its shipped `verified.json` lines.

Downloads go to an HTTP server on 127.0.0.1 serving a temporary folder; nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

from tests.deadlines import deadline
from tfmeta.harness import reproduction, weights_store
from tfmeta.records import few_shot, locations, trust

WEIGHTS = b"not really Keras weights, but bytes with a sha256"
SHA = hashlib.sha256(WEIGHTS).hexdigest()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # one line per request on stderr otherwise
        pass


@contextlib.contextmanager
def serving(folder: Path):
    """An HTTP server on 127.0.0.1 serving `folder`: yields (its URL, the paths it was asked for)."""
    asked = []

    class Handler(Quiet):
        def do_GET(self):
            asked.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def served(tmp_path):
    """A served folder (its `weights/` holds what the tests put there) and a private cache folder."""
    root, cache = tmp_path / "served", tmp_path / "cache"
    (root / "weights").mkdir(parents=True)
    with serving(root) as (url, asked):
        yield root / "weights", f"{url}/weights", asked, cache


@pytest.fixture(autouse=True)
def no_url_from_outside(monkeypatch, tmp_path):
    """The tests' own URLs and caches only, and no ./runs of the checkout to search."""
    monkeypatch.delenv(weights_store.WEIGHTS_URL_ENV, raising=False)
    monkeypatch.setenv("TFMETA_CACHE_DIR", str(tmp_path / "default-cache"))
    monkeypatch.chdir(tmp_path)


def everything_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on leaving: nothing listens there


def test_a_good_download_is_used_and_cached(served, tmp_path):
    folder, base, asked, cache = served
    (folder / f"{SHA}.weights.h5").write_bytes(WEIGHTS)
    found = reproduction.find_weights(SHA, [tmp_path / "empty"], cache, base)
    assert found == cache / "weights" / f"{SHA}.weights.h5"
    assert found.read_bytes() == WEIGHTS
    assert asked == [f"/weights/{SHA}.weights.h5"]
    assert everything_in(cache / "weights") == [found.name]  # no partial file left beside it
    # Cached: found again with the server gone, without asking anyone.
    again = reproduction.find_weights(SHA, [], cache, f"http://127.0.0.1:{closed_port()}")
    assert again == found and len(asked) == 1


def test_the_environment_variable_names_the_url(served, monkeypatch):
    folder, base, asked, cache = served
    (folder / f"{SHA}.weights.h5").write_bytes(WEIGHTS)
    monkeypatch.setenv(weights_store.WEIGHTS_URL_ENV, base + "/")  # a trailing slash is fine
    assert reproduction.find_weights(SHA, [], cache).read_bytes() == WEIGHTS
    assert asked == [f"/weights/{SHA}.weights.h5"]


def test_a_download_of_other_bytes_is_refused_and_nothing_is_kept(served):
    folder, base, asked, cache = served
    (folder / f"{SHA}.weights.h5").write_bytes(WEIGHTS + b" and a tampered tail")
    with pytest.raises(reproduction.VerificationError, match=r"not the [0-9a-f]{16}\.\.\. the record names: "
                       "refused, nothing kept") as refused:  # fmt: skip
        reproduction.find_weights(SHA, [], cache, base)
    assert f"{base}/{SHA}.weights.h5" in str(refused.value)
    assert everything_in(cache) == ["weights"]  # the folder, empty: no file of that name, no partial
    # A second try downloads again (nothing was kept to be trusted) and is refused again.
    with pytest.raises(reproduction.VerificationError, match="refused, nothing kept"):
        reproduction.find_weights(SHA, [], cache, base)
    assert len(asked) == 2 and everything_in(cache) == ["weights"]


def test_a_missing_file_on_the_server_is_an_http_error(served):
    folder, base, asked, cache = served
    with pytest.raises(reproduction.VerificationError, match=rf"{SHA}\.weights\.h5: HTTP 404"):
        reproduction.find_weights(SHA, [], cache, base)
    assert everything_in(cache) == ["weights"]


def test_an_unreachable_server_is_a_clear_error_at_once(tmp_path):
    cache = tmp_path / "cache"
    base = f"http://127.0.0.1:{closed_port()}/weights"
    with deadline(10), pytest.raises(reproduction.VerificationError, match="cannot be reached") as refused:
        reproduction.find_weights(SHA, [tmp_path], cache, base)
    message = str(refused.value)
    assert f"{base}/{SHA}.weights.h5" in message and weights_store.WEIGHTS_URL_ENV in message
    assert everything_in(cache / "weights") == []


def test_a_server_that_never_answers_times_out(tmp_path):
    """A server that accepts the connection and sends nothing (an address behind a dead proxy, say) is
    given up after the timeout, not waited on."""
    assert weights_store.TIMEOUT < 10
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # connections complete in the kernel's backlog; nobody ever answers
        base = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with deadline(5), pytest.raises(weights_store.DownloadError, match="timed out"):
            weights_store.download(SHA, base, tmp_path / "cache", timeout=1)
    assert everything_in(tmp_path / "cache" / "weights") == []


def test_without_a_url_the_error_says_what_to_set(tmp_path):
    with pytest.raises(reproduction.VerificationError) as refused:
        reproduction.find_weights(SHA, [tmp_path], tmp_path / "cache")
    message = str(refused.value)
    for needed in (f"no trained weights with sha256 {SHA[:16]}", "TFMETA_WEIGHTS_URL", "--weights-url",
                   "--weights-dir", "publishes its weights at none yet"):  # fmt: skip
        assert needed in message, message


@pytest.mark.parametrize("base", ["ftp://example.org/w", "/a/folder", "javascript:alert(1)"])
def test_only_http_https_and_file_urls_are_used(base, tmp_path):
    with pytest.raises(reproduction.VerificationError, match="is not an http, https or file URL"):
        reproduction.find_weights(SHA, [], tmp_path / "cache", base)


def test_a_corrupt_cached_file_is_replaced_by_a_good_download(served):
    folder, base, asked, cache = served
    (folder / f"{SHA}.weights.h5").write_bytes(WEIGHTS)
    (cache / "weights").mkdir(parents=True)
    (cache / "weights" / f"{SHA}.weights.h5").write_bytes(b"truncated")
    assert reproduction.find_weights(SHA, [], cache, base).read_bytes() == WEIGHTS
    assert len(asked) == 1


def test_the_default_cache_is_the_tfmeta_cache(served, tmp_path):
    folder, base, asked, _ = served
    (folder / f"{SHA}.weights.h5").write_bytes(WEIGHTS)
    found = reproduction.find_weights(SHA, [], None, base)
    assert found == tmp_path / "default-cache" / "weights" / f"{SHA}.weights.h5"  # $TFMETA_CACHE_DIR


def installed_layout(root: Path, monkeypatch) -> Path:
    """The shipped records' folder as an installed package has it, under `root`: records and
    verified.json, no weights folder, no checkout around it. Returns that folder."""
    package = root / "site-packages" / "tfmeta"
    results = package / "_shipped" / "leaderboard" / "results"
    results.mkdir(parents=True)
    monkeypatch.setattr(locations, "_PACKAGE", package)
    assert locations.checkout() is None and locations.shipped_results_dir() == results
    assert not locations.shipped_weights_dir().exists()
    return results


def shipped_lake_protonet() -> Path:
    return next(locations.shipped_results_dir().glob("omniglot_lake-protonet-20w1s-standard-seed0-*.json"))


def test_an_installed_package_counts_its_shipped_lines_without_the_weights(tmp_path, monkeypatch):
    shipped = shipped_lake_protonet()
    line = trust.load(shipped.parent)[shipped.name]
    record = few_shot.read(shipped)
    results = installed_layout(tmp_path, monkeypatch)
    path = results / shipped.name
    shutil.copyfile(shipped, path)
    (results / trust.VERIFIED).write_text(json.dumps({path.name: line}))
    assert trust.status(path, record) == "verified"
    # The line still has to name this file's bytes and the weights the record names.
    other = dict(record, weights={"sha256": "0" * 64})
    assert trust.status(path, other) == "unverified"
    edited = json.loads(path.read_text())
    edited["notes"] = "edited after the release"
    path.write_text(json.dumps(edited))
    assert trust.status(path, few_shot.read(path)) == "unverified"


def test_the_same_line_outside_the_shipped_folder_verifies_nothing(tmp_path, monkeypatch):
    shipped = shipped_lake_protonet()
    line = trust.load(shipped.parent)[shipped.name]
    installed_layout(tmp_path / "install", monkeypatch)
    board = tmp_path / "board"  # a user's folder: a line needs this machine's signature
    board.mkdir()
    shutil.copyfile(shipped, board / shipped.name)
    (board / trust.VERIFIED).write_text(json.dumps({shipped.name: line}))
    assert trust.status(board / shipped.name, few_shot.read(shipped)) == "unverified"


@pytest.fixture(scope="module")
def smoke(smoke_run):
    """The ProtoNet smoke record (path, record) and the runs folder holding its weights."""
    path, record = smoke_run("protonet")
    return path, record, path.parents[1] / "runs"


def test_verify_downloads_the_weights_it_finds_nowhere_else(smoke, data_dir, cache_dir, tmp_path, capsys):
    """`tfmeta verify --weights-url` of a record whose weights are in no folder here: downloaded into the
    cache, checked, loaded, and every episode reproduced."""
    from tfmeta import cli

    path, record, runs = smoke
    sha = record["weights"]["sha256"]
    (weights,) = [p for p in runs.rglob("*.weights.h5") if hashlib.sha256(p.read_bytes()).hexdigest() == sha]
    cache = tmp_path / "cache"  # a fresh weights cache over the session's prepared data
    cache.mkdir()
    os.symlink(Path(cache_dir) / "tensorflow_datasets", cache / "tensorflow_datasets")
    served = tmp_path / "served"
    served.mkdir()
    shutil.copyfile(weights, served / f"{sha}.weights.h5")
    with serving(served) as (url, asked):
        argv = ["verify", str(path), "--weights-url", url, "--data-dir", str(data_dir)]
        assert cli.main([*argv, "--cache-dir", str(cache)]) == 0
    cached = cache / "weights" / f"{sha}.weights.h5"
    assert f"verified: {path.name}" in capsys.readouterr().out
    assert asked == [f"/{sha}.weights.h5"] and cached.read_bytes() == weights.read_bytes()

"""Hostile miniImageNet cache pickles: refused before they allocate more than the file could back, object
arrays refused outright, honest caches of every protocol still read as plain arrays.

The pickles that would take gigabytes if the guard failed are loaded in a child process whose address
space is capped, so that a regression fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import os
import pickle
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import mini_imagenet_fixtures as fixtures
from tfmeta.data.mini_imagenet import safe_pickle

REPO = Path(__file__).resolve().parents[1]
CHILD_MEMORY = 2 << 30  # bytes of address space for the child that loads a dangerous pickle


class _Reduce:
    """Pickles as `callable(*args)`, then `__setstate__(state)` when a state is given."""

    def __init__(self, call, args, state=None):
        self.reduced = (call, args) if state is None else (call, args, state)

    def __reduce__(self):
        return self.reduced


def array_pickle(shape: tuple, dtype: str, data, protocol: int = 2) -> bytes:
    """{"image_data": array} as numpy < 2 writes an array: `numpy.core.multiarray._reconstruct(ndarray,
    (0,), b"b")`, then `__setstate__((1, shape, dtype, False, data))`, with `data` as given."""
    state = (1, shape, np.dtype(dtype), False, data)
    array = _Reduce(safe_pickle._multiarray._reconstruct, (np.ndarray, (0,), b"b"), state)
    written = pickle.dumps({"image_data": array}, protocol=protocol)
    return written.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def load_in_child(path: Path) -> str:
    """What `safe_pickle.load(path)` raises in a child with `CHILD_MEMORY` of address space, as
    "Type: message"; "loaded" if it returns."""
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({CHILD_MEMORY}, {CHILD_MEMORY}))\n"
        "from tfmeta.data.mini_imagenet import safe_pickle\n"
        "try:\n    safe_pickle.load(sys.argv[1])\n"
        "except BaseException as err:\n    print(f'{type(err).__name__}: {err}')\n"
        "else:\n    print('loaded')\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-c", code, str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    return done.stdout.strip() or f"exit {done.returncode}: {done.stderr[-500:]}"


def _binbytes8(length: int) -> bytes:
    return b"\x80\x04\x8e" + struct.pack("<Q", length) + b"xx."


def _frame(length: int) -> bytes:
    return b"\x80\x04\x95" + struct.pack("<Q", length) + b"N."


def _memo_put(index: int) -> bytes:
    return b"\x80\x02N" + b"r" + struct.pack("<I", index) + b"."


@pytest.mark.parametrize(
    "payload, refusal",
    [
        (array_pickle((400_000_000,), "O", [None]), "refusing an array of dtype object"),
        (array_pickle((400_000_000,), "u1", b"\0" * 4), r"shape \(400000000,\) .* holds 4 bytes of data"),
        (_binbytes8(2**34), "refusing a bytes8 argument of 17179869184 bytes with 3 bytes left"),
        (_frame(2**40), "refusing a frame of 1099511627776 bytes"),
        (_memo_put(2**32 - 1), "refusing memo index 4294967295 after 3 opcodes"),
    ],
    ids=["object_array_3GB", "array_data_missing", "bytes_16GB", "frame_1TB", "memo_index_32GB"],
)
def test_a_small_pickle_asking_for_gigabytes_is_refused_before_allocating(payload, refusal, tmp_path):
    path = tmp_path / "mini-imagenet-cache-train.pkl"
    path.write_bytes(payload)
    assert path.stat().st_size < 250
    outcome = load_in_child(path)
    assert outcome.startswith("UnsafePickleError: "), outcome
    assert re.search(refusal, outcome), outcome


def test_an_object_array_is_refused_even_when_small(tmp_path):
    path = tmp_path / "objects.pkl"
    path.write_bytes(pickle.dumps({"image_data": np.array([1, "a", None], dtype=object)}, protocol=2))
    with pytest.raises(safe_pickle.UnsafePickleError, match="dtype object"):
        safe_pickle.load(path)


def test_one_data_string_shared_by_many_arrays_is_charged_for_each(tmp_path):
    shared = bytes(100_000)  # pickled once, then named by memo for every array
    state = (1, (100_000,), np.dtype("u1"), False, shared)
    rebuild = safe_pickle._multiarray._reconstruct
    arrays = [_Reduce(rebuild, (np.ndarray, (0,), b"b"), state) for _ in range(200)]
    path = tmp_path / "shared.pkl"
    path.write_bytes(pickle.dumps({"image_data": arrays}, protocol=4))
    assert path.stat().st_size < 150_000  # 20 MB of arrays
    with pytest.raises(safe_pickle.UnsafePickleError, match=r"that makes \d+ bytes from a file of \d+"):
        safe_pickle.load(path)


def test_repeated_copies_of_one_string_are_charged(tmp_path):
    shared = bytes(50_000)
    path = tmp_path / "copies.pkl"
    path.write_bytes(pickle.dumps([_Reduce(bytearray, (shared,)) for _ in range(100)], protocol=4))
    with pytest.raises(safe_pickle.UnsafePickleError, match=r"builtins.bytearray\(<bytes of 50000>\)"):
        safe_pickle.load(path)


@pytest.mark.parametrize(
    "payload, refusal",
    [
        (_Reduce(list, (np.arange(10),)), "builtins.list of an array"),
        (_Reduce(str, ([b"x" * 100] * 100,)), r"str\(\) of a list"),
        (_Reduce(np.ndarray, ((10,),)), "refusing to call numpy.ndarray"),
    ],
    ids=["list_of_array", "str_of_list", "ndarray_called"],
)
def test_constructors_that_would_multiply_the_file_are_refused(payload, refusal, tmp_path):
    path = tmp_path / "calls.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=4))
    with pytest.raises(safe_pickle.UnsafePickleError, match=refusal):
        safe_pickle.load(path)


@pytest.mark.parametrize("protocol", range(6))
def test_honest_caches_of_every_protocol_load_as_plain_arrays(protocol, tmp_path):
    chosen = fixtures.subset(classes_per_part=2, images_per_class=3)
    images = fixtures.random_images(chosen)
    fixtures.write_pickles(tmp_path, chosen, images)
    path = tmp_path / "mini-imagenet-cache-train.pkl"
    with open(path, "rb") as f:
        expected = pickle.load(f)  # the test's own trusted file
    extra = {"indices": np.arange(6, dtype=np.int64), "scalars": [np.int64(3), np.float32(0.5)], "t": (b"x",)}
    path.write_bytes(pickle.dumps({**expected, **extra}, protocol=protocol))
    loaded = safe_pickle.load(path)
    assert type(loaded["image_data"]) is np.ndarray and type(loaded["indices"]) is np.ndarray
    np.testing.assert_array_equal(loaded["image_data"], expected["image_data"])
    assert loaded["class_dict"] == expected["class_dict"]
    assert loaded["scalars"] == [3, 0.5] and loaded["t"] == (b"x",)


def test_a_python2_style_cache_with_latin1_string_data_loads(tmp_path):
    data = np.arange(2 * 84 * 84 * 3, dtype=np.uint32).astype(np.uint8).reshape(2, 84, 84, 3)
    path = tmp_path / "py2.pkl"
    path.write_bytes(array_pickle(data.shape, "u1", data.tobytes().decode("latin-1")))
    np.testing.assert_array_equal(safe_pickle.load(path)["image_data"], data)


def test_the_cli_names_a_hostile_cache_in_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for part in ("train", "val", "test"):  # numpy once crashed on any object array whose state is short
        (data / f"mini-imagenet-cache-{part}.pkl").write_bytes(array_pickle((1_000_000,), "O", [None]))
    argv = ["data", "prepare", "--dataset", "mini_imagenet", "--data-dir", str(data)]
    argv += ["--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(
        [sys.executable, "-m", "tfmeta.cli", *argv], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("tfmeta")]
    assert done.returncode == 2 and len(errors) == 1, done.stderr[-2000:]
    assert errors[0].startswith("tfmeta: error: ") and "Traceback" not in done.stderr
    assert "was refused and nothing in it was run" in errors[0] and "dtype object" in errors[0]
    assert not list((tmp_path / "cache").rglob("dataset_info.json"))

"""miniImageNet: missing and partial data are named, nothing is cached, and hostile pickles run nothing."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from tests import mini_imagenet_fixtures as fixtures
from tfmeta.data import mini_imagenet
from tfmeta.data.mini_imagenet import MiniImagenetError, safe_pickle


@pytest.fixture(scope="module")
def chosen():
    return fixtures.subset(classes_per_part=2, images_per_class=3)


@pytest.fixture(scope="module")
def source(chosen, tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("mini-source")
    imagenet = fixtures.write_imagenet(root / "imagenet", chosen)
    return imagenet, fixtures.expected_images(imagenet, chosen)


def prepare_fails(data_dir: Path, cache: Path, chosen, match: str) -> str:
    """Prepares, expecting a MiniImagenetError matching `match`; checks that nothing was cached."""
    with pytest.raises(MiniImagenetError, match=match) as error:
        mini_imagenet.prepare(data_dir, cache, subset=chosen)
    assert not list(cache.rglob("dataset_info.json")) and not list(cache.rglob("*.tfrecord*"))
    return str(error.value)


def test_empty_folder_lists_every_form_with_paths_and_sources(tmp_path, chosen):
    (tmp_path / "data").mkdir()
    message = prepare_fails(tmp_path / "data", tmp_path / "cache", chosen, "No miniImageNet images found")
    for expected in (
        "mini-imagenet-cache-train.pkl",
        "images/n0153282900000005.jpg",
        "n01532829_10006.JPEG",
        "image-net.org",
        "docs/mini_imagenet.md",
        "--data-dir",
    ):
        assert expected in message


def test_no_data_dir_names_the_flag_and_variable(tmp_path, chosen, monkeypatch):
    monkeypatch.delenv("TFMETA_DATA_DIR", raising=False)
    with pytest.raises(MiniImagenetError, match="--data-dir.*TFMETA_DATA_DIR"):
        mini_imagenet.prepare(None, tmp_path, subset=chosen)


def test_missing_image_is_named_with_its_class(tmp_path, chosen, source):
    _, images = source
    folder = fixtures.write_image_folder(tmp_path / "data", images)
    missing = sorted(images)[4]
    (folder / "images" / missing).unlink()
    message = prepare_fails(folder, tmp_path / "cache", chosen, "images named as in the split CSVs")
    assert missing in message and missing[:9] in message and "1 images missing" in message


def test_missing_imagenet_class_is_named(tmp_path, chosen, source):
    imagenet, _ = source
    shutil.copytree(imagenet, tmp_path / "data")
    wnid = dict(chosen.classes)["test"][1]
    shutil.rmtree(tmp_path / "data" / "train" / wnid)
    message = prepare_fails(tmp_path / "data", tmp_path / "cache", chosen, "ImageNet")
    assert wnid in message and "class folders missing" in message


def test_imagenet_class_with_too_few_images_is_named(tmp_path, chosen, source):
    imagenet, _ = source
    shutil.copytree(imagenet, tmp_path / "data")
    wnid = dict(chosen.classes)["train"][0]
    for path in sorted((tmp_path / "data" / "train" / wnid).iterdir())[:-1]:
        path.unlink()
    message = prepare_fails(tmp_path / "data", tmp_path / "cache", chosen, "too few images")
    assert wnid in message


def test_missing_pickle_and_missing_class_are_named(tmp_path, chosen, source):
    _, images = source
    folder = fixtures.write_pickles(tmp_path / "data", chosen, images)
    (folder / "mini-imagenet-cache-val.pkl").unlink()
    message = prepare_fails(folder, tmp_path / "cache", chosen, "pre-packed caches")
    assert "mini-imagenet-cache-val.pkl missing" in message

    with open(folder / "mini-imagenet-cache-test.pkl", "rb") as f:
        data = pickle.load(f)  # the test's own trusted file
    dropped = sorted(data["class_dict"])[0]
    del data["class_dict"][dropped]
    with open(folder / "mini-imagenet-cache-test.pkl", "wb") as f:
        pickle.dump(data, f)
    assert dropped in prepare_fails(folder, tmp_path / "cache", chosen, "classes missing")


class _RunsACommand:
    """Pickles as a call of os.system: loading it with plain pickle would create the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_hostile_pickle_is_refused_and_runs_nothing(tmp_path, chosen, source):
    _, images = source
    folder = fixtures.write_pickles(tmp_path / "data", chosen, images)
    marker = tmp_path / "pwned"
    with open(folder / "mini-imagenet-cache-train.pkl", "rb") as f:
        data = pickle.load(f)  # the test's own trusted file
    data["class_dict"]["n01532829"] = _RunsACommand(marker)
    with open(folder / "mini-imagenet-cache-train.pkl", "wb") as f:
        pickle.dump(data, f)

    message = prepare_fails(folder, tmp_path / "cache", chosen, "refused and nothing in it was run")
    assert "system" in message
    assert not marker.exists()
    with pytest.raises(safe_pickle.UnsafePickleError):
        safe_pickle.load(folder / "mini-imagenet-cache-train.pkl")
    assert not marker.exists()


def test_pickle_of_another_shape_is_refused(tmp_path, chosen):
    import numpy as np

    tmp_path.joinpath("data").mkdir()
    for part in ("train", "val", "test"):
        with open(tmp_path / "data" / f"mini-imagenet-cache-{part}.pkl", "wb") as f:
            pickle.dump({"image_data": np.zeros((2, 32, 32, 3), np.uint8), "class_dict": {}}, f)
    prepare_fails(tmp_path / "data", tmp_path / "cache", chosen, "not a miniImageNet cache")


@pytest.mark.parametrize(
    "indices, match",
    [
        ([10**6], "indexes images outside image_data"),
        ([-1], "indexes images outside image_data"),
        (["x"], "is not a list of image indices"),
        (5, "is not a list of image indices"),
        ([0.5], "is not a list of image indices"),
    ],
    ids=["past_the_end", "negative", "a_string", "not_a_list", "a_float"],
)
def test_a_bad_index_in_a_pickle_is_named_with_its_class(indices, match, tmp_path, chosen, source):
    """A class whose index list points outside the images, or is not a list of integers, is one error
    naming the file and the class, never a traceback from the conversion."""
    _, images = source
    folder = fixtures.write_pickles(tmp_path / "data", chosen, images)
    with open(folder / "mini-imagenet-cache-train.pkl", "rb") as f:
        data = pickle.load(f)  # the test's own trusted file
    wnid = next(iter(data["class_dict"]))
    data["class_dict"][wnid] = indices
    with open(folder / "mini-imagenet-cache-train.pkl", "wb") as f:
        pickle.dump(data, f)
    message = prepare_fails(folder, tmp_path / "cache", chosen, match)
    assert "mini-imagenet-cache-train.pkl" in message and wnid in message


def test_cli_prepare_reports_missing_images(tmp_path, capsys):
    from tfmeta.cli import main

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("no images here")
    argv = ["data", "prepare", "--dataset", "mini_imagenet", "--data-dir", str(tmp_path / "data")]
    assert main([*argv, "--cache-dir", str(tmp_path / "cache")]) == 2
    error = capsys.readouterr().err
    assert "No miniImageNet images found" in error and "mini-imagenet-cache-train.pkl" in error
    assert not list((tmp_path / "cache").rglob("dataset_info.json"))


class _Allocates:
    """Pickles as a call of an allowed constructor with a size no cache file could back."""

    def __init__(self, constructor, *args):
        self.call = (constructor, args)

    def __reduce__(self):
        return self.call


@pytest.mark.parametrize(
    "payload",
    [
        _Allocates(bytearray, 10**9),
        _Allocates(bytes, 2**40),
        _Allocates(safe_pickle._multiarray._reconstruct, __import__("numpy").ndarray, (10**10,), b"b"),
    ],
    ids=["bytearray_1GB", "bytes_1TB", "array_10GB"],
)
def test_a_pickle_that_would_allocate_more_than_it_holds_is_refused_first(payload, tmp_path):
    path = tmp_path / "mini-imagenet-cache-train.pkl"
    path.write_bytes(pickle.dumps({"image_data": payload}, protocol=2))
    assert path.stat().st_size < 200
    with pytest.raises(safe_pickle.UnsafePickleError, match=r"refusing .* bytes from a file of \d+"):
        safe_pickle.load(path)

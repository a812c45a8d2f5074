"""miniImageNet preparation from fixtures in the three real forms: equivalence, errors, caching."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tests import mini_imagenet_fixtures as fixtures
from tfmeta.data import mini_imagenet
from tfmeta.data.mini_imagenet import Subset, sources
from tfmeta.data.mini_imagenet.split import CLASSES_PER_PART, IMAGES_PER_CLASS, PARTS, part_files

SHARED_CSVS = Path(__file__).resolve().parents[2] / "shared" / "data" / "miniimagenet"
ALL_PARTS = {"train", "val", "test"}


@pytest.fixture(scope="module")
def chosen() -> Subset:
    return fixtures.subset(classes_per_part=2, images_per_class=3)


@pytest.fixture(scope="module")
def forms(chosen, tmp_path_factory):
    """{form: folder}: equivalent fixtures in the three forms, and the expected 84x84 images."""
    root = tmp_path_factory.mktemp("mini-forms")
    imagenet = fixtures.write_imagenet(root / "imagenet", chosen)
    images = fixtures.expected_images(imagenet, chosen)
    return {
        "imagenet": imagenet,
        "images": fixtures.write_image_folder(root / "images", images),
        "pickle": fixtures.write_pickles(root / "pickle", chosen, images),
    }, images


@pytest.fixture(scope="module")
def prepared(forms, chosen, tmp_path_factory):
    """{form: {part: ClassSet}} prepared by the real builder, each form into its own cache."""
    folders, _ = forms
    return {
        form: mini_imagenet.load_class_sets(
            "ravi", ALL_PARTS, folder, tmp_path_factory.mktemp(f"cache-{form}"), subset=chosen
        )
        for form, folder in folders.items()
    }


def test_shipped_csvs_are_the_published_split():
    package = Path(mini_imagenet.__file__).parent / "ravi"
    for part in PARTS:
        shipped = hashlib.sha256((package / f"{part}.csv").read_bytes()).hexdigest()
        assert f"{shipped}  {part}.csv" in (package / "SHA256SUMS").read_text()
        if SHARED_CSVS.is_dir():
            assert (package / f"{part}.csv").read_bytes() == (SHARED_CSVS / f"{part}.csv").read_bytes()
        files = part_files(part)
        assert len(files) == CLASSES_PER_PART[part]
        assert {len(names) for names in files.values()} == {IMAGES_PER_CLASS}


def test_every_form_is_detected(forms, chosen):
    folders, _ = forms
    expected = fixtures.expected_files(chosen)
    for form, folder in folders.items():
        assert sources.locate(folder, expected).form == form


def test_three_forms_prepare_identical_datasets(prepared, forms, chosen):
    _, images = forms
    expected = fixtures.expected_files(chosen)
    for part in PARTS:
        reference = prepared["imagenet"][part]
        assert reference.names == tuple(sorted(expected[part]))
        assert reference.images.shape == (2, 3, 84, 84, 3) and reference.images.dtype == np.uint8
        wanted = np.stack(
            [np.stack([images[name] for name in expected[part][wnid]]) for wnid in reference.names]
        )
        np.testing.assert_array_equal(reference.images, wanted)
        for form in ("images", "pickle"):
            assert prepared[form][part].names == reference.names
            np.testing.assert_array_equal(prepared[form][part].images, reference.images)


def test_imagenet_index_counts_files_sorted_by_number_not_by_name(forms, chosen):
    folders, images = forms
    wnid, names = next(iter(fixtures.expected_files(chosen)["train"].items()))
    listing = sorted(
        (folders["imagenet"] / "train" / wnid).iterdir(), key=lambda p: int(p.stem.split("_")[1])
    )
    assert listing != sorted(listing)  # the fixture's numbers make name order and number order differ
    np.testing.assert_array_equal(images[names[0]], sources.to_84x84(listing[int(names[0][9:17]) - 1]))


def test_trainval_is_train_and_val(forms, chosen, tmp_path):
    folders, _ = forms
    sets = mini_imagenet.load_class_sets(
        "ravi", {"trainval", "train"}, folders["pickle"], tmp_path, subset=chosen
    )
    assert sets["trainval"].names == tuple(sorted(sets["train"].names + dict(chosen.classes)["val"]))


def test_second_load_reads_the_cache_without_decoding(forms, chosen, tmp_path, monkeypatch):
    folders, _ = forms
    first = mini_imagenet.load_class_sets("ravi", {"test"}, folders["images"], tmp_path, subset=chosen)

    def no_decoding(_path):
        raise AssertionError("an image was decoded again")

    monkeypatch.setattr(sources, "to_84x84", no_decoding)
    again = mini_imagenet.load_class_sets("ravi", {"test"}, folders["images"], tmp_path, subset=chosen)
    np.testing.assert_array_equal(first["test"].images, again["test"].images)


def test_subset_is_cached_apart_from_the_full_dataset(chosen):
    from tfmeta.data.mini_imagenet.mini_imagenet import TfmetaMiniImagenet

    assert TfmetaMiniImagenet(subset=chosen, data_dir="/nonexistent").builder_config.name == chosen.name
    assert TfmetaMiniImagenet(data_dir="/nonexistent").builder_config.name == "ravi"
    with pytest.raises(ValueError, match="unknown"):
        Subset.of({"train": ["n99999999"], "val": ["n01855672"], "test": ["n01930112"]}, 3)


def test_class_names_need_no_images():
    assert len(mini_imagenet.class_names("ravi", "test")) == 20
    assert len(mini_imagenet.class_names("ravi", "trainval")) == 80
    with pytest.raises(ValueError, match="valid splits: ravi"):
        mini_imagenet.class_names("vinyals", "test")

"""Omniglot preparation from the real archives, and the named class splits."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest

from tfmeta.data import omniglot
from tfmeta.data.omniglot import ArchiveError, load_characters
from tfmeta.data.omniglot import omniglot as builder_module
from tfmeta.data.splits import build_class_set, check_split


def test_all_characters_prepared_at_28x28(characters):
    assert len(characters) == 964 + 659
    images = np.stack(list(characters.values()))
    assert images.shape == (1623, 20, 28, 28) and images.dtype == np.uint8
    # Ink is 255 and covers a minority of the page.
    assert images.max() == 255 and 0.05 < images.mean() / 255 < 0.3


def test_second_load_reads_the_cache_without_decoding_pngs(data_dir, cache_dir, characters, monkeypatch):
    def no_decoding(_png):
        raise AssertionError("a PNG was decoded again")

    monkeypatch.setattr(builder_module, "to_28x28", no_decoding)
    again = load_characters(data_dir, cache_dir)
    name = "Korean/character01"
    np.testing.assert_array_equal(again[name], characters[name])


def test_missing_data_dir_names_the_variable_flag_and_files(tmp_path):
    with pytest.raises(ArchiveError) as err:
        omniglot.prepare(tmp_path / "nowhere", tmp_path / "cache")
    message = str(err.value)
    for expected in ("TFMETA_DATA_DIR", "--data-dir", "images_background.zip", "images_evaluation.zip"):
        assert expected in message
    assert not (tmp_path / "cache").exists()


def _copy_archives(data_dir, destination, drop_character=None, garbage_first_png=False) -> str | None:
    """Copies the archives, optionally without a character or with the first PNG's bytes replaced by
    garbage; returns that PNG's member name."""
    destination.mkdir()
    garbage = None
    for name in ("images_background.zip", "images_evaluation.zip"):
        with zipfile.ZipFile(data_dir / "omniglot" / name) as source:
            names = source.namelist()
        dropping = drop_character is not None and any(drop_character in m for m in names)
        if not dropping and not (garbage_first_png and garbage is None):
            shutil.copyfile(data_dir / "omniglot" / name, destination / name)  # nothing to change in it
            continue
        with (
            zipfile.ZipFile(data_dir / "omniglot" / name) as source,
            zipfile.ZipFile(destination / name, "w") as out,
        ):
            for member in source.namelist():
                if drop_character is None or drop_character not in member:
                    content = source.read(member)
                    if garbage_first_png and garbage is None and member.endswith(".png"):
                        garbage, content = member, b"\x89PNG garbage"
                    out.writestr(member, content)
    return garbage


def test_incomplete_archive_says_which_counts_differ_and_caches_nothing(data_dir, tmp_path):
    archives = tmp_path / "archives"
    _copy_archives(data_dir, archives, drop_character="Tifinagh/character50/")
    cache = tmp_path / "cache"
    with pytest.raises(ArchiveError, match=r"963 characters instead of 964"):
        omniglot.prepare(archives, cache)
    prepared = list((cache / "tensorflow_datasets").glob("tfmeta_omniglot/*/dataset_info.json"))
    assert prepared == []


def test_corrupt_archive_is_reported(data_dir, tmp_path):
    archives = tmp_path / "archives"
    _copy_archives(data_dir, archives)
    (archives / "images_evaluation.zip").write_bytes(b"not a zip at all")
    with pytest.raises(ArchiveError, match="images_evaluation.zip is not a readable zip archive"):
        omniglot.prepare(archives, tmp_path / "cache")


def test_a_garbage_image_is_named_by_its_member(data_dir, tmp_path):
    archives = tmp_path / "archives"
    member = _copy_archives(data_dir, archives, garbage_first_png=True)
    with pytest.raises(ArchiveError) as err:
        omniglot.prepare(archives, tmp_path / "cache")
    assert f"member {member} is not a readable PNG" in str(err.value)
    assert "download" not in str(err.value)


def test_offline_without_a_data_folder_fails_fast_and_leaves_nothing(tmp_path, monkeypatch):
    """No archives given and the download host unreachable (a closed loopback port stands in for it)."""
    import time

    from tfmeta.data.omniglot import omniglot as builder

    monkeypatch.delenv("TFMETA_DATA_DIR", raising=False)
    monkeypatch.setattr(builder, "URL", "https://127.0.0.1:9/omniglot/")
    start = time.monotonic()
    with pytest.raises(ArchiveError) as err:
        omniglot.prepare(None, tmp_path / "cache")
    assert time.monotonic() - start < 10
    assert "Could not reach 127.0.0.1" in str(err.value) and "--data-dir" in str(err.value)
    assert not list((tmp_path / "cache").rglob("*.tmp.*"))


@pytest.mark.parametrize(
    "split, part, count",
    [
        ("vinyals", "train", 4112),
        ("vinyals", "val", 688),
        ("vinyals", "test", 1692),
        ("vinyals", "trainval", 4800),
        ("lake", "train", 964),
        ("lake", "test", 659),
    ],
)
def test_split_sizes(characters, split, part, count):
    class_set = build_class_set(split, part, characters)
    assert len(class_set.names) == count
    assert class_set.images.shape == (count, 20, 28, 28, 1)


def test_vinyals_parts_are_disjoint_and_rotations_are_classes(characters):
    parts = {
        part: set(build_class_set("vinyals", part, characters).names) for part in ("train", "val", "test")
    }
    assert not parts["train"] & parts["val"] and not parts["train"] & parts["test"]
    assert not parts["val"] & parts["test"]
    test = build_class_set("vinyals", "test", characters)
    upright = test.names.index(next(n for n in test.names if n.endswith("rot000")))
    quarter = test.names.index(test.names[upright].replace("rot000", "rot090"))
    np.testing.assert_array_equal(
        test.images[quarter, ..., 0], np.rot90(test.images[upright, ..., 0], axes=(1, 2))
    )


def test_unknown_split_lists_the_valid_names():
    with pytest.raises(ValueError, match="valid splits: vinyals, lake"):
        check_split("random", "train")
    with pytest.raises(ValueError, match="its parts: train, test"):
        check_split("lake", "val")

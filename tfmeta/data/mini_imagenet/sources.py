"""The three forms in which users have miniImageNet, detected automatically, checked, and read as 84x84.

1. `images`: a folder of the 60,000 images named as in the split CSVs (`n0153282900000005.jpg`), in
   `images/`, directly in the folder, or in `{train,val,test}/<wnid>/` (the layout of the MAML scripts).
2. `imagenet`: an ImageNet training directory, `<wnid>/<wnid>_<number>.JPEG`. A miniImageNet filename is
   the wnid and an 8-digit 1-based index; the index picks the image at that position in the class's
   files sorted by `<number>`, which is then resized, whole and without cropping, to 84x84 by area
   averaging. This is the rule of the scripts that rebuild the split from ImageNet
   (Berenguel, github.com/gitabcworld/FewShotLearning, utils/create_miniImagenet.py; Liu,
   github.com/yaoyao-liu/mini-imagenet-tools, mini_imagenet_generator.py; both resize with OpenCV's
   INTER_AREA); tfmeta's area averaging (Pillow's BOX filter) may differ from OpenCV's by rounding.
3. `pickle`: the pre-packed caches `mini-imagenet-cache-{train,val,test}.pkl` of Ren et al. 2018
   (github.com/renmengye/few-shot-ssl-public): `image_data` uint8 [N, 84, 84, 3] and `class_dict`
   {wnid: [indices into image_data]}, each class's indices in the CSV order of its filenames.
   They are read with `safe_pickle.load`, which refuses anything but arrays and plain containers.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from tfmeta.data.mini_imagenet import safe_pickle
from tfmeta.data.mini_imagenet.split import IMAGE_SIZE, imagenet_index

DOCS = "docs/mini_imagenet.md"
Expected = dict[str, dict[str, tuple[str, ...]]]  # {part: {wnid: filenames}}
Example = tuple[str, str, np.ndarray]  # (filename, wnid, uint8 [84, 84, 3])
_IMAGENET_FILE = re.compile(r"^(n\d{8})_(\d+)\.jpe?g$", re.IGNORECASE)
_MINI_FILE = re.compile(r"^n\d{16}\.jpg$")


class MiniImagenetError(RuntimeError):
    """miniImageNet images are missing, incomplete, unsafe, or in no form tfmeta reads."""


def to_84x84(path: str | os.PathLike) -> np.ndarray:
    """Decodes an image file to uint8 RGB [84, 84, 3], resizing the whole image by area averaging."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    if rgb.size != (IMAGE_SIZE, IMAGE_SIZE):
        rgb = rgb.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX)
    return np.asarray(rgb, dtype=np.uint8)


def _shorten(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return f"{shown} and {len(items) - limit} more" if len(items) > limit else shown


class ImageFolder:
    """Form 1: the miniImageNet images themselves."""

    form = "images"
    title = "a folder of the 60,000 miniImageNet images named as in the split CSVs"

    def __init__(self, folder: Path):
        self.folder = folder

    @staticmethod
    def layout(folder: Path) -> str:
        return f"{folder}/images/n0153282900000005.jpg ... (or {folder}/train/n01532829/<same names>)"

    @classmethod
    def find(cls, folder: Path, expected: Expected) -> ImageFolder | None:
        """The folder when it holds images of this form (even too few), else None."""
        part, files = next(iter(expected.items()))
        wnid, names = next(iter(files.items()))
        has_flat = folder.is_dir() and any(_MINI_FILE.match(p.name) for p in _first_entries(folder))
        if (folder / "images").is_dir() or has_flat or (folder / part / wnid / names[0]).is_file():
            return cls(folder)
        return None

    def path(self, part: str, wnid: str, filename: str) -> Path | None:
        for candidate in (
            self.folder / "images" / filename,
            self.folder / filename,
            self.folder / part / wnid / filename,
        ):
            if candidate.is_file():
                return candidate
        return None

    def problems(self, expected: Expected) -> list[str]:
        missing = {}
        for part, files in expected.items():
            for wnid, names in files.items():
                absent = [name for name in names if self.path(part, wnid, name) is None]
                if absent:
                    missing[wnid] = absent
        if not missing:
            return []
        files = [name for absent in missing.values() for name in absent]
        return [
            f"{len(files)} images missing ({_shorten(files)}) from {len(missing)} classes "
            f"({_shorten(sorted(missing))})"
        ]

    def examples(self, part: str, files: dict[str, tuple[str, ...]]) -> Iterator[Example]:
        for wnid, names in files.items():
            for name in names:
                yield name, wnid, to_84x84(self.path(part, wnid, name))


def _first_entries(folder: Path, limit: int = 1000) -> list[Path]:
    """Up to `limit` entries of a folder, without listing a huge one in full."""
    entries = []
    with os.scandir(folder) as it:
        for entry in it:
            entries.append(Path(entry.path))
            if len(entries) >= limit:
                break
    return entries


class ImagenetTrain:
    """Form 2: an ImageNet training directory, one folder of `<wnid>_<number>.JPEG` per class."""

    form = "imagenet"
    title = "an ImageNet (ILSVRC2012) training directory with one folder per class"

    def __init__(self, folder: Path):
        self.folder = folder
        self._listing: dict[str, list[Path]] = {}

    @staticmethod
    def layout(folder: Path) -> str:
        return f"{folder}/train/n01532829/n01532829_10006.JPEG ... (or {folder}/n01532829/...)"

    @classmethod
    def find(cls, folder: Path, expected: Expected) -> ImagenetTrain | None:
        wnids = [wnid for files in expected.values() for wnid in files]
        for candidate in (folder, folder / "train", folder / "ILSVRC2012_img_train"):
            if any((candidate / wnid).is_dir() for wnid in wnids):
                return cls(candidate)
        return None

    def class_files(self, wnid: str) -> list[Path]:
        """The class's ImageNet files sorted by the number after the underscore."""
        if wnid not in self._listing:
            folder = self.folder / wnid
            matches = [(_IMAGENET_FILE.match(p.name), p) for p in folder.iterdir()] if folder.is_dir() else []
            numbered = [(int(m.group(2)), p) for m, p in matches if m and m.group(1) == wnid]
            self._listing[wnid] = [p for _, p in sorted(numbered)]
        return self._listing[wnid]

    def problems(self, expected: Expected) -> list[str]:
        absent, short = [], []
        for files in expected.values():
            for wnid, names in files.items():
                have, need = len(self.class_files(wnid)), max(imagenet_index(name) for name in names)
                if not have:
                    absent.append(wnid)
                elif have < need:
                    short.append(f"{wnid} ({have} images, index {need} needed)")
        problems = [f"{len(absent)} class folders missing or empty: {_shorten(absent)}"] if absent else []
        if short:
            problems.append(f"{len(short)} classes with too few images: {_shorten(short)}")
        return problems

    def examples(self, part: str, files: dict[str, tuple[str, ...]]) -> Iterator[Example]:
        for wnid, names in files.items():
            listing = self.class_files(wnid)
            for name in names:
                yield name, wnid, to_84x84(listing[imagenet_index(name) - 1])


class PickleCaches:
    """Form 3: one pickle per part with `image_data` and `class_dict`, loaded without running code."""

    form = "pickle"
    title = "the pre-packed caches mini-imagenet-cache-{train,val,test}.pkl"

    def __init__(self, folder: Path):
        self.folder = folder
        self._loaded: dict[str, tuple[np.ndarray, dict]] = {}

    @staticmethod
    def layout(folder: Path) -> str:
        return f"{folder}/mini-imagenet-cache-train.pkl, ...-val.pkl, ...-test.pkl"

    @classmethod
    def find(cls, folder: Path, expected: Expected) -> PickleCaches | None:
        return cls(folder) if any(cls.file(folder, part).is_file() for part in expected) else None

    @staticmethod
    def file(folder: Path, part: str) -> Path:
        return folder / f"mini-imagenet-cache-{part}.pkl"

    def load(self, part: str) -> tuple[np.ndarray, dict]:
        """(image_data, class_dict) of one part, checked for types and shapes."""
        if part not in self._loaded:
            path = self.file(self.folder, part)
            try:
                data = safe_pickle.load(path)
            except safe_pickle.UnsafePickleError as err:
                raise MiniImagenetError(f"{path} was refused and nothing in it was run: {err}") from err
            except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
                raise MiniImagenetError(f"{path} is not a readable pickle ({err}); get it again") from err
            self._loaded[part] = _check_cache(path, data)
        return self._loaded[part]

    def problems(self, expected: Expected) -> list[str]:
        problems = []
        for part, files in expected.items():
            if not self.file(self.folder, part).is_file():
                problems.append(f"{self.file(self.folder, part).name} missing")
                continue
            _, class_dict = self.load(part)
            absent = [wnid for wnid in files if wnid not in class_dict]
            short = [
                f"{w} ({len(class_dict[w])} of {len(n)})"
                for w, n in files.items()
                if w in class_dict and len(class_dict[w]) < len(n)
            ]
            if absent:
                problems.append(f"{part}: {len(absent)} classes missing: {_shorten(absent)}")
            if short:
                problems.append(f"{part}: {len(short)} classes with too few images: {_shorten(short)}")
        return problems

    def examples(self, part: str, files: dict[str, tuple[str, ...]]) -> Iterator[Example]:
        image_data, class_dict = self.load(part)
        for wnid, names in files.items():
            for name, index in zip(names, class_dict[wnid], strict=False):
                yield name, wnid, image_data[index]
        del self._loaded[part]  # free the part's images once written


def _check_cache(path: Path, data) -> tuple[np.ndarray, dict]:
    """Checks a cache's keys, array shape and index lists; returns (image_data, class_dict)."""
    if isinstance(data, dict):
        data = {key.decode() if isinstance(key, bytes) else key: value for key, value in data.items()}
    images = data.get("image_data") if isinstance(data, dict) else None
    classes = data.get("class_dict") if isinstance(data, dict) else None
    if not (
        isinstance(images, np.ndarray)
        and images.dtype == np.uint8
        and images.ndim == 4
        and images.shape[1:] == (IMAGE_SIZE, IMAGE_SIZE, 3)
        and isinstance(classes, dict)
    ):
        raise MiniImagenetError(
            f"{path} is not a miniImageNet cache: expected a dict with 'image_data' (uint8 [N, 84, 84, 3]) "
            "and 'class_dict' ({wnid: [indices]})"
        )
    class_dict = {}
    for wnid, indices in classes.items():
        if not (
            isinstance(indices, list | tuple | range | np.ndarray)
            and all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in indices)
        ):
            raise MiniImagenetError(
                f"{path}: class {wnid}'s entry in class_dict is not a list of image indices; "
                "get the file again"
            )
        indices = [int(i) for i in indices]
        if indices and (min(indices) < 0 or max(indices) >= len(images)):
            raise MiniImagenetError(f"{path}: class {wnid} indexes images outside image_data")
        class_dict[wnid.decode() if isinstance(wnid, bytes) else str(wnid)] = indices
    return images, class_dict


FORMS = (PickleCaches, ImageFolder, ImagenetTrain)  # preference order when several are complete


def locate(data_dir: str | os.PathLike, expected: Expected):
    """The first complete form under `data_dir` (itself or its `miniimagenet/` or `mini_imagenet/`).

    Raises:
        MiniImagenetError: naming each form found and what it lacks, or, when none is found, every form
            with the paths it is expected at and how to get it.
    """
    root = Path(data_dir).expanduser()
    found = [
        source
        for folder in (root, root / "miniimagenet", root / "mini_imagenet")
        if folder.is_dir()
        for form in FORMS
        if (source := form.find(folder, expected))
    ]
    reports = []
    for source in found:
        problems = source.problems(expected)
        if not problems:
            return source
        reports.append(f"- {source.title} in {source.folder}: " + "; ".join(problems))
    if reports:
        raise MiniImagenetError(
            f"miniImageNet under {root} is incomplete; nothing was prepared or cached.\n"
            + "\n".join(reports)
            + f"\nComplete one of these forms (see {DOCS}) and run the command again."
        )
    raise MiniImagenetError(missing_message(root))


def missing_message(root: Path) -> str:
    """The message for a folder holding no miniImageNet form: every form, where it goes, how to get it."""
    how = {
        "images": "the 84x84 images of the Ravi & Larochelle split, e.g. built from ImageNet with "
        "github.com/yaoyao-liu/mini-imagenet-tools",
        "imagenet": "ILSVRC2012_img_train.tar from https://image-net.org (free account), with each class "
        "tar extracted into its own folder; only the 100 miniImageNet classes are read",
        "pickle": "the caches made by github.com/renmengye/few-shot-ssl-public (mirrored by learn2learn)",
    }
    lines = [f"- {form.title}: {form.layout(root)}\n  get: {how[form.form]}" for form in FORMS]
    return (
        f"No miniImageNet images found in {root}. tfmeta ships the split CSVs; it needs the images in one "
        "of these forms:\n"
        + "\n".join(lines)
        + f"\nPass the folder with --data-dir or $TFMETA_DATA_DIR. Details: {DOCS}"
    )

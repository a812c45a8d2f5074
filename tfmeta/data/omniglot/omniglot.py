"""Omniglot as a tensorflow-datasets builder, prepared once at 28x28.

Lake, Salakhutdinov & Tenenbaum 2015, "Human-level concept learning through probabilistic program
induction", https://github.com/brendenlake/omniglot (MIT licence).

With network access the official archives are downloaded and checked against `checksums.tsv`, as TFDS
normally does. Offline, the archives are read from a local directory (`archive_dir`, or the
`TFMETA_DATA_DIR` environment variable) and accepted by their structure rather than by checksum, because
re-zipped copies of the same images differ in bytes.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from tfmeta.data.locations import DATA_DIR_ENV

IMAGE_SIZE = 28

_URL = "https://github.com/brendenlake/omniglot/raw/master/python/"
# Expected structure of each official archive: (alphabets, characters); every character has 20 drawers.
ARCHIVES = {
    "background": ("images_background.zip", 30, 964),
    "evaluation": ("images_evaluation.zip", 20, 659),
}
DRAWERS = 20
_MEMBER = re.compile(r"^images_(?:background|evaluation)/([^/]+)/(character\d+)/(\d+)_(\d+)\.png$")

_CITATION = """@article{lake2015human,
  title={Human-level concept learning through probabilistic program induction},
  author={Lake, Brenden M and Salakhutdinov, Ruslan and Tenenbaum, Joshua B},
  journal={Science}, volume={350}, number={6266}, pages={1332--1338}, year={2015}}"""


class ArchiveError(RuntimeError):
    """An Omniglot archive is missing, unreadable or does not have the official structure."""


def find_archives(archive_dir: str | os.PathLike) -> dict[str, Path]:
    """Returns the path of each archive under `archive_dir` (itself or its `omniglot/` folder).

    Raises:
        ArchiveError: naming the environment variable, the flag and every expected file.
    """
    root = Path(archive_dir).expanduser()
    candidates = [root, root / "omniglot"]
    for folder in candidates:
        paths = {split: folder / name for split, (name, _, _) in ARCHIVES.items()}
        if all(p.is_file() for p in paths.values()):
            return paths
    expected = "\n".join(f"  {folder / name}" for folder in candidates for name, _, _ in ARCHIVES.values())
    raise ArchiveError(
        f"Omniglot archives not found in {root}. Expected either of these sets of files:\n{expected}\n"
        f"Point the environment variable {DATA_DIR_ENV} or the flag --data-dir at the folder that "
        "holds images_background.zip and images_evaluation.zip (as downloaded from "
        "https://github.com/brendenlake/omniglot/tree/master/python)."
    )


def check_structure(split: str, archive: Path) -> list[str]:
    """Checks an archive's alphabets, characters and drawers against the official counts.

    Returns:
        The archive's image members, sorted.

    Raises:
        ArchiveError: saying which counts differ from the official archive.
    """
    name, n_alphabets, n_characters = ARCHIVES[split]
    try:
        with zipfile.ZipFile(archive) as zf:
            members = sorted(m for m in zf.namelist() if _MEMBER.match(m))
    except (zipfile.BadZipFile, OSError) as err:
        raise ArchiveError(f"{archive} is not a readable zip archive ({err}); download it again.") from err
    drawers_per_character: dict[tuple[str, str], set[str]] = {}
    for member in members:
        alphabet, character, _, drawer = _MEMBER.match(member).groups()
        drawers_per_character.setdefault((alphabet, character), set()).add(drawer)
    alphabets = {alphabet for alphabet, _ in drawers_per_character}
    problems = []
    if len(alphabets) != n_alphabets:
        problems.append(f"{len(alphabets)} alphabets instead of {n_alphabets}")
    if len(drawers_per_character) != n_characters:
        problems.append(f"{len(drawers_per_character)} characters instead of {n_characters}")
    short = sorted(f"{a}/{c}" for (a, c), d in drawers_per_character.items() if len(d) != DRAWERS)
    if short:
        problems.append(f"{len(short)} characters without {DRAWERS} drawers (first: {short[0]})")
    if problems:
        raise ArchiveError(
            f"{archive} does not have the structure of the official {name}: "
            + "; ".join(problems)
            + ". The archive is incomplete or corrupt; download it again. Nothing was cached."
        )
    return members


def to_28x28(png: bytes) -> np.ndarray:
    """Decodes a 105x105 Omniglot PNG to a 28x28 uint8 image with ink as 255 and paper as 0.

    Lanczos downsampling of the [0, 1] image, as in the Prototypical Networks code.
    """
    with Image.open(io.BytesIO(png)) as image:
        ink = 1.0 - np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    small = Image.fromarray(ink, mode="F").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
    return np.round(np.clip(np.asarray(small), 0.0, 1.0) * 255.0).astype(np.uint8)


class TfmetaOmniglot(tfds.core.GeneratorBasedBuilder):
    """Omniglot background and evaluation sets, 28x28 uint8, ink = 255."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "28x28 Lanczos-downsampled images, ink as 255."}

    def __init__(self, *, archive_dir: str | os.PathLike | None = None, **kwargs):
        self._archive_dir = archive_dir or os.environ.get(DATA_DIR_ENV)
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="Omniglot handwritten characters, downsampled to 28x28.",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Tensor(shape=(IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8),
                    "alphabet": tfds.features.Text(),
                    "character": tfds.features.Text(),
                    "drawer": np.int32,
                }
            ),
            homepage="https://github.com/brendenlake/omniglot",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        if self._archive_dir:
            paths = find_archives(self._archive_dir)
        else:
            urls = {split: _URL + name for split, (name, _, _) in ARCHIVES.items()}
            paths = {split: Path(p) for split, p in dl_manager.download(urls).items()}
        members = {split: check_structure(split, path) for split, path in paths.items()}
        return {split: self._generate_examples(paths[split], members[split]) for split in ARCHIVES}

    def _generate_examples(self, archive: Path, members: list[str]):
        with zipfile.ZipFile(archive) as zf:
            for member in members:
                alphabet, character, _, drawer = _MEMBER.match(member).groups()
                key = f"{alphabet}/{character}/{drawer}"
                yield (
                    key,
                    {
                        "image": to_28x28(zf.read(member)),
                        "alphabet": alphabet,
                        "character": character,
                        "drawer": int(drawer),
                    },
                )

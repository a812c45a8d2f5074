"""Omniglot's official archives: finding them, checking their structure, decoding their images.

Pure Python with NumPy and Pillow (no TensorFlow), so that checks of records against the archives run
where TensorFlow is absent. The tensorflow-datasets builder in `tfmeta.data.omniglot.omniglot` uses these.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from tfmeta.core.data_dirs import DATA_DIR_ENV
from tfmeta.core.errors import ArchiveError

IMAGE_SIZE = 28

# Expected structure of each official archive: (alphabets, characters); every character has 20 drawers.
ARCHIVES = {
    "background": ("images_background.zip", 30, 964),
    "evaluation": ("images_evaluation.zip", 20, 659),
}
DRAWERS = 20
MEMBER = re.compile(r"^images_(?:background|evaluation)/([^/]+)/(character\d+)/(\d+)_(\d+)\.png$")


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
            members = sorted(m for m in zf.namelist() if MEMBER.match(m))
    except (zipfile.BadZipFile, OSError) as err:
        raise ArchiveError(f"{archive} is not a readable zip archive ({err}); download it again.") from err
    drawers_per_character: dict[tuple[str, str], set[str]] = {}
    for member in members:
        alphabet, character, _, drawer = MEMBER.match(member).groups()
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

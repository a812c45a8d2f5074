"""Lake et al.'s runs archive (`all_runs.zip`), found and content-hashed without decoding an image: the
data layer reads the runs from it (`tfmeta.data.omniglot.lake_runs`), the records layer checks a record's
episodes against its hash (`tfmeta.records.submission`)."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from tfmeta.core.data_dirs import DATA_DIR_ENV
from tfmeta.core.errors import ArchiveError

ARCHIVE = "all_runs.zip"


def find_archive(data_dir: str | os.PathLike | None = None) -> Path:
    """The path of `all_runs.zip` in `data_dir` (or $TFMETA_DATA_DIR), itself or its `omniglot/` folder.

    Raises:
        ArchiveError: naming the variable, the flag and the paths looked at.
    """
    root = data_dir or os.environ.get(DATA_DIR_ENV)
    candidates = [Path(root).expanduser() / p for p in (ARCHIVE, f"omniglot/{ARCHIVE}")] if root else []
    for path in candidates:
        if path.is_file():
            return path
    looked = "\n".join(f"  {p}" for p in candidates) or "  (no folder given)"
    raise ArchiveError(
        f"Lake's one-shot runs ({ARCHIVE}) not found; looked at:\n{looked}\nPoint {DATA_DIR_ENV} or "
        f"--data-dir at the folder holding {ARCHIVE} (https://github.com/brendenlake/omniglot/tree/master/python)."
    )


def archive_hash(data_dir: str | os.PathLike | None = None) -> str:
    """The runs' content hash (as `LakeRuns.hash`) without decoding any image.

    Raises:
        ArchiveError: when the archive is missing or unreadable.
    """
    return content_hash(zip_members(find_archive(data_dir)))


def zip_members(path: Path) -> dict[str, bytes]:
    """The bytes of every file in the zip archive `path`, by member name.

    Raises:
        ArchiveError: when it is not a readable zip archive.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            return {name: zf.read(name) for name in zf.namelist() if not name.endswith("/")}
    except (zipfile.BadZipFile, OSError) as err:
        raise ArchiveError(f"{path} is not a readable zip archive ({err})") from err


def content_hash(members: dict[str, bytes]) -> str:
    """sha256 over member names and the sha256 of each member's bytes, in name order, so that re-zipped
    copies of the same runs share it."""
    digest = hashlib.sha256()
    for name in sorted(members):
        digest.update(name.encode() + b"\0" + hashlib.sha256(members[name]).digest())
    return "sha256:" + digest.hexdigest()

"""Omniglot as a tensorflow-datasets builder, prepared once at 28x28.

Lake, Salakhutdinov & Tenenbaum 2015, "Human-level concept learning through probabilistic program
induction", https://github.com/brendenlake/omniglot (MIT licence).

With network access the official archives are downloaded and checked against `checksums.tsv`, as TFDS
normally does. Offline, the archives are read from a local directory (`archive_dir`, or the
`TFMETA_DATA_DIR` environment variable) and accepted by their structure rather than by checksum, because
re-zipped copies of the same images differ in bytes.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from tfmeta.core.data_dirs import DATA_DIR_ENV
from tfmeta.data.omniglot.archives import (
    ARCHIVES,
    IMAGE_SIZE,
    MEMBER,
    ArchiveError,
    check_structure,
    find_archives,
    to_28x28,
)

URL = "https://github.com/brendenlake/omniglot/raw/master/python/"

_CITATION = """@article{lake2015human,
  title={Human-level concept learning through probabilistic program induction},
  author={Lake, Brenden M and Salakhutdinov, Ruslan and Tenenbaum, Joshua B},
  journal={Science}, volume={350}, number={6266}, pages={1332--1338}, year={2015}}"""


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
            urls = {split: URL + name for split, (name, _, _) in ARCHIVES.items()}
            paths = {split: Path(p) for split, p in dl_manager.download(urls).items()}
        members = {split: check_structure(split, path) for split, path in paths.items()}
        return {split: self._generate_examples(paths[split], members[split]) for split in ARCHIVES}

    def _generate_examples(self, archive: Path, members: list[str]):
        with zipfile.ZipFile(archive) as zf:
            for member in members:
                alphabet, character, _, drawer = MEMBER.match(member).groups()
                key = f"{alphabet}/{character}/{drawer}"
                try:
                    image = to_28x28(zf.read(member))
                except Exception as err:  # PIL and zlib raise many types for a damaged image
                    raise ArchiveError(
                        f"{archive}: member {member} is not a readable PNG ({type(err).__name__}: {err}); "
                        "replace the archive with the official one"
                    ) from err
                yield (
                    key,
                    {
                        "image": image,
                        "alphabet": alphabet,
                        "character": character,
                        "drawer": int(drawer),
                    },
                )

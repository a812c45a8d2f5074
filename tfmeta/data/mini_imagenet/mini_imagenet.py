"""miniImageNet as a tensorflow-datasets builder, prepared once at 84x84 from the user's own images.

Vinyals et al. 2016, "Matching Networks for One Shot Learning", https://arxiv.org/abs/1606.04080, defined
miniImageNet; Ravi & Larochelle 2017, "Optimization as a Model for Few-Shot Learning",
https://openreview.net/forum?id=rJY0-Kcll, published the class split everyone uses (64 / 16 / 20 classes
x 600 images). The images are crops of ImageNet and cannot be downloaded by tfmeta: the user brings them
in one of the forms of `sources` and points `download_config.manual_dir` at them.

Images are stored as raw uint8 tensors, so later runs read arrays and never decode a JPEG again. Every
expected file is checked before anything is generated, and TFDS writes into an `incomplete.*` folder that
it renames only on success: a partial preparation caches nothing.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from tfmeta.data.mini_imagenet import sources
from tfmeta.data.mini_imagenet.split import IMAGE_SIZE, PARTS, Subset, expected_files

_CITATION = """@inproceedings{ravi2017optimization,
  title={Optimization as a Model for Few-Shot Learning},
  author={Ravi, Sachin and Larochelle, Hugo}, booktitle={ICLR}, year={2017}}
@inproceedings{vinyals2016matching,
  title={Matching Networks for One Shot Learning},
  author={Vinyals, Oriol and Blundell, Charles and Lillicrap, Timothy and Kavukcuoglu, Koray
          and Wierstra, Daan},
  booktitle={NeurIPS}, year={2016}}"""


@dataclasses.dataclass(eq=False)
class MiniImagenetConfig(tfds.core.BuilderConfig):
    """A builder config; `subset` is None for the full split (the `ravi` config)."""

    subset: Subset | None = None


class TfmetaMiniImagenet(tfds.core.GeneratorBasedBuilder):
    """miniImageNet, Ravi & Larochelle split, 84x84x3 uint8 images with their wnid and filename."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "84x84 RGB uint8 images of the Ravi & Larochelle split, from 3 input forms."}
    BUILDER_CONFIGS = [MiniImagenetConfig(name="ravi", description="All 100 classes, 600 images each.")]
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put the miniImageNet images in one folder, in any one of these forms, and pass that folder as "
        "the manual directory (`tfmeta data prepare --dataset mini_imagenet --data-dir FOLDER`):\n"
        "  1. images/n0153282900000005.jpg ... (the 60,000 images named as in the split CSVs);\n"
        "  2. an ImageNet training directory: n01532829/n01532829_10006.JPEG ... (or train/n01532829/...);\n"
        "  3. mini-imagenet-cache-train.pkl, mini-imagenet-cache-val.pkl, mini-imagenet-cache-test.pkl.\n"
        "tfmeta ships the split CSVs. See docs/mini_imagenet.md."
    )

    def __init__(self, *, subset: Subset | None = None, **kwargs):
        """Args:
        subset: prepare only these classes and images (tests, quick experiments) under a config named
            after the subset, so that it never stands in for the full dataset. Defaults to None: all
            100 classes x 600 images, the `ravi` config.
        """
        if subset is not None:
            kwargs["config"] = MiniImagenetConfig(name=subset.name, description=repr(subset), subset=subset)
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="miniImageNet (Vinyals et al. 2016), Ravi & Larochelle split, 84x84 RGB.",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Tensor(shape=(IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8),
                    "label": tfds.features.Text(),
                    "filename": tfds.features.Text(),
                }
            ),
            homepage="https://github.com/twitter/meta-learning-lstm",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        expected = expected_files(self.builder_config.subset)
        source = sources.locate(dl_manager.manual_dir, expected)  # raises before anything is written
        return {part: self._generate_examples(source, part, expected[part]) for part in PARTS}

    def _generate_examples(self, source, part: str, files: dict[str, tuple[str, ...]]):
        for filename, wnid, image in source.examples(part, files):
            yield filename, {"image": image, "label": wnid, "filename": filename}

"""Small miniImageNet fixtures in the three real forms, with the real class wnids and filenames.

Each fixture holds a few classes of every part of the Ravi split and the first images of each (a `Subset`),
so the real builder runs on them in seconds. The ImageNet form is the source; the other two forms hold the
84x84 images that the documented rule makes from it, so all three are equivalent.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image

from tfmeta.data.mini_imagenet.split import PARTS, Subset, expected_files, imagenet_index, part_files


def subset(classes_per_part: int, images_per_class: int) -> Subset:
    """The first classes of each part (sorted wnids) and their first images."""
    return Subset.of({part: sorted(part_files(part))[:classes_per_part] for part in PARTS}, images_per_class)


def imagenet_numbers(count: int, rng: np.random.Generator) -> list[int]:
    """Increasing ImageNet file numbers with varying digit counts, so that sorting by name would differ."""
    return sorted(rng.choice(np.arange(1, 20000), size=count, replace=False).tolist())


def write_imagenet(root: Path, chosen: Subset, seed: int = 0) -> Path:
    """`root/train/<wnid>/<wnid>_<number>.JPEG`: as many images as the largest index the subset needs."""
    rng = np.random.default_rng(seed)
    train = root / "train"
    for files in expected_files(chosen).values():
        for wnid, names in files.items():
            (train / wnid).mkdir(parents=True)
            count = max(imagenet_index(name) for name in names)
            for i, number in enumerate(imagenet_numbers(count, rng)):
                height, width = rng.integers(90, 160, size=2)
                pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
                image = Image.fromarray(pixels)
                if i == 0:
                    image = image.convert("L")  # ImageNet holds some greyscale JPEGs
                image.save(train / wnid / f"{wnid}_{number}.JPEG", format="JPEG", quality=90)
    return root


def expected_images(imagenet_root: Path, chosen: Subset) -> dict[str, np.ndarray]:
    """{filename: uint8 [84, 84, 3]} by the documented rule, computed independently of tfmeta's code."""
    out = {}
    for files in expected_files(chosen).values():
        for wnid, names in files.items():
            folder = imagenet_root / "train" / wnid
            listing = sorted(folder.iterdir(), key=lambda p: int(p.stem.split("_")[1]))
            for name in names:
                with Image.open(listing[int(name[9:17]) - 1]) as image:
                    small = image.convert("RGB").resize((84, 84), Image.Resampling.BOX)
                out[name] = np.asarray(small)
    return out


def write_image_folder(root: Path, images: dict[str, np.ndarray], lossless: bool = True) -> Path:
    """`root/images/<filename>`. Lossless (PNG content under the real .jpg name; the reader detects the
    format from the content) so that pixels can be compared exactly; else real JPEG encoding."""
    (root / "images").mkdir(parents=True)
    for name, pixels in images.items():
        Image.fromarray(pixels).save(root / "images" / name, format="PNG" if lossless else "JPEG")
    return root


def write_pickles(root: Path, chosen: Subset, images: dict[str, np.ndarray], seed: int = 0) -> Path:
    """`root/mini-imagenet-cache-<part>.pkl` with image_data and class_dict, rows in shuffled order."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for part, files in expected_files(chosen).items():
        names = [name for class_files in files.values() for name in class_files]
        rows = rng.permutation(len(names))  # row of names[i] in image_data
        image_data = np.empty((len(names), 84, 84, 3), dtype=np.uint8)
        image_data[rows] = np.stack([images[name] for name in names])
        position = dict(zip(names, rows.tolist(), strict=True))
        class_dict = {wnid: [position[name] for name in class_files] for wnid, class_files in files.items()}
        with open(root / f"mini-imagenet-cache-{part}.pkl", "wb") as f:
            pickle.dump({"image_data": image_data, "class_dict": class_dict}, f, protocol=4)
    return root


def random_images(chosen: Subset, seed: int = 0) -> dict[str, np.ndarray]:
    """{filename: uint8 [84, 84, 3]}: noise with a per-class tint, so that classes are learnable."""
    rng = np.random.default_rng(seed)
    out = {}
    for files in expected_files(chosen).values():
        for names in files.values():
            tint = rng.integers(0, 256, size=3)
            for name in names:
                noise = rng.integers(-60, 61, size=(84, 84, 3))
                out[name] = np.clip(tint + noise, 0, 255).astype(np.uint8)
    return out

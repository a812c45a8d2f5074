"""Omniglot image-classification problems for the optimizer track, offline.

The paper's MLP optimizee classifies MNIST; MNIST cannot be downloaded everywhere, so the default
problems are N-way classifications of Omniglot characters (Vinyals split: training problems from the
`train` classes, held-out problems from the `test` classes), 20 images per class, 28x28, ink = 1.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from tfmeta.tasks.base import rng_for

PARTS = {"train": "train", "test": "test"}


@functools.lru_cache(maxsize=4)
def class_images(part: str, data_dir: str | None, cache: str | None) -> np.ndarray:
    """uint8 `[classes, 20, 28, 28, 1]` of one part of the Vinyals split."""
    from tfmeta.data import load_class_sets

    return load_class_sets("omniglot", "vinyals", {part}, data_dir, cache)[part].images


def sample_classification(
    count: int, seed: int, split: str, way: int, data_dir: str | os.PathLike | None, cache, size: int = 28
) -> tuple[np.ndarray, np.ndarray]:
    """`count` problems of `way` classes: images `[count, way * 20, size, size, 1]` in [0, 1], labels.

    `size` must divide 28; smaller images are average-pooled.
    """
    rng = rng_for(seed, split)
    images = class_images(
        PARTS[split], None if data_dir is None else str(data_dir), None if cache is None else str(cache)
    )
    chosen = np.stack([rng.choice(len(images), way, replace=False) for _ in range(count)])
    x = images[chosen].astype(np.float32) / 255.0  # [count, way, 20, 28, 28, 1]
    per_class, factor = x.shape[2], 28 // size
    if factor > 1:
        x = x.reshape(*x.shape[:3], size, factor, size, factor, 1).mean(axis=(4, 6))
    x = x.reshape(count, way * per_class, *x.shape[3:])
    y = np.tile(np.repeat(np.arange(way), per_class), (count, 1)).astype(np.int32)
    return x, y


def minibatch_indices(count: int, seed: int, split: str, examples: int, steps: int, batch: int) -> np.ndarray:
    """Minibatch indices `[count, steps, batch]`, fixed per problem so every optimizer sees the same."""
    rng = np.random.default_rng([seed, 7, len(split)])
    return np.stack(
        [[rng.choice(examples, batch, replace=False) for _ in range(steps)] for _ in range(count)]
    ).astype(np.int32)

"""MNIST problems for the optimizer track, the paper's own dataset, through TensorFlow Datasets.

Needs a download on first use (or an already prepared TFDS `mnist` in `cache`); the offline default of
the track is Omniglot (`tfmeta.tasks.omniglot_pool`). A problem is a random subset of `examples` images
of the MNIST `train` split (training problems) or `test` split (held-out problems).
"""

from __future__ import annotations

import functools
import os

import numpy as np

from tfmeta.tasks.base import rng_for


class MnistUnavailableError(RuntimeError):
    """MNIST could not be loaded (no network and no prepared copy)."""


@functools.lru_cache(maxsize=2)
def _split(split: str, cache: str | None) -> tuple[np.ndarray, np.ndarray]:
    import tensorflow_datasets as tfds

    try:
        x, y = tfds.as_numpy(
            tfds.load("mnist", split=split, batch_size=-1, as_supervised=True, data_dir=cache)
        )
    except Exception as err:  # noqa: BLE001 - TFDS raises many kinds; all mean "not available"
        raise MnistUnavailableError(
            f"MNIST could not be loaded through TensorFlow Datasets ({type(err).__name__}: {err}); it "
            "needs a download on first use. Offline, use the Omniglot families (mlp_omniglot and variants)."
        ) from err
    return x, y


def sample_classification(
    count: int, seed: int, split: str, examples: int, cache: str | os.PathLike | None, size: int = 28
) -> tuple[np.ndarray, np.ndarray]:
    """`count` problems of `examples` MNIST images `[count, examples, size, size, 1]` in [0, 1], labels."""
    x, y = _split("train" if split == "train" else "test", None if cache is None else str(cache))
    rng = rng_for(seed, split)
    chosen = np.stack([rng.choice(len(x), examples, replace=False) for _ in range(count)])
    images = x[chosen].astype(np.float32) / 255.0
    factor = 28 // size
    if factor > 1:
        images = images.reshape(count, examples, size, factor, size, factor, 1).mean(axis=(3, 5))
    return images, y[chosen].astype(np.int32)

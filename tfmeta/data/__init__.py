"""Data: dataset preparation, named class splits, episodes."""

from __future__ import annotations

import os

from tfmeta.data.splits import ClassSet, build_class_set

DATASETS = ("omniglot", "mini_imagenet")


def load_class_sets(
    dataset: str,
    split: str,
    parts: set[str],
    data_dir: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
) -> dict[str, ClassSet]:
    """The class sets of the requested parts of a named split, preparing the dataset if needed."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; valid datasets: {', '.join(DATASETS)}")
    if dataset == "mini_imagenet":
        from tfmeta.data import mini_imagenet

        return mini_imagenet.load_class_sets(split, parts, data_dir, cache)
    from tfmeta.data.omniglot import load_characters

    characters = load_characters(data_dir, cache)
    return {part: build_class_set(split, part, characters) for part in sorted(parts)}

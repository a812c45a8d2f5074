"""Frozen episode files written from a benchmark's class lists alone, before any image exists.

A frozen episode set is a pure function of its key and the class list it indexes (see
`tfmeta.data.episodes`). Where tfmeta ships the class lists (miniImageNet: the Ravi split CSVs, 600 images
per class), every file a benchmark's profiles use can be written without the images, committed beside the
spec, and later checked by `tfmeta run` against the prepared classes. Omniglot's files come from `tfmeta run`.

    python -m tfmeta.harness.freeze benchmarks/mini_imagenet.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path

from tfmeta.config import specs
from tfmeta.core.episode_index import EpisodeKey
from tfmeta.data.episodes import FrozenEpisodes
from tfmeta.harness import planning


def class_list(dataset: str, split: str, part: str) -> tuple[tuple[str, ...], int]:
    """(sorted class names, examples per class) of a split part, known without the images."""
    if dataset != "mini_imagenet":
        raise ValueError(f"the class lists of {dataset} need its prepared data; run `tfmeta run` instead")
    from tfmeta.data.mini_imagenet import IMAGES_PER_CLASS, class_names

    return tuple(class_names(split, part)), IMAGES_PER_CLASS


def episode_keys(benchmark: specs.Benchmark) -> list[EpisodeKey]:
    """Every test and validation key of every profile and setting of a benchmark, without repeats."""
    keys = []
    for profile in benchmark.data["profiles"]:
        for setting in benchmark.data["settings"]:
            options = planning.RunOptions(
                benchmark.path, "protonet", profile, setting["way"], setting["shot"]
            )
            plan = planning.plan(options)  # the method does not change the keys
            keys += [key for key in (plan.test_key, plan.validation_key) if key not in keys]
    return keys


def freeze(spec_path: str | Path, directory: Path | None = None) -> list[FrozenEpisodes]:
    """Writes (or checks) the frozen episode files of a benchmark into `directory` (default: beside it).

    Raises:
        ValueError: an existing file differs from the episodes its key and class list define.
    """
    benchmark = specs.load(spec_path)
    directory = Path(directory or benchmark.episodes_dir)
    written = []
    for key in episode_keys(benchmark):
        names, n_examples = class_list(key.dataset, key.split, key.part)
        episodes = FrozenEpisodes.draw(key, names, n_examples)
        path = directory / key.filename
        if path.exists() and FrozenEpisodes.load(path).hash != episodes.hash:
            raise ValueError(f"{path} differs from the episodes of its key; delete it to regenerate")
        if not path.exists():
            episodes.save(path)
        written.append(episodes)
    return written


if __name__ == "__main__":
    for episodes in freeze(sys.argv[1]):
        print(episodes.key.filename, episodes.hash)

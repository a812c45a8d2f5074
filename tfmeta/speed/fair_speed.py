"""tfmeta's ProtoNet training step against a reference implementation, timed so the ratio can be trusted.

- Each side runs in a process of its own, and they take turns: while one times its repeat, the other
  waits on a pipe with its thread pools idle (in one process, PyTorch ran at half speed beside
  TensorFlow's pools and flattered tfmeta's ratio).
- Both train on the same episodes: drawn here from one seed, turned into arrays by each side before it
  times anything; each side reports the hash of what it holds, and a mismatch stops the comparison.
- Each side runs at its best setting: tfmeta as `tfmeta run` trains (`model.fit`), the reference at the
  fastest of its documented settings (`tfmeta.speed.torch_reference`).
- A ratio is written only when both sides' spreads are within MAX_SPREAD; otherwise the machine was too
  busy for one, and the row says so.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from dataclasses import dataclass

import numpy as np

from tfmeta.speed.speed import Timing

COMPARED = ((5, 1, 15), (20, 1, 15))
MAX_SPREAD = 0.10  # (max - min) / median of either side above this: no ratio
SETTLE_SECONDS = 0.2  # a pause between turns, for the finished side's worker threads to stop spinning


@dataclass(frozen=True)
class Row:
    setting: str  # "5-way 1-shot 15-query"
    tfmeta: Timing  # ms per training episode
    reference: Timing
    tfmeta_setting: str
    reference_setting: str

    @property
    def ratio(self) -> float | None:
        """tfmeta's median over the reference's, or None when either spread is above MAX_SPREAD."""
        if self.busy:
            return None
        return self.tfmeta.median / self.reference.median

    @property
    def busy(self) -> bool:
        return max(self.tfmeta.spread, self.reference.spread) > MAX_SPREAD


def episode_indices(class_set, way: int, shot: int, query: int, count: int, seed: int = 0) -> list:
    """`count` training episodes as index arrays (`tfmeta.data.episodes.sample_indices`), from one seed."""
    from tfmeta.data.episodes import sample_indices

    rng = np.random.default_rng(seed)
    n_classes, n_examples = class_set.images.shape[:2]
    return [sample_indices(rng, n_classes, n_examples, way, shot, query) for _ in range(count)]


def materialized(class_set, indices: list, shot: int) -> tuple[list, str]:
    """The episodes as arrays, and their sha256 (what both sides must agree on)."""
    from tfmeta.data.episodes import materialize

    episodes = [materialize(class_set, *index, shot) for index in indices]
    digest = hashlib.sha256()
    for data, labels in episodes:
        for array in (data["support_images"], data["query_images"], labels):
            digest.update(np.ascontiguousarray(array).tobytes())
    return episodes, digest.hexdigest()


def _tfmeta_side(class_set, indices, way, shot, query, data_dir, cache_dir):
    import tensorflow as tf

    from tfmeta.data import pipelines
    from tfmeta.speed import speed

    episodes, digest = materialized(class_set, indices, shot)
    steps = speed.Steps.build(
        "protonet", "omniglot", "standard", len(episodes), data_dir, cache_dir, setting=(way, shot, query)
    )
    stacked = {key: np.stack([data[key] for data, _ in episodes]) for key in episodes[0][0]}
    labels = np.stack([labels for _, labels in episodes])
    dataset = tf.data.Dataset.from_tensor_slices((stacked, labels)).repeat()
    dataset = dataset.prefetch(pipelines.PREFETCH).with_options(pipelines.options())
    steps.per_episode_ms(dataset)  # warm-up on these episodes' shapes
    described = f"TensorFlow {tf.__version__}, `model.fit` as `tfmeta run` trains"
    return (lambda: steps.per_episode_ms(dataset)), described, digest


def _pytorch_side(class_set, indices, way, shot, query, data_dir, cache_dir):
    from tfmeta.speed import torch_reference

    episodes, digest = materialized(class_set, indices, shot)
    once, described = torch_reference.stepper(episodes)
    return once, described, digest


SIDES = {"tfmeta": _tfmeta_side, "pytorch": _pytorch_side}


def _worker(connection, side: str, arguments: tuple) -> None:
    once, described, digest = SIDES[side](*arguments)
    connection.send((described, digest))
    while connection.recv():
        connection.send(once())


class Side:
    """One side's step, built once in a process of its own; each call times one repeat there."""

    def __init__(self, side: str, *arguments):
        context = multiprocessing.get_context("spawn")
        self.side = side
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, side, arguments), daemon=True)
        self.process.start()
        child.close()  # the child's end lives in the child now; so its exit reaches `recv` as EOFError
        self.described, self.digest = self._receive()  # built and warmed up

    def __call__(self) -> float:
        self.connection.send(True)
        return self._receive()

    def _receive(self):
        try:
            return self.connection.recv()
        except EOFError:
            self.process.join()
            raise RuntimeError(
                f"the {self.side} process ended (exit code {self.process.exitcode}); its traceback is above"
            ) from None

    def close(self) -> None:
        if self.process.is_alive():
            self.connection.send(False)
        self.process.join()


def compare(
    repeats: int,
    episodes: int,
    data_dir=None,
    cache_dir=None,
    reference: str = "pytorch",
    settings=COMPARED,
) -> list[Row] | str:
    """tfmeta's step against `reference` at each (way, shot, query), in alternating turns; or why not.

    `reference="tfmeta"` compares tfmeta with itself: a check of the procedure (its ratio should read 1).
    """
    if reference == "pytorch":
        try:
            import torch  # noqa: F401
        except ImportError:
            return 'PyTorch is not installed; `pip install "tfmeta[compare]"` adds it.'
    from tfmeta.data import load_class_sets

    train = load_class_sets("omniglot", "vinyals", {"train"}, data_dir, cache_dir)["train"]
    rows = []
    for way, shot, query in settings:
        arguments = (train, episode_indices(train, way, shot, query, episodes), way, shot, query)
        ours = Side("tfmeta", *arguments, data_dir, cache_dir)
        try:
            theirs = Side(reference, *arguments, data_dir, cache_dir)
        except BaseException:
            ours.close()
            raise
        try:
            if ours.digest != theirs.digest:
                raise RuntimeError(
                    f"the two sides hold different episodes ({ours.digest[:12]} against "
                    f"{theirs.digest[:12]}): the comparison would not be of the same work"
                )
            mine, other = [], []
            for _ in range(repeats):
                for side, times in ((ours, mine), (theirs, other)):
                    time.sleep(SETTLE_SECONDS)
                    times.append(side())
        finally:
            ours.close()
            theirs.close()
        rows.append(Row(f"{way}-way {shot}-shot {query}-query", Timing(tuple(mine)), Timing(tuple(other)),
                        ours.described, theirs.described))  # fmt: skip
    return rows


def table(rows: list[Row] | str) -> str:
    """The markdown table of the comparison; a busy row shows both timings and no ratio."""
    if isinstance(rows, str):
        return rows
    lines = ["| training episode | tfmeta (ms) | reference (ms) | tfmeta / reference |", "|---|---|---|---|"]
    for r in rows:
        ratio = (
            f"{r.ratio:.2f}"
            if r.ratio is not None
            else f"not written: a spread above {100 * MAX_SPREAD:.0f}% (the machine was busy)"
        )
        lines.append(
            f"| {r.setting} | {r.tfmeta.median:.1f} ± {100 * r.tfmeta.spread:.0f}% | "
            f"{r.reference.median:.1f} ± {100 * r.reference.spread:.0f}% | {ratio} |"
        )
    sides = dict.fromkeys(f"tfmeta: {r.tfmeta_setting}; reference: {r.reference_setting}" for r in rows)
    return "\n".join([*lines, "", *(f"Settings: {s}." for s in sides)])

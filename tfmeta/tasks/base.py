"""The task-family contract of the optimizer track.

A task family samples optimisation problems (optimizees); a learned optimizer is meta-trained on
problems of one family and tested on held-out problems of it or of another. The design follows the
task families of learned_optimization (Metz et al. 2022): small objects, a shared contract test.

Problems are batched: `B` independent problems share one leading axis on every parameter and data
tensor, and `loss` returns one loss per problem. Summing those losses gives every problem's own
gradient, so coordinatewise optimizers (all of this track's) run `B` problems at once exactly as they
would run each alone.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

SPLITS = ("train", "test")


@dataclass
class Problems:
    """A batch of `B` sampled problems.

    Attributes:
        params: initial parameters, each `[B, ...]` float32.
        data: the problems' fixed data (matrices, images, minibatch indices), each `[B, ...]`.
    """

    params: list[tf.Tensor]
    data: dict[str, tf.Tensor]

    @property
    def size(self) -> int:
        return int(self.params[0].shape[0])


class TaskFamily(abc.ABC):
    """A distribution over optimisation problems.

    Class attributes a family declares:
        name: its registry name, also in every record.
        needs_data: whether it reads a dataset; the registry then passes `data_dir` and `cache_dir` to its
            constructor. Defaults to False.
    """

    name: str = "task"
    needs_data: bool = False

    @abc.abstractmethod
    def sample(self, count: int, seed: int, split: str, steps: int) -> Problems:
        """`count` problems drawn from `split` ("train" or "test") with `seed`, for runs of `steps` steps."""

    @abc.abstractmethod
    def loss(self, params: list[tf.Tensor], data: dict[str, tf.Tensor], step) -> tf.Tensor:
        """The training loss each optimizer sees at `step` (a minibatch loss where there is data): `[B]`."""

    def eval_loss(self, params: list[tf.Tensor], data: dict[str, tf.Tensor]) -> tf.Tensor:
        """The loss recorded in the curves (full-task loss): `[B]`. Defaults to `loss` at step 0."""
        return self.loss(params, data, 0)

    def config(self) -> dict:
        return {"name": self.name}


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")


def rng_for(seed: int, split: str) -> np.random.Generator:
    """Independent random streams for training and held-out problems with the same seed."""
    check_split(split)
    return np.random.default_rng([seed, SPLITS.index(split)])


def check_declared(cls: type) -> None:
    """Checks that a task family implements `sample` and `loss`, with the contract's signatures.

    Raises:
        tfmeta.core.contract.ContractError: naming the hook and the class.
    """
    from tfmeta.core.contract import check_hooks

    check_hooks(
        cls,
        TaskFamily,
        required=("sample", "loss"),
        methods=("sample", "loss", "eval_loss", "config"),
        attributes={"name": str, "needs_data": bool},
    )

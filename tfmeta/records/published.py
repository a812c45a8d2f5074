"""The papers' own numbers, from one file (`tfmeta/records/data/published.json`) that README, docs and the
leaderboard all read: each result with its paper, table and protocol (batch-norm mode, training classes).
They are context for tfmeta's entries, never ranked: other code, budgets and test episodes."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

from tfmeta.records import store


@dataclass(frozen=True)
class Published:
    method: str  # the registered tfmeta method it corresponds to
    label: str
    paper: str
    source: str
    dataset: str
    split: str
    protocol: dict
    accuracy: dict  # "5w1s" -> %

    def at(self, way: int, shot: int) -> float | None:
        return self.accuracy.get(f"{way}w{shot}s")


@functools.cache
def load() -> tuple[Published, ...]:
    """Every published result, checked against `schemas/published.schema.json`."""
    data = json.loads(resources.files("tfmeta.records").joinpath("data", "published.json").read_text())
    store.check_schema(data, store.schema("published"))
    return tuple(Published(**result) for result in data["results"])


def for_benchmark(dataset: str, split: str) -> list[Published]:
    return [p for p in load() if (p.dataset, p.split) == (dataset, split)]


def for_method(method: str, dataset: str, split: str) -> list[Published]:
    """The published results of a tfmeta method on a dataset and split (several where a paper reports
    several protocols, such as Reptile with and without transduction)."""
    return [p for p in for_benchmark(dataset, split) if p.method == method]

"""The more-shots analysis for the Methods page: how models trained at one shot answer test episodes with
more shots.

An in-context learner's records tested with more shots than training had carry `analysis.more_shots`:
their accuracy on the same test episodes with the support cut to the training shot, beside the record's
own at the test shot. The metric methods' same numbers come from their own records at the two shots
(one training, tested on each setting's frozen episodes), for comparison: a prototype takes extra shots
by construction, a sequence model meets a longer input than it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tfmeta.records.entries import entry_key, training_seed
from tfmeta.records.frames.tables import entry_labels
from tfmeta.records.report import METRIC_METHODS

Entry = tuple[Path, dict]
COLUMNS = ["method", "source", "shots", "accuracy", "seeds"]
CUT = "same test episodes, support cut to the training shot"
OWN = "own records at each shot"


@dataclass(frozen=True)
class MoreShots:
    """One comparison: models trained at `trained_shot` on `benchmark` (`profile`), tested `way`-way at
    `trained_shot` and `test_shot`. `frame` has one row per (method, shots): `accuracy` in %, the mean
    over the `seeds` training seeds with records at that point, and its `source` (`CUT` or `OWN`)."""

    benchmark: str
    profile: str
    way: int
    trained_shot: int
    test_shot: int
    frame: pd.DataFrame

    @property
    def title(self) -> str:
        return (
            f"{self.benchmark} {self.way}-way, {self.profile} profile: trained at {self.trained_shot} "
            f"shot{'s' * (self.trained_shot > 1)}, tested at {self.trained_shot} and {self.test_shot}"
        )

    def gains(self) -> pd.DataFrame:
        """Per method: accuracy at the test shot minus at the training shot, in points."""
        wide = self.frame.pivot_table(index=["method", "source"], columns="shots", values="accuracy")
        gain = (wide[self.test_shot] - wide[self.trained_shot]).rename("gain")
        return gain.reset_index().sort_values("gain", ascending=False, ignore_index=True)


def more_shots(
    entries: list[Entry], method: str, against: tuple[str, ...] = METRIC_METHODS
) -> list[MoreShots]:
    """The comparisons a method's records hold `analysis.more_shots` for, one per benchmark, profile, way
    and pair of shots, each with the `against` methods' entries trained at the same shot that have
    records at both shots (none where they have not)."""
    records = [record for _, record in entries]
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        block = (record.get("analysis") or {}).get("more_shots")
        if record["method"]["name"] == method and block:
            b = record["benchmark"]
            key = (b["name"], record["profile"], b["way"], block["trained_shot"], block["test_shot"])
            groups.setdefault(key, []).append(record)
    found = []
    for (benchmark, profile, way, trained, tested), mine in sorted(groups.items()):
        compared = [
            record
            for record in records
            if record["method"]["name"] in against
            and (record["benchmark"]["name"], record["profile"], record["benchmark"]["way"])
            == (benchmark, profile, way)
            and (record["config"].get("train") or {}).get("shot") == trained
            and record["benchmark"]["shot"] in (trained, tested)
        ]
        labels = dict(zip(map(id, mine + compared), entry_labels(mine + compared), strict=True))
        rows = _cut_rows(mine, labels, trained) + _own_rows(compared, labels, trained, tested)
        frame = pd.DataFrame(rows, columns=COLUMNS)
        found.append(MoreShots(benchmark, profile, way, trained, tested, frame))
    return found


def _cut_rows(records: list[dict], labels: dict, trained: int) -> list[dict]:
    """Rows of the in-context method's entries: at the training shot from its `more_shots` block, at the
    test shot from the record's own accuracy, both on the same episodes."""
    rows = []
    for label, members in _by_entry(records, labels).items():
        blocks = [record["analysis"]["more_shots"] for record in members]
        cut = [_mean(block["per_episode_at_trained_shot"]) for block in blocks]
        full = [_mean(record["per_episode"]) for record in members]
        seeds = len({training_seed(record) for record in members})
        rows.append(_row(label, CUT, trained, cut, seeds))
        rows.append(_row(label, CUT, blocks[0]["test_shot"], full, seeds))
    return rows


def _own_rows(records: list[dict], labels: dict, trained: int, tested: int) -> list[dict]:
    """Rows of the compared entries that have records at both shots: each shot's mean over its seeds."""
    rows = []
    for label, members in _by_entry(records, labels).items():
        at = {shot: [r for r in members if r["benchmark"]["shot"] == shot] for shot in (trained, tested)}
        if not all(at.values()):
            continue
        for shot, chosen in at.items():
            accuracies = [_mean(record["per_episode"]) for record in chosen]
            rows.append(_row(label, OWN, shot, accuracies, len({training_seed(r) for r in chosen})))
    return rows


def _by_entry(records: list[dict], labels: dict) -> dict[str, list[dict]]:
    """Records grouped by entry (`entries.entry_key`), under the entry's label, one record per seed and
    shot (the newest)."""
    newest: dict[tuple, dict] = {}
    for record in sorted(records, key=lambda r: r["provenance"]["created"]):
        newest[(entry_key(record), training_seed(record), record["benchmark"]["shot"])] = record
    groups: dict[str, list[dict]] = {}
    for record in newest.values():
        groups.setdefault(labels[id(record)], []).append(record)
    return groups


def _row(label: str, source: str, shots: int, accuracies: list[float], seeds: int) -> dict:
    return {
        "method": label,
        "source": source,
        "shots": shots,
        "accuracy": 100 * sum(accuracies) / len(accuracies),
        "seeds": seeds,
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)

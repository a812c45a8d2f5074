"""Accuracy against training compute for one ranked table, with the Pareto front marked.

Training compute is the record's meta-training wall time times the CPU cores its machine had (records
carry no finer count); an entry whose training was reused from another setting's record still shows that
training's cost, because it is what reproducing the entry takes. An entry is on the Pareto front when no
other entry is at least as accurate for at most the compute and strictly better in one of the two.
"""

from __future__ import annotations

import pandas as pd

from tfmeta.records.frames.tables import Table, entry_labels


def cpu_seconds(record: dict) -> float | None:
    """Training CPU-seconds (wall seconds times cores); None when the record has no training time."""
    seconds = record["timing"].get("train_seconds")
    if not seconds or seconds <= 0:
        return None
    cores = (record["provenance"].get("hardware") or {}).get("cpu_count") or 1
    return float(seconds) * int(cores)


def compute_frame(table: Table) -> pd.DataFrame:
    """One row per entry with a training time: entry, accuracy and CI (%), CPU-seconds, on the front."""
    records = [record for _, record in table.entries]
    rows = [
        {
            "entry": label,
            "accuracy": 100 * record["accuracy"]["mean"],
            "ci95": 100 * record["accuracy"]["ci95"],
            "cpu_seconds": cost,
            "accelerators": ", ".join(
                map(str, record["provenance"].get("hardware", {}).get("accelerators", []))
            ),
        }
        for record, label in zip(records, entry_labels(records), strict=True)
        if (cost := cpu_seconds(record)) is not None
    ]
    frame = pd.DataFrame(rows, columns=["entry", "accuracy", "ci95", "cpu_seconds", "accelerators"])
    frame["pareto"] = pareto_front(list(zip(frame["cpu_seconds"], frame["accuracy"], strict=True)))
    return frame


def pareto_front(points: list[tuple[float, float]]) -> list[bool]:
    """For each (cost, accuracy), whether no other point dominates it (cheaper-or-equal and at least as
    accurate, strictly better in one)."""
    return [
        not any(
            c <= cost and a >= accuracy and (c < cost or a > accuracy)
            for j, (c, a) in enumerate(points)
            if j != i
        )
        for i, (cost, accuracy) in enumerate(points)
    ]

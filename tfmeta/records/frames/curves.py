"""Learning curves: validation accuracy and loss against training episodes and wall-clock seconds.

One training serves every test setting of a benchmark, so records sharing a training share a curve;
identical curves are counted once. One line per entry (method and variant); an entry's training seeds
give a mean with a 95% band across them, and a single seed no band.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from tfmeta.core.stats import t_ci95
from tfmeta.records.entries import training_seed
from tfmeta.records.frames.tables import entry_labels

METRICS = {
    "val_accuracy": "validation accuracy (%)",
    "val_loss": "validation loss",
    "accuracy": "training accuracy (%)",
    "loss": "training loss",
}
_PERCENT = {"val_accuracy", "accuracy"}


def curve_points(entries: Iterable[tuple[Path, dict]]) -> pd.DataFrame:
    """Long frame of every distinct curve: columns benchmark, profile, method (the entry's label: method
    and variant, see `tables.entry_labels`), run (its training seed), episode, seconds, metric, value
    (accuracies in %)."""
    records = [record for _, record in entries]
    rows, seen = [], set()
    for record, label in zip(records, entry_labels(records), strict=True):
        seed = training_seed(record)
        identity = json.dumps([label, record["profile"], seed, record["curve"]], sort_keys=True)
        if not record["curve"] or identity in seen:
            continue
        seen.add(identity)
        for point in record["curve"]:
            for metric in METRICS:
                value = point.get(metric)
                if value is None:
                    continue
                rows.append(
                    {
                        "benchmark": record["benchmark"]["name"],
                        "profile": record["profile"],
                        "method": label,
                        "run": seed,
                        "episode": point["episode"],
                        "seconds": point["seconds"],
                        "metric": metric,
                        "value": 100 * value if metric in _PERCENT else value,
                    }
                )
    columns = ["benchmark", "profile", "method", "run", "episode", "seconds", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def curve_bands(points: pd.DataFrame) -> pd.DataFrame:
    """Mean over an entry's training seeds per (benchmark, profile, entry, metric, episode), with a 95%
    Student-t band across the seeds (none for one seed: lower = upper = mean; accuracies clipped to
    [0, 100], losses to >= 0) and the mean wall-clock seconds at that episode; `runs` counts the seeds."""
    keys = ["benchmark", "profile", "method", "metric", "episode"]
    rows = []
    for key, group in points.groupby(keys, sort=True):
        by_seed = group.groupby("run")["value"].mean()
        mean, spread = t_ci95(list(by_seed))
        spread = spread or 0.0
        top = 100.0 if key[3] in _PERCENT else float("inf")
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "seconds": group["seconds"].mean(),
                "mean": mean,
                "lower": max(0.0, mean - spread),
                "upper": min(top, mean + spread),
                "runs": len(by_seed),
            }
        )
    return pd.DataFrame(rows, columns=[*keys, "seconds", "mean", "lower", "upper", "runs"])

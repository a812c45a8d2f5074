"""Learning curves: validation accuracy and loss against training episodes and wall-clock seconds.

One training serves every test setting of a benchmark, so records sharing a training share a curve;
identical curves are counted once. Several distinct runs of a method (seeds) give a mean with a 95% band.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from tfmeta.records.stats import mean_ci95

METRICS = {
    "val_accuracy": "validation accuracy (%)",
    "val_loss": "validation loss",
    "accuracy": "training accuracy (%)",
    "loss": "training loss",
}
_PERCENT = {"val_accuracy", "accuracy"}


def curve_points(entries: Iterable[tuple[Path, dict]]) -> pd.DataFrame:
    """Long frame of every distinct curve: columns benchmark, profile, method, run, episode, seconds,
    metric, value (accuracies in %)."""
    rows, seen = [], set()
    for _, record in entries:
        identity = json.dumps([record["method"]["name"], record["profile"], record["curve"]], sort_keys=True)
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
                        "method": record["method"]["name"],
                        "run": len(seen),
                        "episode": point["episode"],
                        "seconds": point["seconds"],
                        "metric": metric,
                        "value": 100 * value if metric in _PERCENT else value,
                    }
                )
    columns = ["benchmark", "profile", "method", "run", "episode", "seconds", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def curve_bands(points: pd.DataFrame) -> pd.DataFrame:
    """Mean over runs per (benchmark, profile, method, metric, episode), with a 95% CI band and the
    mean wall-clock seconds at that episode; `runs` counts the runs behind each point."""
    keys = ["benchmark", "profile", "method", "metric", "episode"]
    rows = []
    for key, group in points.groupby(keys, sort=True):
        mean, ci95 = mean_ci95(list(group["value"]))
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "seconds": group["seconds"].mean(),
                "mean": mean,
                "lower": mean - ci95,
                "upper": mean + ci95,
                "runs": len(group),
            }
        )
    return pd.DataFrame(rows, columns=[*keys, "seconds", "mean", "lower", "upper", "runs"])

"""The optimizer track: loss against optimizer step, per task family and optimizer.

Records of this track have `"kind": "optimizer"`, a `task` name, an `optimizer` name and a `curve` of
`{"step", "loss"}` points, one record per seed. None exist yet (the learned-optimizer track is still to
come); the page and this module are ready for them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tfmeta.bench.stats import mean_ci95

KIND = "optimizer"
BASELINES = ("sgd", "momentum", "nag", "adam", "rmsprop", "adagrad")


def optimizer_records(entries: list[tuple[Path, dict]]) -> list[dict]:
    return [record for _, record in entries if record.get("kind") == KIND]


def loss_bands(records: list[dict]) -> pd.DataFrame:
    """Mean loss and 95% band over seeds per (task, optimizer, step)."""
    values: dict[tuple[str, str, int], list[float]] = {}
    for record in records:
        for point in record.get("curve", []):
            key = (record["task"], record["optimizer"], point["step"])
            values.setdefault(key, []).append(point["loss"])
    rows = []
    for (task, optimizer, step), losses in sorted(values.items()):
        mean, ci95 = mean_ci95(losses)
        rows.append(
            {
                "task": task,
                "optimizer": optimizer,
                "step": step,
                "mean": mean,
                "lower": mean - ci95,
                "upper": mean + ci95,
                "runs": len(losses),
            }
        )
    return pd.DataFrame(rows, columns=["task", "optimizer", "step", "mean", "lower", "upper", "runs"])

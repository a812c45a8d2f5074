"""Optimizer-track records: schema, summaries recomputed from per-problem losses, atomic I/O.

One record holds one optimizer's losses on every held-out problem of one task family, step by step, so
every summary (curve with 95% CI, final loss, area under the curve) is recomputed, never trusted. Records
live in their own folder, `optimizers/` inside the results folder, apart from the few-shot records.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from tfmeta.core.stats import mean_ci95
from tfmeta.records import store
from tfmeta.records.store import RecordError

KIND = "optimizer"
SUBFOLDER = "optimizers"
_TOLERANCE = 1e-6


def schema() -> dict:
    return store.schema("optimizer_record")


def _summary(values: list[float | None]) -> dict:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if len(finite) < len(values):  # a diverged problem makes the mean meaningless: say so
        return {"mean": None, "ci95": None, "n_tasks": len(values)}
    mean, ci95 = mean_ci95(finite)
    return {"mean": mean, "ci95": ci95, "n_tasks": len(values)}


def summaries(per_task: list[list[float | None]]) -> dict[str, Any]:
    """`curve`, `final_loss` and `auc` of a record from its per-problem losses."""
    steps = len(per_task[0])
    curve = []
    for step in range(steps):
        s = _summary([losses[step] for losses in per_task])
        curve.append({"step": step, "loss": s["mean"], "ci95": s["ci95"]})
    areas = [None if None in losses else math.fsum(losses) / steps for losses in per_task]
    return {
        "curve": curve,
        "final_loss": _summary([losses[-1] for losses in per_task]),
        "auc": _summary(areas),
    }


def steps_to(curve: list[dict], target: float | None) -> int | None:
    """The first step whose mean loss is at or below `target` (None if never or no target)."""
    if target is None:
        return None
    return next((p["step"] for p in curve if p["loss"] is not None and p["loss"] <= target), None)


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)


def check(record: Any) -> None:
    """Validates an optimizer record and recomputes its summaries from `per_task`.

    Raises:
        RecordError: with the first problem found, naming the field.
    """
    store.check_schema(record, schema())
    per_task = record["per_task"]
    if record["n_tasks"] != len(per_task) or any(len(row) != record["horizon"] + 1 for row in per_task):
        raise RecordError("per_task must hold n_tasks rows of horizon + 1 losses")
    expected = summaries(per_task)
    for name in ("final_loss", "auc"):
        for key in ("mean", "ci95"):
            if not _close(record[name][key], expected[name][key]):
                raise RecordError(
                    f"{name}.{key} is {record[name][key]} but per_task gives {expected[name][key]}"
                )
    for stored, point in zip(record["curve"], expected["curve"], strict=False):
        if stored["step"] != point["step"] or not _close(stored["loss"], point["loss"]):
            raise RecordError(f"curve at step {point['step']} disagrees with per_task")
    if len(record["curve"]) != len(expected["curve"]):
        raise RecordError("curve must have one point per step of per_task")


def write(record: dict, directory: str | Path, filename: str | None = None) -> Path:
    """Checks and writes a record atomically (never overwriting); the file name defaults to
    `<track>-<profile>-<task>-<optimizer>-<created>.json`."""
    if filename is None:
        stamp = record["provenance"]["created"].replace(":", "").replace("-", "")[:15]
        parts = [record["track"], record["profile"], record["task"], record["optimizer"], stamp]
        filename = "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", part).strip("_") for part in parts) + ".json"
    return store.write(record, directory, filename, check)


def load_all(directory: str | Path) -> store.Loaded:
    """The readable optimizer records of a folder and the skipped files with their reasons."""
    return store.load_all(directory, check)

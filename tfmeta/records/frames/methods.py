"""Method pages: what a method is, where its results came from, and how to reproduce each one."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from tfmeta.records import locations
from tfmeta.records.entries import training_seed

Entry = tuple[Path, dict]


def method_names(entries: list[Entry]) -> list[str]:
    return sorted({record["method"]["name"] for _, record in entries})


def entries_of(entries: list[Entry], name: str) -> list[Entry]:
    return [(path, record) for path, record in entries if record["method"]["name"] == name]


def by_entry(entries: list[Entry]) -> dict[str, list[Entry]]:
    """A method's records grouped by entry (`tables.entry_labels`: variant, budget), newest first within
    each, entries in order of their newest record."""
    from tfmeta.records.frames.tables import entry_labels
    from tfmeta.records.locations import is_shipped_results

    newest_first = sorted(entries, key=lambda entry: entry[1]["provenance"]["created"], reverse=True)
    sourced = [
        {**r, "source": "shipped" if is_shipped_results(p.parent) else str(p.parent)} for p, r in newest_first
    ]
    groups: dict[str, list[Entry]] = {}
    for entry, label in zip(newest_first, entry_labels(sourced), strict=True):
        groups.setdefault(label, []).append(entry)
    return groups


def entry_curve(entries: list[Entry]):
    """The validation accuracy (%) of an entry's trainings against training episodes, one line per
    training seed (records sharing a training counted once): columns seed, episode, accuracy."""
    import pandas as pd

    rows, seen = [], set()
    for _, record in entries:
        seed = training_seed(record)
        if seed in seen or not record.get("curve"):
            continue
        seen.add(seed)
        rows += [
            {"seed": f"seed {seed}", "episode": point["episode"], "accuracy": 100 * point["val_accuracy"]}
            for point in record["curve"]
            if point.get("val_accuracy") is not None
        ]
    return pd.DataFrame(rows, columns=["seed", "episode", "accuracy"])


def reproduce_command(record: dict) -> str:
    """The `tfmeta run` command that regenerates a record from its benchmark, method and profile."""
    benchmark, method = record["benchmark"], record["method"]
    spec = portable_spec(str(record["config"].get("spec") or benchmark["name"]))
    target = method["name"] if method["import_path"].startswith("tfmeta.methods.") else method["import_path"]
    words = [
        "tfmeta",
        "run",
        spec,
        "--method",
        target,
        "--profile",
        record["profile"],
        "--way",
        str(benchmark["way"]),
        "--shot",
        str(benchmark["shot"]),
    ]
    if record.get("seed"):
        words += ["--seed", str(record["seed"])]
    for key, value in sorted((record["config"].get("method_config") or {}).items()):
        words += ["--config", f"{key}={json.dumps(value)}"]
    return shlex.join(words)


def portable_spec(spec: str) -> str:
    """A shipped spec by its name; any other as a path the reader supplies (never this machine's)."""
    name = spec.rsplit("/", 1)[-1]
    stem = name.removesuffix(".yaml")
    if "/" not in spec or (locations.benchmarks_dir() / f"{stem}.yaml").is_file():
        return stem
    return f"PATH/TO/{name}"


def without_nulls(value):
    """A record's configuration for display: nulls (an argument left at its default) dropped."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def provenance_summary(record: dict) -> dict:
    """The provenance fields people look at first, flattened for display."""
    origin = record["provenance"]
    hardware = origin.get("hardware") or {}
    packages = origin.get("packages") or {}
    return {
        "created": origin.get("created"),
        "tfmeta": origin.get("tfmeta_version"),
        "git commit": (origin.get("git_commit") or "unknown") + (" (dirty)" * bool(origin.get("git_dirty"))),
        "packages": ", ".join(f"{k} {v}" for k, v in sorted(packages.items()) if v),
        "hardware": _hardware(hardware),
        "seeds": json.dumps(origin.get("seeds", {}), sort_keys=True),
        "recorded command": origin.get("command") or "",
    }


def _hardware(hardware: dict) -> str:
    cpu = hardware.get("cpu") or ""
    if hardware.get("cpu_id"):
        cpu = f"{cpu} ({hardware['cpu_id']})".strip()
    parts = [cpu, *(hardware.get("accelerators") or [])]
    if hardware.get("cpu_count"):
        parts.insert(1, f"{hardware['cpu_count']} cores")
    if hardware.get("simd"):
        parts.append(" ".join(hardware["simd"]))
    return ", ".join(str(part) for part in parts if part)


def analysis_frames(record: dict):
    """A record's `analysis` as display tables: (accuracy against m, feature projection), each a pandas
    DataFrame or None when the record has no such analysis."""
    import pandas as pd

    analysis = record.get("analysis") or {}
    by_m = analysis.get("accuracy_vs_m")
    projection = analysis.get("projection")
    by_m_frame = None
    if by_m:
        by_m_frame = pd.DataFrame(by_m).assign(accuracy=lambda f: 100 * f["accuracy"])
    projection_frame = pd.DataFrame(projection).astype({"class": str}) if projection else None
    return by_m_frame, projection_frame

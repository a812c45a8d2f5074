"""Inner-loop curves: query accuracy after each adaptation step, learned rules against standard optimizers.

Records of the optimization-based learners (MAML, Reptile, the meta-learner LSTM, fine-tuning) carry
`analysis.inner_curve`, the method's own adaptation, and `analysis.baseline_curves`, standard optimizers
run from the same start on the same episodes. Laid over each other they answer "does the learned update
rule beat SGD and Adam from the same start?"; `paired_vs_baselines` says whether the gap at the trained
horizon is real. A record whose method config names a `curve_start` carries the same three again from that
other record's trained start (`analysis.curve_start`), so a learned rule also meets the optimizers from a
start it did not learn.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from tfmeta.records.entries import entry_key
from tfmeta.records.frames.tables import entry_labels
from tfmeta.records.verdicts import Verdict, compare, holm

Entry = tuple[Path, dict]


def setting_label(record: dict) -> str:
    b = record["benchmark"]
    return f"{b['name']} {b['way']}-way {b['shot']}-shot ({record['profile']})"


def curve_records(entries: Iterable[Entry]) -> list[Entry]:
    """The records that carry an inner-loop curve, newest first."""
    found = [(p, r) for p, r in entries if "inner_curve" in (r.get("analysis") or {})]
    return sorted(found, key=lambda entry: entry[1]["provenance"]["created"], reverse=True)


def starts(record: dict) -> list[tuple[str, dict]]:
    """The starts a record's curves ran from, each with its block of curves: the method's own start
    (named by the method) and, with a `curve_start`, that record's method's."""
    analysis = record["analysis"]
    found = [(record["method"]["name"], analysis)]
    if "curve_start" in analysis:
        found.append((analysis["curve_start"]["method"], analysis["curve_start"]))
    return found


def curve_frame(entries: Iterable[Entry]) -> pd.DataFrame:
    """Long frame, one row per (entry, start, rule, step): setting, method, entry, start, rule, label,
    step, accuracy / lower / upper (%), loss, trained_steps, record. `entry` names the method and what sets
    its configuration or budget apart (`tables.entry_labels`), so two trainings never share a panel; `rule`
    is the method's own update ("own") or a standard optimizer's name, `label` adds its learning rate;
    `start` is the method whose initialisation they started from (`starts`). One record per (setting,
    entry): the newest."""
    newest: dict[tuple, Entry] = {}
    for path, record in curve_records(entries):
        newest.setdefault((setting_label(record), entry_key(record)), (path, record))
    kept = list(newest.values())
    rows = []
    for (path, record), entry in zip(kept, entry_labels([r for _, r in kept]), strict=True):
        setting, method = setting_label(record), record["method"]["name"]
        for index, (start, block) in enumerate(starts(record)):
            curves = {"own": block["inner_curve"], **block.get("baseline_curves", {})}
            tuning = record["analysis"].get("fine_tuning") if index == 0 else None
            if tuning and curves.get(tuning["optimizer"], {}).get("learning_rate") == tuning["learning_rate"]:
                del curves[tuning["optimizer"]]  # the method's own curve already is this optimizer's
            for rule, curve in curves.items():
                if rule != "own":
                    label = f"{start} start, {rule} ({curve['learning_rate']:g})"
                elif tuning:
                    label = f"{method} start, {tuning['optimizer']} ({tuning['learning_rate']:g})"
                elif index:
                    label = f"{method}'s update from {start}'s start"
                else:
                    label = f"{method}: its own update"
                for step, mean, ci, loss in zip(
                    curve["steps"],
                    curve["accuracy_mean"],
                    curve["accuracy_ci95"],
                    curve["loss_mean"],
                    strict=True,
                ):
                    rows.append({
                        "setting": setting, "method": method, "entry": entry, "start": start, "rule": rule,
                        "label": label,
                        "step": step, "accuracy": 100 * mean, "lower": 100 * (mean - ci),
                        "upper": 100 * (mean + ci), "loss": loss, "trained_steps": curve["trained_steps"],
                        "episodes": curve["episodes"], "record": path.name,
                    })  # fmt: skip
    return pd.DataFrame(rows)


def verdicts(block: dict, alpha: float = 0.05) -> dict[str, Verdict]:
    """The own rule against each standard optimizer from one start, at the trained horizon: the t test
    of `tfmeta.records.verdicts` over the curve episodes (one training seed: episode noise only),
    Holm-corrected over the optimizers of that start. Empty when the block keeps no per-episode
    accuracies."""
    own = block.get("inner_curve", {}).get("accuracy_at_trained_steps")
    curves = block.get("baseline_curves", {})
    rules = [rule for rule in sorted(curves) if curves[rule].get("accuracy_at_trained_steps")]
    if not own or not rules:
        return {}
    comparisons = [compare([own], [curves[rule]["accuracy_at_trained_steps"]]) for rule in rules]
    return dict(zip(rules, holm(comparisons, alpha), strict=True))


def paired_frame(entries: Iterable[Entry]) -> pd.DataFrame:
    """Per record and start, the method's own rule against each standard optimizer from that start, at
    the trained horizon: difference in points (own - optimizer), the interval its verdict used, the
    Holm-adjusted p and the `outcome`."""
    rows = []
    for path, record in curve_records(entries):
        for start, block in starts(record):
            for rule, verdict in verdicts(block).items():
                rows.append({
                    "setting": setting_label(record), "method": record["method"]["name"], "start": start,
                    "against": rule, "learning rate": block["baseline_curves"][rule]["learning_rate"],
                    **_verdict_cells(verdict), "record": path.name,
                })  # fmt: skip
    return pd.DataFrame(rows)


def _verdict_cells(verdict: Verdict) -> dict:
    c = verdict.comparison
    return {
        "own - optimizer (points)": 100 * c.difference,
        "interval (points)": f"[{100 * verdict.low:+.2f}, {100 * verdict.high:+.2f}]",
        "Holm p": verdict.p_adjusted,
        "outcome": verdict.outcome,
        "episodes": c.episodes,
    }


def best_baseline_frame(entries: Iterable[Entry]) -> pd.DataFrame:
    """Per record and start, the method's own rule against the best standard optimizer from that start
    (the highest mean accuracy at the trained horizon, at its tuned rate): both accuracies (%), the
    difference and its `outcome` (Holm-corrected with the other optimizers of the start). The fair
    question for a learned rule: not "does it beat Adam?" but "does it beat the best of them, each
    tuned?"."""
    rows = []
    for path, record in curve_records(entries):
        for start, block in starts(record):
            decided = verdicts(block)
            if not decided:
                continue
            curves, trained = block["baseline_curves"], block["inner_curve"]["trained_steps"]
            best = max(sorted(decided), key=lambda rule: curves[rule]["accuracy_mean"][trained])
            rows.append({
                "setting": setting_label(record), "method": record["method"]["name"], "start": start,
                "own (%)": 100 * block["inner_curve"]["accuracy_mean"][trained], "best optimizer": best,
                "learning rate": curves[best]["learning_rate"],
                "optimizer (%)": 100 * curves[best]["accuracy_mean"][trained],
                **_verdict_cells(decided[best]), "record": path.name,
            })  # fmt: skip
    return pd.DataFrame(rows)

"""The optimizer track: loss against optimizer step, per task family and optimizer.

Records of this track have `"kind": "optimizer"`, a `task` name, an `optimizer` name and either
`per_task` (the loss of each held-out problem at each step, as `tfmeta optimizer-track` writes them; see
`tfmeta.records.optimizer`) or a `curve` of `{"step", "loss"}` points, one record per seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfmeta.core.registries import BASELINES
from tfmeta.core.stats import mean_ci95, paired_comparison
from tfmeta.records.optimizer import KIND
from tfmeta.records.verdicts import Verdict, compare, holm


def optimizer_records(entries: list[tuple[Path, dict]]) -> list[dict]:
    return [record for _, record in entries if record.get("kind") == KIND]


def loss_bands(records: list[dict]) -> pd.DataFrame:
    """Mean loss and 95% band over seeds per (task, optimizer, step)."""
    values: dict[tuple[str, str, int], list[float]] = {}
    for record in records:
        for run in _runs(record):
            for step, loss in run:
                if loss is not None:
                    values.setdefault((record["task"], record["optimizer"], step), []).append(loss)
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


def _runs(record: dict) -> list[list[tuple[int, float | None]]]:
    """The loss curves in a record: one per held-out problem, or the record's single curve."""
    if "per_task" in record:
        return [list(enumerate(losses)) for losses in record["per_task"]]
    return [[(point["step"], point["loss"]) for point in record.get("curve", [])]]


def _plus_minus(summary: dict | None) -> str:
    if not summary or summary.get("mean") is None:
        return "diverged"
    return f"{summary['mean']:.4g} ± {summary['ci95']:.2g}"


def _finals(record: dict) -> list[float] | None:
    finals = [losses[-1] for losses in record.get("per_task", [])]
    return None if not finals or None in finals else finals


def versus_reference(record: dict, reference: dict | None) -> str:
    """Paired comparison of final losses with the reference optimizer on the same held-out problems:
    mean difference (record - reference) +- 95% CI and the Wilcoxon signed-rank p-value."""
    mine, theirs = _finals(record), _finals(reference) if reference else None
    if reference is None or reference is record or mine is None or theirs is None or len(mine) != len(theirs):
        return ""
    c = paired_comparison(mine, theirs)
    return f"{c.mean_difference:+.3g} ± {c.ci95:.2g} (p={c.wilcoxon_p:.2g})"


def summary_frame(records: list[dict]) -> pd.DataFrame:
    """One row per (task, optimizer) record of `tfmeta optimizer-track`, best mean final loss first."""
    references = {
        (r["task"], r.get("profile")): r
        for r in records
        if r["optimizer"] == r.get("reference", {}).get("optimizer")
    }
    rows = []
    for record in records:
        if "final_loss" not in record:
            continue
        tuning = record.get("tuning", {})
        rows.append(
            {
                "task": record["task"],
                "optimizer": record["optimizer"],
                "final loss ± 95% CI": _plus_minus(record["final_loss"]),
                "area under curve": _plus_minus(record.get("auc")),
                f"steps to {record['reference']['optimizer']}'s final loss": record.get("steps_to_reference"),
                "final loss vs reference, paired": versus_reference(
                    record, references.get((record["task"], record.get("profile")))
                ),
                "learning rate": f"{tuning['winner']:g}" if "winner" in tuning else "meta-trained",
                "problems": record["n_tasks"],
                "horizon": f"{record['horizon']} (trained {record['trained_horizon']})",
                "_sort": record["final_loss"]["mean"]
                if record["final_loss"]["mean"] is not None
                else float("inf"),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["task", "_sort"]).drop(columns="_sort").reset_index(drop=True)


def meta_training_curves(records: list[dict]) -> pd.DataFrame:
    """Meta-loss per meta-iteration of every learned optimizer in the records (once per weights file)."""
    rows, seen = [], set()
    for record in records:
        tuning = record.get("tuning", {})
        training = tuning.get("meta_training") or {}
        key = tuning.get("sha256")
        if not training.get("curve") or key in seen:
            continue
        seen.add(key)
        for point in training["curve"]:
            rows.append({"optimizer": record["optimizer"], **point})
    return pd.DataFrame(rows, columns=["optimizer", "iteration", "meta_loss", "seconds"])


def outcomes_frame(records: list[dict], alpha: float = 0.05) -> pd.DataFrame:
    """Each learned optimizer against each tuned baseline on each task: a paired test (Wilcoxon) on the
    final losses of the same held-out problems. `outcome` is "wins" / "loses" where p < alpha, else
    "ties"; an optimizer that diverged on any problem (no final loss) loses to one that did not. The
    `vs tuned adam` column is the learned optimizer's mean final loss over tuned Adam's, the normalised
    score learned_optimization reports (below 1: better than Adam)."""
    rows = []
    for (task, profile), by_name in _by_task(records):
        learned = [name for name in by_name if name not in BASELINES]
        adam = _finals(by_name["adam"]) if "adam" in by_name else None
        for name in sorted(learned):
            mine = _finals(by_name[name])
            for baseline in [b for b in BASELINES if b in by_name]:
                theirs = _finals(by_name[baseline])
                rows.append({
                    "task": task, "profile": profile, "learned": name, "baseline": baseline,
                    "pair": (mine, theirs), "vs tuned adam": _normalised(mine, adam),
                })  # fmt: skip
    _decide(rows, alpha)
    columns = ["task", "profile", "learned", "baseline", "outcome", "difference", "p", "vs tuned adam"]
    return pd.DataFrame(rows, columns=columns)


def best_baseline_frame(records: list[dict], alpha: float = 0.05) -> pd.DataFrame:
    """Each learned optimizer against the best tuned baseline of each task: the baseline with the lowest
    mean final loss on the held-out problems, then the same paired test as `outcomes_frame`.

    Picking the best on the held-out problems themselves favours the baseline, so a "wins" here is
    conservative; it is the comparison the learned optimizer has to pass (Andrychowicz et al. 2016 compare
    with every tuned baseline, not with Adam alone)."""
    rows = []
    for (task, profile), by_name in _by_task(records):
        finals = {name: _finals(by_name[name]) for name in BASELINES if name in by_name}
        ranked = sorted((sum(f) / len(f), name) for name, f in finals.items() if f)
        if not ranked:
            continue
        best = ranked[0][1]
        for name in sorted(n for n in by_name if n not in BASELINES):
            rows.append({
                "task": task, "profile": profile, "learned": name,
                "learned final loss": _plus_minus(by_name[name].get("final_loss")),
                "best baseline": best,
                "learning rate": by_name[best].get("optimizer_config", {}).get("learning_rate"),
                "baseline final loss": _plus_minus(by_name[best].get("final_loss")),
                "pair": (_finals(by_name[name]), finals[best]),
            })  # fmt: skip
    _decide(rows, alpha)
    columns = [
        "task", "profile", "learned", "learned final loss", "best baseline", "learning rate",
        "baseline final loss", "outcome", "difference", "p",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _by_task(records: list[dict]) -> list[tuple[tuple, dict[str, dict]]]:
    """The records that hold per-problem losses, by (task, profile) in order, each by optimizer name."""
    groups: dict[tuple, dict[str, dict]] = {}
    for record in records:
        if "per_task" in record:
            groups.setdefault((record["task"], record.get("profile")), {})[record["optimizer"]] = record
    return sorted(groups.items(), key=lambda item: str(item[0]))


def _normalised(mine: list[float] | None, adam: list[float] | None) -> float | None:
    if not mine or not adam or len(mine) != len(adam) or sum(adam) <= 0:
        return None
    return sum(mine) / sum(adam)


def _decide(rows: list[dict], alpha: float) -> None:
    """Fills each row's outcome from its `pair` of final losses (learned, baseline): a t test over the
    held-out problems (`tfmeta.records.verdicts`; one meta-training seed, so problem noise only),
    Holm-corrected over every row of the same profile, since one claim ("the learned optimizers win on k
    tasks") rests on all of them. An optimizer that diverged on any problem (no final loss) loses to one
    that did not. `difference` is the mean final loss of the learned optimizer less the baseline's; `p`
    the Holm-adjusted p-value."""
    families: dict[tuple, list[int]] = {}
    for index, row in enumerate(rows):
        mine, theirs = row.pop("pair")
        row["outcome"], row["difference"], row["p"] = _unpaired_outcome(mine, theirs)
        if row["outcome"] is None:
            row["verdict"] = compare(np.array([theirs]), np.array([mine]))  # baseline - learned: > 0 wins
            families.setdefault(row["profile"], []).append(index)
    for members in families.values():
        for index, verdict in zip(
            members, holm([rows[i].pop("verdict") for i in members], alpha), strict=True
        ):
            rows[index].update(_outcome(verdict))


def _unpaired_outcome(mine: list[float] | None, theirs: list[float] | None) -> tuple:
    if mine is None or theirs is None or len(mine) != len(theirs):
        outcome = "ties" if mine is None and theirs is None else ("loses" if mine is None else "wins")
        return outcome, None, None
    return None, None, None


def _outcome(verdict: Verdict) -> dict:
    outcome = {"beats": "wins", "ties": "ties", "loses to": "loses"}[verdict.outcome]
    return {"outcome": outcome, "difference": -verdict.comparison.difference, "p": verdict.p_adjusted}


def tally_frame(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Wins / ties / losses of each learned optimizer against each baseline, summed over tasks."""
    if outcomes.empty:
        return pd.DataFrame(columns=["learned", "baseline", "wins", "ties", "losses", "tasks"])
    counts = outcomes.pivot_table(
        index=["learned", "baseline"], columns="outcome", values="task", aggfunc="count", fill_value=0
    )
    counts = counts.reindex(columns=["wins", "ties", "loses"], fill_value=0).rename(
        columns={"loses": "losses"}
    )
    counts["tasks"] = counts.sum(axis=1)
    order = {name: i for i, name in enumerate(BASELINES)}
    frame = counts.reset_index()
    frame.columns.name = None
    return frame.sort_values(
        ["learned", "baseline"], key=lambda c: c.map(order) if c.name == "baseline" else c
    )

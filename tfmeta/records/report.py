"""`tfmeta report`: every results table and result sentence of the docs, generated from the records.

Results live between markers in Markdown files, `<!-- report:NAME -->` ... `<!-- /report:NAME -->`; the
report rewrites what lies between them and nothing else, and `docs/results.md` is written whole. Only
verified records count (`tfmeta.records.trust`), every verdict is the seed-and-episode test of
`tfmeta.records.verdicts`, Holm-corrected within its table or claim, and the interval printed beside a
verdict is the one it used. A test regenerates every block and fails on any difference, so no result
number in the docs can drift from the records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import pandas as pd
import yaml

from tfmeta.core import registries
from tfmeta.records import entries, few_shot, trust
from tfmeta.records import optimizer as optimizer_records
from tfmeta.records.frames import inner_loop, optimizers
from tfmeta.records.frames.tables import (
    STANDARD,
    Table,
    budget_class,
    duration,
    entry_labels,
    group_tables,
    paper_cells,
    seed_episodes,
    training_budget,
)
from tfmeta.records.verdicts import compare, holm

BLOCK = re.compile(r"(<!-- report:(?P<name>[a-z0-9_-]+) -->\n).*?(<!-- /report:(?P=name) -->)", re.DOTALL)
RESULTS_PAGE = "docs/results.md"
CLAIMS = "benchmarks/claims/results.yaml"
DOCUMENTS = ("README.md", "docs/*.md")
Entry = tuple[Path, dict]
FIVE_WAY = ((5, 1), (5, 5))
ALL_SETTINGS = ((5, 1), (5, 5), (20, 1), (20, 5))
OPTIMIZATION_METHODS = ("maml", "fomaml", "reptile", "meta_lstm", "finetune")
METRIC_METHODS = ("relation", "protonet", "protonet_hallucination", "matching", "siamese")


class ReportError(ValueError):
    """A claim that names no entry or several, or a block the records cannot fill; the message says which."""


@dataclass(frozen=True)
class Claim:
    """A comparison the docs make: entry `a` against entry `b` on every setting both were tested on,
    Holm-corrected across those settings (one family)."""

    name: str
    title: str
    a: dict
    b: dict
    benchmark: str = "omniglot"


# The comparisons docs/optimization_methods.md draws between variants of one method, each of two entries
# that differ in one thing only (a comparison of two things at once, such as first-order MAML at one inner
# step against MAML at another, has no place here).
_FO, _SO = {"method": "fomaml"}, {"method": "maml"}
OPTIMIZATION_CLAIMS = (
    Claim(
        "fomaml-second-order",
        "First-order MAML against MAML (one task per meta-update, inner step 0.4 for both)",
        {**_FO, "config": {"meta_batch": 1, "inner_learning_rate": 0.4}},
        {**_SO, "config": {"meta_batch": 1, "batch_norm": "transductive"}},
    ),
    Claim(
        "fomaml-second-order-4",
        "First-order MAML against MAML (4 tasks per meta-update, inner step 0.4 for both)",
        {**_FO, "config": {"meta_batch": 4, "inner_learning_rate": 0.4, "head": "learned"}},
        {**_SO, "config": {"meta_batch": 4}},
    ),
    Claim(
        "fomaml-meta-batch",
        "First-order MAML with 4 tasks per meta-update against one (inner step 0.4)",
        {**_FO, "config": {"meta_batch": 4, "inner_learning_rate": 0.4, "head": "learned"}},
        {**_FO, "config": {"meta_batch": 1, "inner_learning_rate": 0.4}},
    ),
    Claim(
        "fomaml-inner-step",
        "First-order MAML at inner step 0.1 against 0.4 (4 tasks per meta-update)",
        {**_FO, "config": {"meta_batch": 4, "inner_learning_rate": 0.1}},
        {**_FO, "config": {"meta_batch": 4, "inner_learning_rate": 0.4, "head": "learned"}},
    ),
    Claim(
        "fomaml-head",
        "First-order MAML with a head of zeros per episode against a learned head (4 tasks, inner step 0.4)",
        {**_FO, "config": {"meta_batch": 4, "inner_learning_rate": 0.4, "head": "zero"}},
        {**_FO, "config": {"meta_batch": 4, "inner_learning_rate": 0.4, "head": "learned"}},
    ),
    Claim(
        "maml-meta-batch",
        "MAML with 4 tasks per meta-update against one (the same 20,000 episodes)",
        {**_SO, "config": {"meta_batch": 4}},
        {**_SO, "config": {"meta_batch": 1, "batch_norm": "transductive"}},
    ),
    Claim(
        "maml-batch-norm",
        "MAML with inductive batch norm against transductive (one task per meta-update)",
        {**_SO, "config": {"batch_norm": "inductive"}},
        {**_SO, "config": {"meta_batch": 1, "batch_norm": "transductive"}},
    ),
    Claim(
        "reptile-batch-norm",
        "Reptile with inductive batch norm against transductive",
        {"method": "reptile", "config": {"batch_norm": "inductive"}},
        {"method": "reptile", "config": {"batch_norm": "transductive"}},
    ),
)


def load_claims(path: Path) -> list[Claim]:
    """The claims of a claims file (`benchmarks/claims/results.yaml`)."""
    data = yaml.safe_load(path.read_text())
    return [Claim(**claim) for claim in data["claims"]]


def verified(loaded: Iterable[Entry]) -> list[Entry]:
    return [(path, record) for path, record in loaded if trust.status(path, record) == "verified"]


def few_shot_tables(records: list[Entry]) -> str:
    """Every ranked table of verified entries, best first, with the verdict against the next row."""
    parts = []
    for table in group_tables(records):
        if _smoke(table):
            continue
        parts.append(f"### {table.key.title}\n\n{markdown(table_view(table))}")
    return "\n\n".join(parts)


def headline(records: list[Entry]) -> str:
    """The leading entry of each setting of the primary protocol class, with its verdict against the
    runner-up (Holm-corrected over that table's gaps)."""
    rows = []
    for table in group_tables(records):
        key = table.key
        if _aside(table) or key.protocol != entries.PRIMARY or key.benchmark != "omniglot":
            continue
        first = table.frame().iloc[0]
        rows.append({
            "Benchmark": key.benchmark, "Setting": f"{key.way}-way {key.shot}-shot",
            "Leader": first["Entry"], "Accuracy (%)": first["Accuracy (%)"], "Seeds": first["Seeds"],
            "Against the runner-up": first["Gap to next"] or "alone",
        })  # fmt: skip
    return markdown(pd.DataFrame(rows))


def _quick_trainings(records: list[Entry]) -> dict[str, list[dict]]:
    """The quick profile's verified trainings by method, each counted once (a setting that reused a
    finished training adds only its evaluation)."""
    trainings = {
        record["weights"]["sha256"]: record
        for _, record in records
        if record["profile"] == "quick" and not record["timing"].get("reused_training")
    }
    by_method: dict[str, list[dict]] = {}
    for record in trainings.values():
        by_method.setdefault(record["method"]["name"], []).append(record)
    return by_method


def quick_budget(records: list[Entry]) -> str:
    """What training on the quick profile took, per method, from its verified records. Wall-clock time
    grows with whatever else the machine ran, so the fastest training of a method is the closest to a
    quiet machine's; the median shows the spread."""
    by_method = _quick_trainings(records)
    if not by_method:
        return "No verified quick-profile record yet."
    rows = []
    for name, trained in sorted(by_method.items()):
        times = sorted(r["timing"]["train_seconds"] for r in trained)
        rows.append({
            "Method": name, "Trainings": len(times), "Fastest": duration(times[0]),
            "Median": duration(median(times)), "Slowest": duration(times[-1]),
        })  # fmt: skip
    cpus = {
        r["provenance"].get("hardware", {}).get("cpu") or "unnamed CPU"
        for rs in by_method.values()
        for r in rs
    }
    return (
        f"Wall-clock training time per method and seed, each training counted once (CPUs: "
        f"{', '.join(sorted(cpus))}). It grows with whatever else ran on the machine: the fastest is the "
        f"closest to a quiet machine's.\n\n{markdown(pd.DataFrame(rows))}"
    )


def _aside(table: Table) -> bool:
    """Tables the headline and the claims leave aside: smoke tables and other budget classes than the
    standard one (a quick run's verdicts are its own table's)."""
    return _smoke(table) or table.key.budget != STANDARD


def _smoke(table: Table) -> bool:
    """A table of smoke-profile records only: their numbers mean nothing."""
    return all(record["profile"] == "smoke" for _, record in table.entries)


def table_view(table: Table) -> pd.DataFrame:
    frame = table.frame()
    frame["Per seed (%)"] = [
        " / ".join(f"{100 * seed['mean']:.2f}" for seed in record["seeds"]) for _, record in table.entries
    ]
    frame["Made by"] = [_command(record) for _, record in table.entries]
    frame["Paper (%)"] = ["" if pd.isna(value) else f"{value:.1f}" for value in frame["Paper (%)"]]
    columns = [
        "Rank", "Entry", "Accuracy (%)", "Seeds", "Across seeds (%)", "Per seed (%)", "Gap to next",
        "Paper (%)", "Training budget", "Train time", "Error rate (%)", "Made by",
    ]  # fmt: skip
    return frame[[c for c in columns if c in frame]]


def _command(record: dict) -> str:
    command = record["provenance"].get("command")
    return f"`{command}`" if command else "not recorded"


def claims(records: list[Entry], claim_list: list[Claim]) -> str:
    """One paragraph per claim: its verdict on each setting, Holm-corrected over the claim's settings."""
    tables = group_tables(records, by_protocol=False)
    paragraphs = []
    for claim in claim_list:
        found = [(t, _one(t, claim.a, claim), _one(t, claim.b, claim)) for t in tables]
        found = [(t, a, b) for t, a, b in found if a and b and t.key.benchmark == claim.benchmark]
        if not found:
            raise ReportError(f"claim {claim.name!r}: no setting has both entries among the verified records")
        decided = holm([compare(seed_episodes(a[1]), seed_episodes(b[1])) for _, a, b in found])
        lines = [
            f"- {t.key.way}-way {t.key.shot}-shot: **{verdict.outcome}**, {verdict.text()}"
            for (t, _, _), verdict in zip(found, decided, strict=True)
        ]
        paragraphs.append(
            f"**{claim.title}** ({len(found)} setting{'s' if len(found) != 1 else ''}, Holm-corrected):\n\n"
            + "\n".join(lines)
        )
    return "\n\n".join(paragraphs)


def _one(table: Table, selector: dict, claim: Claim) -> Entry | None:
    matching = [entry for entry in table.entries if _matches(entry[1], selector)]
    if len(matching) > 1:
        names = ", ".join(
            sorted(r["method"]["name"] + str(entries.defining(r["method"]["config"])) for _, r in matching)
        )
        raise ReportError(
            f"claim {claim.name!r}: {selector} matches several entries in {table.key.title}: {names}"
        )
    return matching[0] if matching else None


def _matches(record: dict, selector: dict) -> bool:
    config = {**entries.LATER_ARGUMENTS, **record["method"]["config"]}
    return (
        record["method"]["name"] == selector["method"]
        and all(config.get(k) == v for k, v in (selector.get("config") or {}).items())
        and record["profile"] == selector.get("profile", record["profile"])
        and entries.protocol(record) == selector.get("protocol", entries.protocol(record))
    )


def optimizer_track(records: list[dict]) -> str:
    """Each learned optimizer against the best tuned baseline of each task, and the corrected tally."""
    frame = optimizers.best_baseline_frame(records)
    if frame.empty:
        return "No optimizer-track records."
    counts = frame["outcome"].value_counts()
    summary = ", ".join(f"{name} {int(counts.get(name, 0))}" for name in ("wins", "ties", "loses"))
    shown = frame.assign(
        **{"Holm p": frame["p"].map(lambda p: "" if pd.isna(p) else f"{p:.2g}")},
        difference=frame["difference"].map(lambda d: "" if pd.isna(d) else f"{d:+.3g}"),
        **{"learning rate": frame["learning rate"].map(lambda r: f"{r:.3g}")},
    ).drop(columns=["p"])
    lead = f"Against the best tuned baseline of each task, over {len(frame)} tasks: {summary}."
    return f"{lead}\n\n{markdown(shown)}"


def update_rules(records: list[Entry]) -> str:
    """The learned update rules of the optimization-based learners against the best tuned optimizer."""
    frame = inner_loop.best_baseline_frame(records)
    if frame.empty:
        return "No inner-loop curves."
    frame = frame.assign(
        **{
            "own (%)": frame["own (%)"].map(lambda v: f"{v:.2f}"),
            "optimizer (%)": frame["optimizer (%)"].map(lambda v: f"{v:.2f}"),
            "own - optimizer (points)": frame["own - optimizer (points)"].map(lambda v: f"{v:+.2f}"),
            "Holm p": frame["Holm p"].map(lambda p: f"{p:.2g}"),
            "learning rate": frame["learning rate"].map(lambda r: f"{r:.3g}"),
        }
    )
    return markdown(frame.drop(columns=["record"]))


def entry_matrix(
    records: list[Entry], benchmark: str, methods: tuple[str, ...], settings: tuple, protocols: tuple = ()
) -> str:
    """One row per entry of `methods` on `benchmark` (of the `protocols` classes, or any): its accuracy on
    each setting (mean over training seeds, 95% CI over test episodes), the papers' numbers for the same
    settings (`tfmeta.records.published`, for the entry's batch-norm protocol), its training budget and
    its train time (the mean over its seeds)."""
    found: dict[tuple, dict[tuple, dict]] = {}
    for table in group_tables(records):
        key = table.key
        if _aside(table) or key.benchmark != benchmark or (key.way, key.shot) not in settings:
            continue
        if protocols and key.protocol not in protocols:
            continue
        for _, record in table.entries:
            if record["method"]["name"] in methods:
                found.setdefault(entries.entry_key(record), {}).setdefault((key.way, key.shot), record)
    if not found:
        raise ReportError(f"no verified entries of {', '.join(methods)} on {benchmark}")

    def order(key: tuple) -> tuple:
        by_setting = found[key]
        first = next(by_setting[s] for s in settings if s in by_setting)
        return (methods.index(first["method"]["name"]), -first["accuracy"]["mean"])

    keys = sorted(found, key=order)
    firsts = [next(found[k][s] for s in settings if s in found[k]) for k in keys]
    rows = []
    for key, first, label in zip(keys, firsts, entry_labels(firsts), strict=True):
        by_setting = found[key]
        seeds = max(len(record["seeds"]) for record in by_setting.values())
        row = {"Entry": label, "Protocol": entries.protocol(first), "Seeds": seeds}
        papers = []
        for way, shot in settings:
            record = by_setting.get((way, shot))
            cell = ""
            if record is not None:
                accuracy = record["accuracy"]
                cell = f"{100 * accuracy['mean']:.2f} ± {100 * accuracy['ci95']:.2f}"
                if len(record["seeds"]) != seeds:
                    cell += f" ({len(record['seeds'])} seeds)"
            row[f"{way}-way {shot}-shot (%)"] = cell
            paper = paper_cells(record)["Paper (%)"] if record is not None else None
            papers.append("-" if paper is None else f"{paper:g}")
        row["Paper (%)"] = " / ".join(papers) if any(p != "-" for p in papers) else ""
        row["Training budget"] = training_budget(first["config"])
        row["Train time"] = duration(first["timing"]["train_seconds"])
        rows.append(row)
    return markdown(pd.DataFrame(rows))


def verification(records: list[Entry], benchmark: str, settings: tuple) -> str:
    """For the entries that score pairs (Siamese, Relation), ROC-AUC and equal error rate over every
    (query, class) pair of the test episodes, each the mean over the entry's training seeds."""
    by_name = {path.name: record for path, record in records}
    found: dict[tuple, dict[tuple, dict]] = {}
    for table in group_tables(records):
        key = table.key
        if _aside(table) or key.benchmark != benchmark or (key.way, key.shot) not in settings:
            continue
        for _, record in table.entries:
            if "verification" in record:
                found.setdefault(entries.entry_key(record), {}).setdefault((key.way, key.shot), record)
    keys = sorted(found, key=lambda k: -next(iter(found[k].values()))["accuracy"]["mean"])
    firsts = [next(iter(found[k].values())) for k in keys]
    rows = []
    for key, label in zip(keys, entry_labels(firsts), strict=True):
        row = {"Entry": label, "Seeds": max(len(r["seeds"]) for r in found[key].values())}
        for way, shot in settings:
            record = found[key].get((way, shot))
            cell = ""
            if record is not None:
                members = [by_name[s["record"]]["verification"] for s in record["seeds"]]
                auc = sum(m["auc"] for m in members) / len(members)
                eer = sum(m["eer"] for m in members) / len(members)
                cell = f"{auc:.4f} / {100 * eer:.2f}"
            row[f"{way}-way {shot}-shot: AUC / EER (%)"] = cell
        rows.append(row)
    return markdown(pd.DataFrame(rows))


def validation_curves(
    records: list[Entry], benchmark: str, methods: tuple[str, ...], setting: tuple, protocols: tuple = ()
) -> str:
    """Each training of `methods` (one row per entry and seed; its record for the test `setting`, of the
    `protocols` classes or any): the validation accuracy it logged at a quarter, half, three quarters and
    the end of training, its range over the last quarter, the training loss at the first and last
    checkpoint, and the train time."""
    chosen: dict[tuple, Entry] = {}
    for path, record in records:
        b = record["benchmark"]
        if (
            b["name"] != benchmark
            or (b["way"], b["shot"]) != setting
            or record["method"]["name"] not in methods
            or record["profile"] == "smoke"
            or (protocols and entries.protocol(record) not in protocols)
            or not any(p.get("val_accuracy") is not None for p in record.get("curve", []))
        ):
            continue
        key = (entries.entry_key(record), entries.training_seed(record))
        if key not in chosen or record["provenance"]["created"] > chosen[key][1]["provenance"]["created"]:
            chosen[key] = (path, record)
    kept = sorted(
        chosen.values(),
        key=lambda e: (
            methods.index(e[1]["method"]["name"]),
            entries.entry_key(e[1]),
            entries.training_seed(e[1]),
        ),
    )
    rows = []
    for (_, record), label in zip(kept, entry_labels([r for _, r in kept]), strict=True):
        points = [p for p in record["curve"] if p.get("val_accuracy") is not None]
        end = points[-1]["episode"]

        def at(fraction: float, points=points, end=end) -> str:
            point = next(p for p in points if p["episode"] >= fraction * end)
            return f"{100 * point['val_accuracy']:.1f} ({point['episode']})"

        tail = [100 * p["val_accuracy"] for p in points if p["episode"] > 0.75 * end]
        v = record["config"].get("validation") or {}
        rows.append({
            "Entry": label, "Seed": entries.training_seed(record),
            "Validation episodes": f"{v.get('way')}-way {v.get('shot')}-shot, {v.get('part')}",
            "At 1/4 (episode)": at(0.25), "At 1/2": at(0.5), "At 3/4": at(0.75), "At the end": at(1.0),
            "Last quarter": f"{min(tail):.1f} to {max(tail):.1f}" if len(tail) > 1 else "",
            "Training loss, first and last checkpoint": f"{points[0]['loss']:.3g}, {points[-1]['loss']:.3g}",
            "Train time": duration(record["timing"]["train_seconds"]),
        })  # fmt: skip
    return markdown(pd.DataFrame(rows))


def _curve_records(records: list[Entry], methods: tuple[str, ...]) -> list[tuple[Entry, str]]:
    """The newest inner-curve record of each setting, entry and seed of `methods`, with its entry label."""
    newest: dict[tuple, Entry] = {}
    for path, record in inner_loop.curve_records(records):
        if record["method"]["name"] in methods:
            key = (inner_loop.setting_label(record), entries.entry_key(record), entries.training_seed(record))
            newest.setdefault(key, (path, record))
    kept = sorted(
        newest.values(),
        key=lambda e: (
            methods.index(e[1]["method"]["name"]), entries.entry_key(e[1]),
            e[1]["benchmark"]["shot"], entries.training_seed(e[1]),
        ),
    )  # fmt: skip
    return list(zip(kept, entry_labels([r for _, r in kept]), strict=True))


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _best(curves: dict, step: int) -> str:
    if not curves:
        return ""
    name = max(sorted(curves), key=lambda rule: curves[rule]["accuracy_mean"][step])
    curve = curves[name]
    return f"{name} {curve['learning_rate']:.3g}: {100 * curve['accuracy_mean'][step]:.2f}"


def inner_curves(records: list[Entry], methods: tuple[str, ...]) -> str:
    """The method's own inner loop on its curve episodes, per record and start: the query loss before
    adapting, accuracy after one step, at the trained horizon, at its peak and at the last step, and the
    best tuned standard optimizer from the same start at the trained horizon and at the last step."""
    rows = []
    for (_, record), label in _curve_records(records, methods):
        b = record["benchmark"]
        for start, block in inner_loop.starts(record):
            curve = block["inner_curve"]
            accuracy, trained, last = curve["accuracy_mean"], curve["trained_steps"], len(curve["steps"]) - 1
            peak = max(range(len(accuracy)), key=lambda step: (accuracy[step], -step))
            curves = block.get("baseline_curves", {})
            rows.append({
                "Setting": f"{b['way']}-way {b['shot']}-shot", "Entry": label,
                "Seed": entries.training_seed(record), "Start": start, "Episodes": curve["episodes"],
                "Loss before adapting": _number(curve["loss_mean"][0]),
                "Step 1 (%)": f"{100 * accuracy[1]:.2f}",
                "Trained steps (%)": f"{100 * accuracy[trained]:.2f} (step {trained})",
                "Peak (%)": f"{100 * accuracy[peak]:.2f} (step {peak})",
                "Last step (%)": f"{100 * accuracy[last]:.2f} (step {last})",
                "Best optimizer, trained steps (%)": _best(curves, trained),
                "Best optimizer, last step (%)": _best(curves, last),
            })  # fmt: skip
    return markdown(pd.DataFrame(rows))


def inner_verdicts(records: list[Entry], methods: tuple[str, ...]) -> str:
    """Per record and start, the method's own inner loop against each tuned standard optimizer from the
    same start at the trained horizon: verdict, difference in points (own - optimizer) and the optimizer's
    tuned rate; Holm-corrected over the optimizers of the start (`inner_loop.verdicts`)."""
    rows = []
    for (_, record), label in _curve_records(records, methods):
        b = record["benchmark"]
        tuning = record["analysis"].get("tuning") or {}
        for index, (start, block) in enumerate(inner_loop.starts(record)):
            decided = inner_loop.verdicts(block)
            if not decided:
                continue
            curve = block["inner_curve"]
            row = {
                "Setting": f"{b['way']}-way {b['shot']}-shot", "Entry": label,
                "Seed": entries.training_seed(record), "Start": start, "Episodes": curve["episodes"],
                "Own (%)": f"{100 * curve['accuracy_mean'][curve['trained_steps']]:.2f}",
            }  # fmt: skip
            for rule in registries.BASELINES:
                verdict = decided.get(rule)
                rate = block["baseline_curves"].get(rule, {}).get("learning_rate")
                row[rule] = (
                    "" if verdict is None
                    else f"{verdict.outcome} {100 * verdict.comparison.difference:+.2f} ({rate:.3g})"
                )  # fmt: skip
            searches = list((tuning.get("curve_start_baselines" if index else "baselines") or {}).values())
            interior = sum(bool(search.get("interior")) for search in searches)
            row["Rates tried"] = _span([len(search.get("accuracy", [])) for search in searches])
            row["Interior"] = f"{interior} of {len(searches)}" if searches else ""
            rows.append(row)
    return markdown(pd.DataFrame(rows))


def _span(values: list[int]) -> str:
    """ "9", "9 to 11", or "" for none."""
    if not values:
        return ""
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low} to {high}"


def optimizer_provenance(records: list[dict]) -> str:
    """Where the optimizer-track records come from: commits, held-out problems, and how each baseline's
    rate was tuned."""
    if not records:
        return "No optimizer-track records."
    commits = sorted({r["provenance"].get("git_commit", "")[:7] for r in records})
    dirty = any(r["provenance"].get("git_dirty") for r in records)
    tuned = [r["tuning"] for r in records if "winner" in r.get("tuning", {})]
    tried = _span([len(t.get("grid", [])) for t in tuned])
    interior = sum(bool(t.get("interior")) for t in tuned)
    problems = sorted({r["n_tasks"] for r in records})
    tasks = sorted({r["task"] for r in records})
    return (
        f"{len(records)} records of {len(tasks)} evaluations, made at commit {', '.join(commits)} "
        f"({'with uncommitted changes' if dirty else 'clean tree'}), {' or '.join(map(str, problems))} "
        f"held-out problems each. Each baseline's rate is the one with the lowest mean final loss on as many "
        f"training problems: {tried} rates tried per baseline, and {interior} of the "
        f"{len(tuned)} tuned rates are interior to their searched grid."
    )


def meta_training(records: list[dict]) -> str:
    """Each meta-trained optimizer's training: iterations, problems per iteration, time, and its meta-loss
    (the mean optimizee loss of each iteration's run) averaged over tenths of the training."""
    rows, seen = [], set()
    for record in sorted(records, key=lambda r: r["optimizer"]):
        tuning = record.get("tuning", {})
        training = tuning.get("meta_training")
        if not training or tuning.get("sha256") in seen:
            continue
        seen.add(tuning.get("sha256"))
        config, losses = training["config"], [p["meta_loss"] for p in training["curve"]]
        size = max(1, len(losses) // 10)
        parts = [losses[i : i + size] for i in range(0, len(losses), size)]
        rows.append({
            "Learned optimizer": record["optimizer"], "Trained on": training["family"]["name"],
            "Iterations": config["iterations"], "Problems per iteration": config["meta_batch"],
            "Horizon (unroll)": f"{config['horizon']} ({config['unroll']})",
            "Time": duration(training["seconds"]),
            "Meta-loss, mean over each tenth of training": ", ".join(f"{sum(b) / len(b):.3g}" for b in parts),
        })  # fmt: skip
    return markdown(pd.DataFrame(rows))


def _loss(summary: dict | None) -> str:
    if not summary or summary.get("mean") is None:
        return "diverged"
    return f"{summary['mean']:.4g} ± {summary['ci95']:.2g}"


def _rate(record: dict) -> str:
    rate = (record.get("optimizer_config") or {}).get("learning_rate")
    return "meta-trained" if record["optimizer"] not in registries.BASELINES else f"{rate:.3g}"


def optimizer_losses(records: list[dict]) -> str:
    """Every optimizer's final loss on each task (mean ± 95% CI over the held-out problems) with its tuned
    rate in brackets; the lowest mean of each task in bold."""
    by_task: dict[str, dict[str, dict]] = {}
    for record in records:
        if "final_loss" in record:
            by_task.setdefault(record["task"], {})[record["optimizer"]] = record
    rows = []
    for task in sorted(by_task):
        found = by_task[task]
        means = {
            name: r["final_loss"]["mean"] for name, r in found.items() if r["final_loss"]["mean"] is not None
        }
        best = min(means, key=means.get) if means else None
        learned = sorted(name for name in found if name not in registries.BASELINES)
        row = {"task": task, "steps": found[next(iter(found))]["horizon"]}
        for name in [*learned, *registries.BASELINES]:
            if name not in found:
                continue
            cell = _loss(found[name]["final_loss"])
            cell = f"**{cell}**" if name == best else cell
            column = "LSTM" if name in learned else name
            row[column] = f"{name}: {cell}" if column == "LSTM" else f"{cell} ({_rate(found[name])})"
        rows.append(row)
    return markdown(pd.DataFrame(rows))


def optimizer_outcomes(records: list[dict]) -> str:
    """Each learned optimizer against every tuned baseline on each task (Holm-corrected over all those
    comparisons), then the tally per baseline."""
    frame = optimizers.outcomes_frame(records)
    if frame.empty:
        return "No optimizer-track records."
    rows = []
    for (task, learned), group in frame.groupby(["task", "learned"], sort=True):
        row = {"task": task, "learned": learned}
        for _, r in group.iterrows():
            detail = "" if pd.isna(r["difference"]) else f" {r['difference']:+.3g} (p {r['p']:.2g})"
            row[r["baseline"]] = f"{r['outcome']}{detail}"
        rows.append(row)
    tally = optimizers.tally_frame(frame)
    lead = (
        f"{len(frame)} comparisons, Holm-corrected together; the difference is the learned optimizer's "
        "mean final loss less the baseline's, p the Holm-adjusted p-value."
    )
    return f"{lead}\n\n{markdown(pd.DataFrame(rows))}\n\n{markdown(tally)}"


def optimizer_superseded(current: list[dict], superseded: list[dict]) -> str:
    """The superseded records (rates tuned on a fixed grid) beside the current ones, where a baseline's
    tuned rate changed, and for the learned optimizers: the tuned rate and the final loss of each."""
    old = {(r["task"], r["optimizer"]): r for r in superseded if "final_loss" in r}
    rows = []
    for record in sorted(current, key=lambda r: (r["task"], r["optimizer"])):
        before = old.get((record["task"], record["optimizer"]))
        if before is None or "final_loss" not in record:
            continue
        if record["optimizer"] in registries.BASELINES and _rate(before) == _rate(record):
            continue
        rows.append({
            "task": record["task"], "optimizer": record["optimizer"],
            "superseded: rate": _rate(before), "superseded: final loss": _loss(before["final_loss"]),
            "current: rate": _rate(record), "current: final loss": _loss(record["final_loss"]),
        })  # fmt: skip
    if not rows:
        return "No superseded optimizer-track records."
    return markdown(pd.DataFrame(rows))


def lake(records: list[Entry]) -> str:
    """Lake's 20 one-shot runs: every verified entry, its error rate, its verification AUC where it scores
    pairs, and the verdict against the next row."""
    parts = []
    by_name = {path.name: record for path, record in records}
    for table in group_tables(records):
        if _smoke(table) or table.key.benchmark != "omniglot_lake":
            continue
        frame = table_view(table)
        aucs = []
        for _, record in table.entries:
            members = [by_name[s["record"]].get("verification") for s in record["seeds"]]
            aucs.append("" if None in members else f"{sum(m['auc'] for m in members) / len(members):.3f}")
        frame.insert(frame.columns.get_loc("Gap to next"), "Verification AUC", aucs)
        parts.append(markdown(frame.drop(columns=["Made by", "Paper (%)"], errors="ignore")))
    if not parts:
        raise ReportError("no verified records of omniglot_lake")
    return "\n\n".join(parts)


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table of a frame's cells as text ('-' for none)."""

    def cell(value) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def blocks(root: Path) -> dict[str, str]:
    """Every generated block's Markdown, by name, from the verified records under `root`."""
    results = root / "leaderboard" / "results"
    every = verified(few_shot.load_all(results).records)
    records = [(path, record) for path, record in every if budget_class(record) == STANDARD]
    optimizer = [r for _, r in optimizer_records.load_all(results / optimizer_records.SUBFOLDER).records]
    superseded = optimizer_records.load_all(results / optimizer_records.SUBFOLDER / "superseded").records
    return {
        "headline": headline(records),
        "quick-budget": quick_budget(every),
        "few-shot-tables": few_shot_tables(every),
        "claims": claims(records, load_claims(root / CLAIMS)),
        "optimizer-track": optimizer_track(optimizer),
        "update-rules": update_rules(records),
        "optimization-methods": entry_matrix(records, "omniglot", OPTIMIZATION_METHODS, FIVE_WAY),
        "optimization-claims": claims(records, list(OPTIMIZATION_CLAIMS)),
        "optimization-validation": validation_curves(records, "omniglot", OPTIMIZATION_METHODS, (5, 1)),
        "inner-curves": inner_curves(records, OPTIMIZATION_METHODS),
        "inner-verdicts": inner_verdicts(records, OPTIMIZATION_METHODS),
        "metric-methods": entry_matrix(
            records, "omniglot", METRIC_METHODS, ALL_SETTINGS, protocols=(entries.PRIMARY,)
        ),
        "metric-verification": verification(records, "omniglot", ALL_SETTINGS),
        "metric-validation": validation_curves(
            records, "omniglot", ("relation", "matching", "siamese"), (5, 1), protocols=(entries.PRIMARY,)
        ),
        "lake": lake(records),
        "lake-validation": validation_curves(records, "omniglot_lake", METRIC_METHODS, (20, 1)),
        "optimizer-provenance": optimizer_provenance(optimizer),
        "meta-training": meta_training(optimizer),
        "optimizer-losses": optimizer_losses(optimizer),
        "optimizer-outcomes": optimizer_outcomes(optimizer),
        "optimizer-superseded": optimizer_superseded(optimizer, [r for _, r in superseded]),
    }


def fill(text: str, generated: dict[str, str], where: str) -> str:
    """`text` with every marked block replaced by its generated Markdown.

    Raises:
        ReportError: for a block the report does not make.
    """

    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in generated:
            raise ReportError(f"{where}: no report block called {name!r}; known: {', '.join(generated)}")
        return f"{match[1]}{generated[name]}\n{match[3]}"

    return BLOCK.sub(replace, text)


def render(root: Path) -> dict[Path, str]:
    """Each file the report writes and its new text: docs/results.md whole, and every Markdown file with
    marked blocks."""
    generated = blocks(root)
    page = root / RESULTS_PAGE
    files = {page: fill(RESULTS_TEMPLATE, generated, RESULTS_PAGE)}
    for pattern in DOCUMENTS:
        for path in sorted(root.glob(pattern)):
            if path != page and BLOCK.search(text := path.read_text()):
                files[path] = fill(text, generated, str(path.relative_to(root)))
    return files


RESULTS_TEMPLATE = """# Results

Generated by `tfmeta report` from the verified records in `leaderboard/results/`; do not edit by hand
(a test regenerates this page and fails on any difference). Accuracy is the mean over training seeds with
the 95% CI over test episodes; *Across seeds* is the 95% t-interval of the seed means. A verdict against
the next row, or in a claim, comes from a paired test over training seeds and test episodes
(`tfmeta.records.verdicts`), Holm-corrected over the table's gaps or the claim's settings: the interval
printed is the one the verdict used, and *beats* means it excludes zero. Entries with fewer than 3 seeds
say so beside their verdict.

## Comparisons

<!-- report:claims -->
<!-- /report:claims -->

## Quick profile

The budget a new method is first compared at (`--profile quick`); its entries rank in tables of their
own, below.

<!-- report:quick-budget -->
<!-- /report:quick-budget -->

## Few-shot tables

<!-- report:few-shot-tables -->
<!-- /report:few-shot-tables -->

## Learned update rules against tuned optimizers

Per training record and start, the method's own inner-loop rule against the best of SGD, momentum, NAG,
Adam, RMSProp and Adagrad (each rate tuned on validation episodes for that start), at the trained horizon.

<!-- report:update-rules -->
<!-- /report:update-rules -->

## Optimizer track

Final loss on the held-out problems of each task; a paired test over the problems (one meta-training
seed), Holm-corrected over all tasks.

<!-- report:optimizer-track -->
<!-- /report:optimizer-track -->
"""

"""Few-shot track tables: one per benchmark setting and episode set, ranked, with paired significance.

Records are ranked against each other only when they share the episodes hash, i.e. when every method
answered exactly the same test episodes; then the per-episode accuracies pair up and a paired test says
which gaps between neighbouring ranks are real.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from tfmeta.core.stats import t_ci95
from tfmeta.records import published, submission, trust
from tfmeta.records.entries import LATER_ARGUMENTS, PRIMARY, batch_norm, entry_key, protocol, training_seed
from tfmeta.records.few_shot import summarize
from tfmeta.records.locations import is_shipped_results
from tfmeta.records.verdicts import Verdict, compare_many, holm, query_count, tied

ALPHA = 0.05
STANDARD = "standard"  # the budget class of the leaderboard's default profile
Entry = tuple[Path, dict]


@dataclass(frozen=True)
class TableKey:
    """What makes results comparable: the benchmark setting, the exact test episodes (their hash and count:
    a record that claims a hash with another count cannot be paired with the others), the protocol class
    (`protocol`) and the budget class (`budget_class`): a 3-minute quick run never ranks beside a
    35-minute standard one, where its rank would read "worse method" when the budget was smaller."""

    benchmark: str
    dataset: str
    split: str
    part: str
    way: int
    shot: int
    episodes_hash: str
    n_episodes: int = 0
    protocol: str = "inductive, train classes"
    budget: str = STANDARD

    @property
    def title(self) -> str:
        return (
            f"{self.benchmark}: {self.dataset} {self.split}/{self.part}, {self.way}-way {self.shot}-shot, "
            f"{self.n_episodes} episodes, {self.protocol}{self._budget_note(', ')}"
        )

    @property
    def setting(self) -> str:
        """The setting without the protocol: what a reader picks before choosing a protocol class. A budget
        class other than the standard one is part of it, so it shows in every heading of its tables."""
        return (
            f"{self.benchmark} · {self.way}-way {self.shot}-shot · {self.n_episodes} episodes"
            f"{self._budget_note(' · ')}"
        )

    def _budget_note(self, separator: str) -> str:
        return "" if self.budget == STANDARD else f"{separator}{self.budget} budget"

    @property
    def short_hash(self) -> str:
        return self.episodes_hash.removeprefix("sha256:")[:12]


@dataclass(frozen=True)
class Table:
    """One ranked table: its key and its entries, best first."""

    key: TableKey
    entries: list[Entry]

    def frame(self) -> pd.DataFrame:
        return table_frame(self.entries)


def table_key(record: dict, by_protocol: bool = True) -> TableKey:
    b = record["benchmark"]
    return TableKey(
        b["name"],
        b["dataset"],
        b["split"],
        b["part"],
        b["way"],
        b["shot"],
        record["episodes_hash"],
        len(record["per_episode"]),
        protocol(record) if by_protocol else "any protocol",
        budget_class(record),
    )


def budget_class(record: dict) -> str:
    """The budget class a record ranks in: its profile's `budget` in the spec (the profile's name where it
    names none), or "custom" for a budget of its own (`profile_cell`)."""
    profile = profile_cell(record)
    if profile.startswith(submission.CUSTOM):
        return submission.CUSTOM
    try:
        profiles = _benchmark(record["benchmark"]["name"]).data["profiles"]
    except (submission.SubmissionError, OSError):
        return profile
    return profiles.get(profile, {}).get("budget", profile)


def group_tables(entries: Iterable[Entry], by_protocol: bool = True) -> list[Table]:
    """Groups records into ranked tables, ordered by benchmark, profile, way, shot, then size; within a
    table, records that differ only in training seed are one entry (`combine_seeds`). With `by_protocol`
    off, entries of every protocol class share their setting's table (for comparisons across classes)."""
    groups: dict[TableKey, list[Entry]] = defaultdict(list)
    for path, record in entries:
        groups[table_key(record, by_protocol)].append((path, record))
    tables = [Table(key, sorted(combine_seeds(group), key=_ranking_key)) for key, group in groups.items()]
    return sorted(tables, key=_table_order)


def combine_seeds(entries: list[Entry]) -> list[Entry]:
    """One entry per `entry_key` and folder: the newest record of each training seed, combined. A combined
    entry's `per_episode` is each episode's accuracy averaged over the seeds (so paired tests between
    entries compare seed means), its `accuracy` the summary of those, and `seeds` lists the seeds with each
    one's mean accuracy; a single record passes through with `seeds` added. Records of another folder never
    join an entry of the shipped records: an entry belongs to its source, so nobody else can change its
    row; `source` says which ("shipped" or the folder)."""
    groups: dict[tuple, dict[int, Entry]] = defaultdict(dict)
    for path, record in entries:
        by_seed, seed = groups[(str(path.parent), *entry_key(record))], training_seed(record)
        if seed not in by_seed or record["provenance"]["created"] > by_seed[seed][1]["provenance"]["created"]:
            by_seed[seed] = (path, record)
    return [_combined([by_seed[seed] for seed in sorted(by_seed)]) for by_seed in groups.values()]


def _combined(members: list[Entry]) -> Entry:
    folder = members[0][0].parent
    source = "shipped" if is_shipped_results(folder) else str(folder)
    seeds = [
        {
            "seed": training_seed(r),
            "mean": r["accuracy"]["mean"],
            "record": p.name,
            "trust": trust.label(p, r),
        }
        for p, r in members
    ]
    if len(members) == 1:
        path, record = members[0]
        return path, {**record, "seeds": seeds, "source": source, "seed_episodes": [record["per_episode"]]}
    newest_path, newest = max(members, key=lambda m: m[1]["provenance"]["created"])
    per_episode = [
        math.fsum(column) / len(members)
        for column in zip(*(r["per_episode"] for _, r in members), strict=True)
    ]
    timing = {
        **newest["timing"],
        "train_seconds": math.fsum(r["timing"]["train_seconds"] for _, r in members) / len(members),
    }
    return newest_path, {
        **newest, "per_episode": per_episode, "accuracy": summarize(per_episode), "timing": timing,
        "seeds": seeds, "source": source, "seed_episodes": [r["per_episode"] for _, r in members],
    }  # fmt: skip


def _table_order(table: Table) -> tuple:
    key = table.key
    return (
        key.benchmark, key.budget != STANDARD, key.budget == submission.CUSTOM, key.budget,
        -key.n_episodes, key.way, key.shot,
        key.protocol != PRIMARY, -len(table.entries),
    )  # fmt: skip


def _ranking_key(entry: Entry) -> tuple:
    path, record = entry
    return (-record["accuracy"]["mean"], record["accuracy"]["ci95"], path.name)


def seed_episodes(record: dict) -> np.ndarray:
    """An entry's per-episode accuracies, one row per training seed (`combine_seeds` keeps them)."""
    return np.asarray(record.get("seed_episodes") or [record["per_episode"]], dtype=np.float64)


def ranks(entries: list[Entry]) -> list[int]:
    """Competition ranks ("1, 2, 2, 4") by mean accuracy, ties decided on exact correct counts; entries
    must be sorted best first."""
    result: list[int] = []
    for index, (_, record) in enumerate(entries):
        same = index and _same_accuracy(entries[index - 1][1], record)
        result.append(result[-1] if same else index + 1)
    return result


def _same_accuracy(a: dict, b: dict) -> bool:
    try:
        return tied(seed_episodes(a), seed_episodes(b), query_count(a))
    except ValueError:  # accuracies that are not counts out of way x query
        return a["accuracy"]["mean"] == b["accuracy"]["mean"]


def neighbour_verdicts(entries: list[Entry]) -> list[Verdict | None]:
    """For each entry, its verdict against the entry ranked just below it (None for the last): the
    seed-and-episode t test of `tfmeta.records.verdicts`, Holm-corrected over the table's neighbour
    gaps (one family)."""
    pairs = [(i, i + 1) for i in range(len(entries) - 1)]
    verdicts: list[Verdict | None] = list(holm(_compared(entries, pairs)))
    return [*verdicts, None] if entries else []


def _compared(entries: list[Entry], pairs: list[tuple[int, int]]):
    """The comparisons of `pairs` of a table's entries (positions in the ranking), on the episodes every
    entry of the table answered, in exact counts out of way x query where the accuracies are such counts."""
    if not pairs:
        return []
    arrays = [seed_episodes(record) for _, record in entries]
    try:
        return compare_many(arrays, pairs, queries=query_count(entries[0][1]))
    except ValueError:  # accuracies that are not counts out of way x query: compare them as they are
        return compare_many(arrays, pairs)


def gap_label(verdict: Verdict | None) -> str:
    """The verdict against the next rank, with the interval it used, in accuracy points."""
    return "" if verdict is None else verdict.text()


def table_frame(entries: list[Entry]) -> pd.DataFrame:
    """The displayed table, one row per record, best first."""
    rows = []
    records = [record for _, record in entries]
    for rank, (path, record), comparison, label, name in zip(
        ranks(entries), entries, neighbour_verdicts(entries), variants(records), entry_labels(records),
        strict=True,
    ):  # fmt: skip
        rows.append({"Rank": rank, "Entry": name, **row_cells(path, record, gap_label(comparison), label)})
    return pd.DataFrame(rows)


def variants(records: list[dict]) -> list[str]:
    """For each record, the constructor arguments that set it apart from the other records of the same
    method, e.g. "loss=contrastive" ("" when its method ran one way only). An argument missing from a
    record (one written before the argument existed) shows as "default"; the analysis-only `curve_*`
    arguments are left out."""
    by_method: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_method[record["method"]["name"]].append(record["method"]["config"])
    differing = {}
    for name, configs in by_method.items():
        keys = sorted({k for c in configs for k in c if not k.startswith("curve_")})
        differing[name] = [k for k in keys if len({_shown(c, k) for c in configs}) > 1]
    return [
        ", ".join(f"{k}={_shown(r['method']['config'], k)}" for k in differing[r["method"]["name"]])
        for r in records
    ]


def _shown(config: dict, key: str) -> str:
    if key in config:
        return str(config[key])
    return str(LATER_ARGUMENTS[key]) if key in LATER_ARGUMENTS else "default"


def row_cells(path: Path, record: dict, gap: str = "", variant: str = "") -> dict:
    """The cells of one record's row (accuracies in %), `gap` being its mark against the next row and
    `variant` what sets its method's configuration apart (see `variants`)."""
    accuracy, timing, config = record["accuracy"], record["timing"], record["config"]
    return {
        "Method": record["method"]["name"],
        "Variant": variant,
        "Accuracy (%)": f"{100 * accuracy['mean']:.2f} ± {100 * accuracy['ci95']:.2f}",
        **seed_cells(record),
        **paper_cells(record),
        "Trust": trust_cell(path, record),
        "Mean (%)": 100 * accuracy["mean"],
        "CI95 (%)": 100 * accuracy["ci95"],
        "Gap to next": gap,
        "Episodes": accuracy["n_episodes"],
        "Train time": duration(timing["train_seconds"]),
        "ms / episode": timing.get("train_ms_per_episode"),
        "Params": record["params"],
        "Date": record["provenance"]["created"][:16].replace("T", " "),
        "Queries": record["benchmark"]["query"],
        "Batch norm": batch_norm(record),
        "Backbone": backbone(record),
        "Training budget": training_budget(config),
        "Profile": profile_cell(record),
        "Protocol": protocol(record),
        "Entry page": f"methods?method={quote(record['method']['name'])}",
        "Episodes hash": record["episodes_hash"].removeprefix("sha256:")[:12],
        "Record": path.name,
        **optional_cells(record),
    }


def profile_cell(record: dict) -> str:
    """The record's profile where its training budget is that profile's in the spec; otherwise "custom",
    naming the profile the record claims (records written before per-method budgets changed). A record of
    a benchmark this installation does not ship keeps its own profile: there is no spec to check it by."""
    try:
        benchmark = _benchmark(record["benchmark"]["name"])
    except (submission.SubmissionError, OSError):
        return record["profile"]
    try:
        submission.check_budget(record, benchmark)
    except submission.SubmissionError:
        return f"custom (labelled {record['profile']})"
    return record["profile"]


@functools.lru_cache(maxsize=32)
def _benchmark(name: str):
    return submission.find_benchmark(name)


def paper_cells(record: dict) -> dict:
    """The paper's own number for this method and setting (`tfmeta.records.published`) and the gap to it
    in points: a result of the record's batch-norm protocol, or of a paper that does not say. None where
    the paper reports the other protocol only (MAML's transductive number beside an inductive entry would
    count the protocol as a gap)."""
    b = record["benchmark"]
    candidates = published.for_method(record["method"]["name"], b["dataset"], b["split"])
    mode = batch_norm(record).split()[0]  # "transductive (method; spec: inductive)" -> "transductive"
    matching = [p for p in candidates if p.protocol["batch_norm"] in (mode, None)]
    value = next((p.at(b["way"], b["shot"]) for p in matching if p.at(b["way"], b["shot"]) is not None), None)
    if value is None:
        return {"Paper (%)": None, "Gap to paper": ""}
    return {"Paper (%)": value, "Gap to paper": f"{100 * record['accuracy']['mean'] - value:+.2f}"}


def trust_cell(path: Path, record: dict) -> str:
    """ "verified" when every record of the entry is, "k of n seeds verified" when some are; a seed that
    reproduced on some machines only is named ("seed 0 verified on 1 of 2 machines")."""
    seeds = [s for s in record.get("seeds", []) if "trust" in s]
    labels = [s["trust"] for s in seeds] or [trust.label(path, record)]
    verified = sum(label.startswith("verified") for label in labels)
    partly = [f"seed {s['seed']} {s['trust']}" for s in seeds if s["trust"].startswith("verified on")]
    if verified == 0 or len(labels) == 1:
        return labels[0]
    if verified == len(labels):
        return "verified" + (f" ({'; '.join(partly)})" if partly else "")
    return f"{verified} of {len(labels)} seeds verified" + (f" ({'; '.join(partly)})" if partly else "")


def seed_cells(record: dict) -> dict:
    """Training seeds of an entry and the 95% t-interval of its accuracy across them (none for 1 seed)."""
    seeds = record.get("seeds") or [{"seed": training_seed(record), "mean": record["accuracy"]["mean"]}]
    _, spread = t_ci95([s["mean"] for s in seeds])
    return {
        "Seeds": len(seeds),
        "Across seeds (%)": "" if spread is None else f"± {100 * spread:.2f}",
    }


def optional_cells(record: dict) -> dict:
    """Cells only some records have: Lake's error rate, verification AUC and EER, free-text notes."""
    cells = {}
    if "error_rate" in record:
        cells["Error rate (%)"] = round(100 * record["error_rate"]["mean"], 2)
    if "verification" in record:
        cells["Verification AUC"] = round(record["verification"]["auc"], 4)
        cells["EER (%)"] = round(100 * record["verification"]["eer"], 2)
    if record.get("notes"):
        cells["Notes"] = record["notes"]
    return cells


def entry_labels(records: list[dict]) -> list[str]:
    """A readable name for each record's entry: the method, what sets its configuration apart
    (`variants`), its training episodes where the method has records of several budgets, and "local"
    for an entry from another folder than the shipped records' where the table holds shipped ones."""
    budgets: dict[str, set] = defaultdict(set)
    for record in records:
        budgets[record["method"]["name"]].add((record["config"].get("train") or {}).get("episodes"))
    mixed = any(record.get("source") == "shipped" for record in records)
    labels = []
    for record, variant in zip(records, variants(records), strict=True):
        name = record["method"]["name"]
        parts = [variant] if variant else []
        if len(budgets[name]) > 1:
            parts.append(f"{(record['config'].get('train') or {}).get('episodes')} episodes")
        if mixed and record.get("source", "shipped") != "shipped":
            parts.append("local")
        labels.append(f"{name} ({', '.join(parts)})" if parts else name)
    return labels


def backbone(record: dict) -> str:
    config = record["method"]["config"]
    name = config.get("backbone")
    if not name:
        return "n/a"
    filters = config.get("filters")
    return f"{name} ({filters} filters)" if filters else str(name)


def training_budget(config: dict) -> str:
    """For example "6000 ep of 20w1s15q on train, adam 0.001"."""
    train = config.get("train")
    if not isinstance(train, dict):
        return "n/a"
    shape = f"{train.get('way')}w{train.get('shot')}s{train.get('query')}q"
    optimizer = config.get("optimizer") or {}
    tail = f", {optimizer['name']} {optimizer.get('learning_rate')}" if "name" in optimizer else ""
    return f"{train.get('episodes')} ep of {shape} on {train.get('part')}{tail}"


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def pairwise_frame(entries: list[Entry]) -> pd.DataFrame:
    """Every pair (A ranked above B) of a table: the verdict of the seed-and-episode t test,
    Holm-corrected over all pairs of the table (one family), with the interval it used."""
    names = entry_labels([record for _, record in entries])
    pairs = [(i, j) for i in range(len(entries)) for j in range(i + 1, len(entries))]
    verdicts = holm(_compared(entries, pairs))
    rows = []
    for (i, j), verdict in zip(pairs, verdicts, strict=True):
        c = verdict.comparison
        rows.append({
            "A": f"#{i + 1} {names[i]}",
            "B": f"#{j + 1} {names[j]}",
            "A - B (points)": 100 * c.difference,
            "Low (points)": 100 * verdict.low,
            "High (points)": 100 * verdict.high,
            "Level": verdict.level,
            "Verdict": verdict.outcome,
            "Holm p": verdict.p_adjusted,
            "Seeds": f"{c.seeds_a} vs {c.seeds_b}",
            "Note": verdict.note,
            "Significant": verdict.outcome != "ties",
            "Records": f"{entries[i][0].name} vs {entries[j][0].name}",
        })  # fmt: skip
    return pd.DataFrame(rows)

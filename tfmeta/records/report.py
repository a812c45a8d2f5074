"""`tfmeta report`: every results table and result sentence of the docs, generated from the records.

Results live between markers in Markdown files, `<!-- report:NAME -->` ... `<!-- /report:NAME -->`; the
report rewrites what lies between them and nothing else, and `docs/results.md` is written whole. Only
verified records count (`tfmeta.records.trust`), every verdict is the seed-and-episode bootstrap of
`tfmeta.records.verdicts`, Holm-corrected within its table or claim, and the interval printed beside a
verdict is the one it used. A test regenerates every block and fails on any difference, so no result
number in the docs can drift from the records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from tfmeta.records import entries, few_shot, trust
from tfmeta.records import optimizer as optimizer_records
from tfmeta.records.frames import inner_loop, optimizers
from tfmeta.records.frames.tables import Table, group_tables, seed_episodes
from tfmeta.records.verdicts import compare, holm

BLOCK = re.compile(r"(<!-- report:(?P<name>[a-z0-9_-]+) -->\n).*?(<!-- /report:(?P=name) -->)", re.DOTALL)
RESULTS_PAGE = "docs/results.md"
CLAIMS = "benchmarks/claims/results.yaml"
DOCUMENTS = ("README.md", "docs/*.md")
Entry = tuple[Path, dict]


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
        if _smoke(table) or key.protocol != entries.PRIMARY or key.benchmark != "omniglot":
            continue
        first = table.frame().iloc[0]
        rows.append({
            "Benchmark": key.benchmark, "Setting": f"{key.way}-way {key.shot}-shot",
            "Leader": first["Entry"], "Accuracy (%)": first["Accuracy (%)"], "Seeds": first["Seeds"],
            "Against the runner-up": first["Gap to next"] or "alone",
        })  # fmt: skip
    return markdown(pd.DataFrame(rows))


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
            f"**{claim.title}** ({len(found)} settings, Holm-corrected):\n\n" + "\n".join(lines)
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
    records = verified(few_shot.load_all(results).records)
    optimizer = [r for _, r in optimizer_records.load_all(results / optimizer_records.SUBFOLDER).records]
    return {
        "headline": headline(records),
        "few-shot-tables": few_shot_tables(records),
        "claims": claims(records, load_claims(root / CLAIMS)),
        "optimizer-track": optimizer_track(optimizer),
        "update-rules": update_rules(records),
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
the next row, or in a claim, comes from a two-level paired bootstrap over training seeds and test
episodes (`tfmeta.records.verdicts`), Holm-corrected over the table's gaps or the claim's settings: the
interval printed is the one the verdict used, and *beats* means it excludes zero. Entries with fewer than
3 seeds say so beside their verdict.

## Comparisons

<!-- report:claims -->
<!-- /report:claims -->

## Few-shot tables

<!-- report:few-shot-tables -->
<!-- /report:few-shot-tables -->

## Learned update rules against tuned optimizers

Per training record and start, the method's own inner-loop rule against the best of SGD, momentum, NAG,
Adam, RMSProp and Adagrad (each rate tuned on validation episodes for that start), at the trained horizon.

<!-- report:update-rules -->
<!-- /report:update-rules -->

## Optimizer track

Final loss on the held-out problems of each task; a bootstrap over the problems (one meta-training seed),
Holm-corrected over all tasks.

<!-- report:optimizer-track -->
<!-- /report:optimizer-track -->
"""

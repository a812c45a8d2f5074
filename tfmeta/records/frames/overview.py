"""The overview grid of a benchmark and profile: methods down, test settings across, like a paper's table.

Also the published numbers of the original papers, shown beside our re-runs for context and never ranked:
they come from other code, budgets and test episodes.
"""

from __future__ import annotations

import pandas as pd

from tfmeta.records import published
from tfmeta.records.frames.tables import Table, entry_labels


def setting_name(way: int, shot: int) -> str:
    return f"{way}-way {shot}-shot"


def overview_frame(tables: list[Table]) -> pd.DataFrame:
    """Accuracy ± CI (%) of each entry in each setting, over the given tables (one benchmark and protocol
    class); an entry's row lists the settings it was evaluated on, settings ordered by way then shot.
    A method run in several configurations or budgets has a row for each (`tables.entry_labels`), e.g.
    "siamese (loss=bce)" and "siamese (loss=contrastive)", so no row mixes two trainings; where one entry
    has several records for a setting (several episode sets), the best is shown."""
    cells: dict[str, dict[str, tuple[float, str]]] = {}
    keys = sorted({(t.key.way, t.key.shot) for t in tables})
    placed = [(table, record) for table in tables for _, record in table.entries]
    labels = entry_labels([record for _, record in placed])
    for (table, record), name in zip(placed, labels, strict=True):
        column = setting_name(table.key.way, table.key.shot)
        accuracy = record["accuracy"]
        text = f"{100 * accuracy['mean']:.2f} ± {100 * accuracy['ci95']:.2f}"
        best = cells.setdefault(name, {}).get(column)
        if best is None or accuracy["mean"] > best[0]:
            cells[name][column] = (accuracy["mean"], text)
    columns = [setting_name(way, shot) for way, shot in keys]
    rows = [
        {"Method": name, **{c: by_setting.get(c, (None, ""))[1] for c in columns}}
        for name, by_setting in sorted(cells.items())
    ]
    return pd.DataFrame(rows, columns=["Method", *columns])


def published_frame(dataset: str, split: str) -> pd.DataFrame:
    """The papers' own numbers for a dataset and split (`tfmeta.records.published`; empty when none are
    known): one row per paper result, its settings as columns, its source and protocol beside them."""
    results = published.for_benchmark(dataset, split)
    settings = sorted(
        {s for p in results for s in p.accuracy}, key=lambda s: tuple(map(int, s[:-1].split("w")))
    )
    columns = [setting_name(*map(int, s[:-1].split("w"))) for s in settings]
    rows = [
        {
            "Method (paper)": f"{p.label} ({p.paper})",
            **{c: p.accuracy.get(s) for c, s in zip(columns, settings, strict=True)},
            "Batch norm": p.protocol["batch_norm"] or "not stated",
            "Training classes": p.protocol["training_classes"],
            "Source": p.source,
        }
        for p in results
    ]
    return pd.DataFrame(
        rows, columns=["Method (paper)", *columns, "Batch norm", "Training classes", "Source"] if rows else []
    )

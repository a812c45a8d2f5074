"""The overview grid of a benchmark and profile: methods down, test settings across, like a paper's table.

Also the published numbers of the original papers, shown beside our re-runs for context and never ranked:
they come from other code, budgets and test episodes.
"""

from __future__ import annotations

import pandas as pd

from tfmeta.records.frames.tables import Table, variants

# Omniglot, Vinyals split, accuracy % (5-way 1-shot, 5-way 5-shot, 20-way 1-shot, 20-way 5-shot).
PUBLISHED = {
    ("omniglot", "vinyals"): {
        "Matching Networks (Vinyals et al. 2016)": (98.1, 98.9, 93.8, 98.5),
        "MAML (Finn et al. 2017)": (98.7, 99.9, 95.8, 98.9),
        "Prototypical Networks (Snell et al. 2017)": (98.8, 99.7, 96.0, 98.9),
        "Relation Networks (Sung et al. 2018)": (99.6, 99.8, 97.6, 99.1),
        "Reptile, transductive (Nichol et al. 2018)": (97.68, 99.48, 89.43, 97.12),
        "Reptile, non-transductive (Nichol et al. 2018)": (95.39, 98.90, 88.14, 96.65),
        "Siamese Net (Koch et al. 2015, as reported by Vinyals et al. 2016)": (96.7, 98.4, 88.0, 96.5),
    }
}
PUBLISHED_SETTINGS = ("5-way 1-shot", "5-way 5-shot", "20-way 1-shot", "20-way 5-shot")


def setting_name(way: int, shot: int) -> str:
    return f"{way}-way {shot}-shot"


def overview_frame(tables: list[Table]) -> pd.DataFrame:
    """Best accuracy ± CI (%) of each method in each setting, over the given tables (one benchmark and
    profile); a method's row lists the settings it was evaluated on, settings ordered by way then shot.
    A method run in several configurations has a row for each (`tables.variants`), e.g.
    "siamese (loss=bce)" and "siamese (loss=contrastive)"."""
    cells: dict[str, dict[str, tuple[float, str]]] = {}
    keys = sorted({(t.key.way, t.key.shot) for t in tables})
    placed = [(table, record) for table in tables for _, record in table.entries]
    labels = variants([record for _, record in placed])
    for (table, record), label in zip(placed, labels, strict=True):
        column = setting_name(table.key.way, table.key.shot)
        name = record["method"]["name"] + (f" ({label})" if label else "")
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
    """The papers' own numbers for a dataset and split (empty when none are known)."""
    rows = [
        {"Method (paper)": name, **{k: str(v) for k, v in zip(PUBLISHED_SETTINGS, values, strict=True)}}
        for name, values in PUBLISHED.get((dataset, split), {}).items()
    ]
    return pd.DataFrame(rows, columns=["Method (paper)", *PUBLISHED_SETTINGS] if rows else [])

"""The leaderboard's frame builders, imported from wherever the records layer keeps them."""

from pathlib import Path

from tfmeta.records import few_shot, locations, optimizer
from tfmeta.records.frames.optimizers import best_baseline_frame, loss_bands, summary_frame
from tfmeta.records.frames.optimizers import optimizer_records as _optimizer_records
from tfmeta.records.frames.overview import overview_frame
from tfmeta.records.frames.tables import group_tables, pairwise_frame

__all__ = [
    "best_baseline_frame",
    "group_tables",
    "loss_bands",
    "overview_frame",
    "pairwise_frame",
    "summary_frame",
]


# The records the snapshot was taken from: records committed later (more seeds, say) leave it unchanged.
SNAPSHOT_RECORDS = set((Path(__file__).parent / "records.txt").read_text().split())


def _pinned(entries):
    root = locations.results_dir()
    return [(path, record) for path, record in entries if str(path.relative_to(root)) in SNAPSHOT_RECORDS]


def few_shot_entries():
    return _pinned(few_shot.load_all(locations.results_dir()).records)


def optimizer_records():
    loaded = optimizer.load_all(locations.results_dir() / optimizer.SUBFOLDER).records
    return _optimizer_records(_pinned(loaded))

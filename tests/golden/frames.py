"""The leaderboard's frame builders, imported from wherever the records layer keeps them."""

from tfmeta.records import few_shot, locations, optimizer
from tfmeta.records.frames.optimizers import loss_bands, summary_frame
from tfmeta.records.frames.optimizers import optimizer_records as _optimizer_records
from tfmeta.records.frames.overview import overview_frame
from tfmeta.records.frames.tables import group_tables, pairwise_frame

__all__ = ["group_tables", "loss_bands", "overview_frame", "pairwise_frame", "summary_frame"]


def few_shot_entries():
    return few_shot.load_all(locations.results_dir()).records


def optimizer_records():
    return _optimizer_records(optimizer.load_all(locations.results_dir() / optimizer.SUBFOLDER).records)

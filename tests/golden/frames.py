"""The leaderboard's frame builders, imported from wherever the records layer keeps them."""

from tfmeta.bench import optimizer_results, results
from tfmeta.bench.leaderboard.optimizers import loss_bands, optimizer_records as _optimizer_records
from tfmeta.bench.leaderboard.optimizers import summary_frame
from tfmeta.bench.leaderboard.overview import overview_frame
from tfmeta.bench.leaderboard.tables import group_tables, pairwise_frame

__all__ = ["group_tables", "loss_bands", "overview_frame", "pairwise_frame", "summary_frame"]


def few_shot_entries():
    return results.load_all(results.RESULTS_DIR).records


def optimizer_records():
    return _optimizer_records(optimizer_results.load_all(optimizer_results.RESULTS_DIR).records)

"""Renders the leaderboard's few-shot and optimizer tables from the committed records, as JSON-able data.

`python -m tests.golden.render > tests/golden/tables.json` took the snapshot that `test_golden_tables`
compares against; it was taken before the records layer moved, so a refactor that changes any table fails.
Retaken since only when the few-shot tables gained columns (Trust; Seeds and Across seeds; Paper and Gap
to paper), every other cell unchanged; and when tables stopped splitting by profile and started splitting by
protocol class (transductive entries moved to tables of their own, so their neighbours' gaps changed) and
the overview gave each training budget its own row; and when the Profile column began to say "custom"
for a record whose budget is not its claimed profile's; and when the optimizer track was re-run with
learning-rate grids extended until each winner is interior (new records, the old ones superseded) and its
comparison with the best tuned baseline of each task joined the snapshot; and when Relation Networks' seed-0
records, made from a working tree with uncommitted changes, were superseded by a clean-tree re-run, and
likewise MAML's seed-0 records, the Lake records of ProtoNet and the Siamese network, and Matching
Networks' and Reptile's seed-0 records (the paper-form Matching entry now at the full 6,000 episodes), and
the Siamese network's seed-0 records (both losses), and ProtoNet's, ProtoNet with hallucination's and
fine-tuning's (the last two joined by seeds 1 and 2; hallucination's records evaluated again once its
test-time noise restarted from its seed), and first-order MAML's one-task seed 0, Lake's hallucination
seed 0 and the meta-learner LSTM's seed 0; and when the records of earlier budgets that named no trained
weights (so could not be verified) moved to results/superseded/; and when Matching Networks' scale-10 entry
and the Siamese network's contrastive entry gained seeds 1 and 2, and Reptile's entry likewise; and when
first-order MAML's entry with 4 tasks and step 0.1 joined, with seeds 0, 1 and 2, and the meta-learner LSTM's
entry gained seeds 1 and 2; and when every verdict (gap to next, every pair, the optimizer track) moved
from an episode-only Wilcoxon test to the seed-and-episode t test with Holm's correction, and pairs
came to name their entries' variants; and when the Trust cell began to name a seed verified on some of the
machines that checked it (the meta-learner LSTM's seed 0 and Matching Networks' unscaled seed 0, each
differing by one episode on another CPU); and when the meta-learner LSTM's seed-0 records were made again
from a clean tree by the command they name, with the update-rule comparison against all six tuned
optimizers; and when Matching Networks' unscaled 20-way seed 0 was made again likewise (its record named
no command); and when a p value that underflows to zero began to read "p < 1e-300" (two gap cells).
"""

from __future__ import annotations

import json
import sys

from tests.golden import frames


def frame_data(frame) -> dict:
    return json.loads(frame.to_json(orient="split", index=False, double_precision=10))


def render() -> dict:
    entries = frames.few_shot_entries()
    tables = frames.group_tables(entries)
    optimizer_records = frames.optimizer_records()
    return {
        "few_shot": [{"title": table.key.title, "frame": frame_data(table.frame())} for table in tables],
        "overview": frame_data(frames.overview_frame(tables)),
        "pairwise": [frame_data(frames.pairwise_frame(table.entries)) for table in tables],
        "optimizers": frame_data(frames.summary_frame(optimizer_records)),
        "optimizer_bands": frame_data(frames.loss_bands(optimizer_records)),
        "optimizer_best_baseline": frame_data(frames.best_baseline_frame(optimizer_records)),
    }


if __name__ == "__main__":
    json.dump(render(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")

"""Optimizer track: loss against optimizer step for each optimizer on each task family."""

import altair as alt
import streamlit as st
from loading import load_optimizer_entries, plain

from tfmeta.records.frames.optimizers import (
    best_baseline_frame,
    loss_bands,
    meta_training_curves,
    optimizer_records,
    outcomes_frame,
    summary_frame,
    tally_frame,
)
from tfmeta.records.optimizer import BASELINES, KIND

# Okabe & Ito's colour-blind-safe palette: no two optimizers share a hue a reader could confuse.
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
OPTIMIZER_COLOUR = alt.Color("optimizer:N", scale=alt.Scale(range=PALETTE))
# Symmetric log: as readable as a log axis over decades of loss, yet defined at zero and below, so a band
# whose lower edge crosses zero never empties the chart.
LOSS_SCALE = alt.Scale(type="symlog", constant=1e-3)


def chart(bands) -> alt.Chart:
    base = alt.Chart(bands).encode(x=alt.X("step:Q", title="optimizer step"), color=OPTIMIZER_COLOUR)
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("lower:Q", scale=LOSS_SCALE), y2="upper:Q")
    line = base.mark_line().encode(y=alt.Y("mean:Q", title="loss (symmetric log scale)", scale=LOSS_SCALE))
    return (band + line).properties(height=380)


def meta_training_chart(training) -> alt.Chart:
    smooth = (
        alt.Chart(training)
        .transform_window(mean="mean(meta_loss)", frame=[-25, 25], groupby=["optimizer"])
        .mark_line()
        .encode(
            x=alt.X("iteration:Q", title="meta-iteration"),
            y=alt.Y("mean:Q", title="meta-loss per step (moving mean)", scale=LOSS_SCALE),
            color=OPTIMIZER_COLOUR,
        )
    )
    return smooth.properties(height=260)


def show_tally(records) -> None:
    """Across tasks: the learned optimizer's wins, ties and losses against each tuned baseline."""
    outcomes = outcomes_frame(records)
    if outcomes.empty:
        return
    st.subheader("Against the best tuned baseline")
    st.caption(
        "Each learned optimizer against the tuned baseline with the lowest mean final loss on each task "
        "(Wilcoxon signed-rank on the final losses of the same held-out problems; 'wins' / 'loses' where "
        "p < 0.05, 'ties' otherwise). `difference` is learned minus baseline: negative is better."
    )
    st.dataframe(best_baseline_frame(records), hide_index=True, width="stretch")
    st.subheader("Across tasks")
    st.caption(
        "Each learned optimizer against each tuned baseline, task by task: a paired Wilcoxon test on the "
        "final losses of the same held-out problems; 'wins' / 'loses' where p < 0.05, 'ties' otherwise. "
        "`vs tuned adam` is its mean final loss over tuned Adam's (below 1: better than Adam)."
    )
    st.dataframe(tally_frame(outcomes), hide_index=True, width="stretch")
    with st.expander("Task by task"):
        st.dataframe(outcomes, hide_index=True, width="stretch")


def run() -> None:
    st.title("Optimizer track")
    records = optimizer_records(load_optimizer_entries())
    if not records:
        st.info(
            "No optimizer-track records yet. This track compares learned optimizers (Andrychowicz et al. "
            f"2016) with {', '.join(BASELINES)} on optimizee task families: loss against optimizer step, "
            f'mean and 95% band over seeds. Its records carry `"kind": "{KIND}"`, a `task`, an `optimizer` '
            "and a `curve` of `{step, loss}` points; they appear here as soon as they exist.",
            icon=":material/hourglass_empty:",
        )
        return
    st.caption(
        "Loss of the optimizee against optimizer step, mean and 95% band over held-out problems (the same "
        "problems and seeds for every optimizer); baselines' learning rates tuned on training problems. "
        "`task@2x` runs twice the horizon the learned optimizer was meta-trained on. The reference "
        "optimizer is tuned Adam: each row's steps-to-reference counts the steps it needs to reach Adam's "
        "final loss. The loss axis is symmetric-log, so a band reaching zero still draws."
    )
    show_tally(records)
    bands, table = loss_bands(records), summary_frame(records)
    training = meta_training_curves(records)
    for task in sorted(bands["task"].unique()):
        st.subheader(plain(task))
        st.altair_chart(chart(bands[bands["task"] == task]), width="stretch")
        if not table.empty:
            st.dataframe(table[table["task"] == task].drop(columns="task"), hide_index=True, width="stretch")
    if not training.empty:
        st.subheader("Meta-training")
        st.caption(
            "Mean optimizee loss per step over each meta-iteration's run, moving mean over 51 iterations."
        )
        st.altair_chart(meta_training_chart(training), width="stretch")


if __name__ == "__main__":
    run()

"""Optimizer track: loss against optimizer step for each optimizer on each task family."""

import altair as alt
import streamlit as st
from loading import load_optimizer_entries, plain

from tfmeta.core.registries import BASELINES
from tfmeta.records.frames.optimizers import (
    best_baseline_frame,
    loss_bands,
    meta_training_curves,
    optimizer_records,
    outcomes_frame,
    summary_frame,
    tally_frame,
)
from tfmeta.records.optimizer import KIND

# Baselines in Okabe & Ito's colour-blind-safe hues, thin; learned optimizers dark and thick, so they
# stand out from the baselines they are measured against.
BASELINE_PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00"]
LEARNED_PALETTE = ["#000000", "#8B0000", "#4B0082"]


def colours(names: list[str]) -> alt.Scale:
    baselines = [n for n in BASELINES if n in names]
    learned = sorted(n for n in names if n not in BASELINES)
    palette = BASELINE_PALETTE[: len(baselines)] + (LEARNED_PALETTE * len(learned))[: len(learned)]
    return alt.Scale(domain=baselines + learned, range=palette)


def chart(bands) -> alt.LayerChart:
    """Loss against step on a log axis fitted to the task's losses; the band, clipped to that axis, takes
    no legend (it is drawn with `fill`, so the lines' legend keeps solid swatches)."""
    names = sorted(bands["optimizer"].unique())
    scale = colours(names)
    floor = bands.loc[bands["mean"] > 0, "mean"].min() / 2
    top = bands["upper"].max()
    data = bands.assign(
        lower=bands["lower"].clip(lower=floor), learned=~bands["optimizer"].isin(BASELINES)
    ).query("mean > 0")
    y_scale = alt.Scale(type="log", domain=[floor, top], clamp=True)
    base = alt.Chart(data).encode(x=alt.X("step:Q", title="optimizer step"))
    band = base.mark_area(opacity=0.12).encode(
        y=alt.Y("lower:Q", scale=y_scale),
        y2="upper:Q",
        fill=alt.Fill("optimizer:N", scale=scale, legend=None),
    )
    line = base.mark_line().encode(
        y=alt.Y("mean:Q", title="loss (log scale)", scale=y_scale, axis=alt.Axis(tickCount=6, format=".3~g")),
        color=alt.Color(
            "optimizer:N",
            scale=scale,
            title="optimizer",
            legend=alt.Legend(orient="right", symbolType="stroke", symbolStrokeWidth=3, labelLimit=200),
        ),
        strokeWidth=alt.condition(alt.datum.learned, alt.value(3.5), alt.value(1.5)),
        tooltip=["optimizer", "step", alt.Tooltip("mean:Q", format=".4g"), "runs"],
    )
    return (band + line).properties(height=320)


def meta_training_chart(training) -> alt.Chart:
    smooth = (
        alt.Chart(training)
        .transform_window(mean="mean(meta_loss)", frame=[-25, 25], groupby=["optimizer"])
        .mark_line()
        .encode(
            x=alt.X("iteration:Q", title="meta-iteration"),
            y=alt.Y("mean:Q", title="meta-loss per step (moving mean, log)", scale=alt.Scale(type="log")),
            color=alt.Color("optimizer:N", title="learned optimizer", legend=alt.Legend(orient="right")),
        )
    )
    return smooth.properties(height=260)


def rounded(frame):
    """Numbers for reading: 3 significant digits, '-' where there is none."""
    return frame.apply(
        lambda column: (
            column.map(lambda v: "-" if v is None or v != v else f"{v:.3g}")
            if column.dtype.kind in "fi" and column.name != "tasks"
            else column.fillna("-")
        )
    )


def show_answer(records) -> None:
    """The answer first: each learned optimizer against the best tuned baseline of each task, and the
    tally across tasks, all Holm-corrected together."""
    best = best_baseline_frame(records)
    if best.empty:
        return
    counts = best.groupby("learned")["outcome"].value_counts().unstack(fill_value=0)
    counts = counts.reindex(columns=["wins", "ties", "loses"], fill_value=0).reset_index()
    counts.columns.name = None
    st.subheader("Which optimizer wins")
    st.caption(
        "Each learned optimizer against the tuned baseline with the lowest mean final loss on each task: a "
        "t test over the same held-out problems, Holm-corrected over all tasks (one meta-training seed, "
        "so problem noise only). `difference` is learned minus baseline final loss: negative is better."
    )
    st.dataframe(counts.rename(columns={"loses": "losses"}), hide_index=True, width="stretch")
    st.dataframe(
        rounded(best.drop(columns=["profile"])),
        hide_index=True,
        width="stretch",
        column_config={"task": st.column_config.TextColumn(pinned=True)},
    )
    outcomes = outcomes_frame(records)
    with st.expander("Against every tuned baseline, not only the best"):
        st.dataframe(tally_frame(outcomes), hide_index=True, width="stretch")
        st.dataframe(rounded(outcomes), hide_index=True, width="stretch")


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
    show_answer(records)
    st.subheader("Task by task")
    st.caption(
        "Loss of the optimizee against optimizer step, mean and 95% band over held-out problems (the same "
        "problems and seeds for every optimizer); baselines' learning rates tuned on training problems. "
        "`task@2x` runs twice the horizon the learned optimizer was meta-trained on. Learned optimizers "
        "are the thick dark lines. The reference optimizer is tuned Adam: steps-to-reference counts the "
        "steps a row needs to reach Adam's final loss."
    )
    bands, table = loss_bands(records), summary_frame(records)
    training = meta_training_curves(records)
    wanted = st.query_params.get("task")
    for task in sorted(bands["task"].unique()):
        with st.expander(plain(task), expanded=task == wanted):
            st.altair_chart(chart(bands[bands["task"] == task]), width="stretch")
            if not table.empty:
                mine = table[table["task"] == task].drop(columns="task")
                st.dataframe(rounded(mine), hide_index=True, width="stretch")
    if not training.empty:
        st.subheader("Meta-training")
        st.caption(
            "Mean optimizee loss per step over each meta-iteration's run, moving mean over 51 iterations."
        )
        st.altair_chart(meta_training_chart(training), width="stretch")


if __name__ == "__main__":
    run()

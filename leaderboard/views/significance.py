"""Significance: paired comparisons of every pair of records answering the same frozen episodes."""

import altair as alt
import streamlit as st
from loading import load_entries, no_records_note

from tfmeta.records.frames.tables import ALPHA, group_tables, pairwise_frame


def difference_chart(frame) -> alt.Chart:
    """Each pair's difference with its paired 95% CI; colour says whether the gap is significant."""
    data = frame.assign(
        pair=frame["A"] + " vs " + frame["B"],
        low=frame["A - B (points)"] - frame["CI95 (points)"],
        high=frame["A - B (points)"] + frame["CI95 (points)"],
    )
    y = alt.Y("pair:N", title=None, sort=None, axis=alt.Axis(labelLimit=400))
    color = alt.Color("Significant:N", scale=alt.Scale(domain=[True, False], range=["#1f77b4", "#aaaaaa"]))
    bars = (
        alt.Chart(data)
        .mark_rule(strokeWidth=3)
        .encode(
            y=y, x=alt.X("low:Q", title="A - B (accuracy points), paired 95% CI"), x2="high:Q", color=color
        )
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=80)
        .encode(y=y, x="A - B (points):Q", color=color, tooltip=list(frame.columns))
    )
    zero = alt.Chart().mark_rule(strokeDash=[4, 4]).encode(x=alt.datum(0))
    return (zero + bars + points).properties(height=40 * len(data) + 60)


def run() -> None:
    st.title("Significance")
    st.markdown(
        "Every method answers the same frozen test episodes, so their per-episode accuracies pair up. "
        "For each pair: the mean difference in accuracy points with its paired 95% CI, the episodes each "
        "method wins, an exact sign test and a Wilcoxon signed-rank test; "
        f"significant means Wilcoxon p < {ALPHA}."
    )
    entries = load_entries()
    tables = [t for t in group_tables(entries) if len(t.entries) >= 2]
    if not tables:
        if entries:
            st.info("No benchmark has two records on the same episodes yet.")
        else:
            no_records_note()
        return
    table = st.selectbox("Table", tables, format_func=lambda t: f"{t.key.title} · {t.key.short_hash}")
    frame = pairwise_frame(table.entries)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "A - B (points)": st.column_config.NumberColumn(format="%+.2f"),
            "CI95 (points)": st.column_config.NumberColumn(format="%.2f"),
            "Sign test p": st.column_config.NumberColumn(format="%.3g"),
            "Wilcoxon p": st.column_config.NumberColumn(format="%.3g"),
        },
    )
    st.altair_chart(difference_chart(frame), width="stretch")
    st.caption("A difference whose CI excludes zero is a real gap; grey pairs are not distinguishable.")


if __name__ == "__main__":
    run()

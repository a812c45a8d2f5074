"""Significance: paired comparisons of every pair of records answering the same frozen episodes."""

import altair as alt
import streamlit as st
from loading import load_entries, no_records_note

from tfmeta.bench.leaderboard.tables import ALPHA, group_tables, pairwise_frame


def heatmap(frame) -> alt.Chart:
    base = alt.Chart(frame).encode(x=alt.X("B:N", title=None), y=alt.Y("A:N", title=None))
    cells = base.mark_rect().encode(
        color=alt.Color("A - B (points):Q", scale=alt.Scale(scheme="redblue", domainMid=0)),
        tooltip=list(frame.columns),
    )
    labels = base.mark_text().encode(text=alt.Text("label:N"))
    return (cells + labels).properties(height=60 * frame["A"].nunique() + 60)


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
        no_records_note() if not entries else st.info(
            "No benchmark has two records on the same episodes yet."
        )
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
    marks = frame["Significant"].map({True: "*", False: ""})
    labelled = frame.assign(label=frame["A - B (points)"].map("{:+.2f}".format) + marks)
    st.altair_chart(heatmap(labelled), width="stretch")
    st.caption("Cells: A - B in points; * marks a significant difference.")


if __name__ == "__main__":
    run()

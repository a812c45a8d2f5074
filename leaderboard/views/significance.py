"""Significance: paired comparisons of every pair of records answering the same frozen episodes."""

import altair as alt
import streamlit as st
from loading import load_entries, no_records_note, verified

from tfmeta.records.frames.tables import ALPHA, group_tables, pairwise_frame


def difference_chart(frame) -> alt.Chart:
    """Each pair's difference with the interval its verdict used; colour says the verdict."""
    data = frame.assign(
        pair=frame["A"] + " vs " + frame["B"], low=frame["Low (points)"], high=frame["High (points)"]
    )
    y = alt.Y("pair:N", title=None, sort=None, axis=alt.Axis(labelLimit=400))
    color = alt.Color("Significant:N", scale=alt.Scale(domain=[True, False], range=["#1f77b4", "#aaaaaa"]))
    bars = (
        alt.Chart(data)
        .mark_rule(strokeWidth=3)
        .encode(
            y=y,
            x=alt.X("low:Q", title="A - B (accuracy points), Holm-level interval"),
            x2="high:Q",
            color=color,
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
        "Every entry answers the same frozen test episodes with each of its training seeds. For each pair: "
        "the mean difference in accuracy points and a paired t test counting seed and episode variance "
        f"(seed variance counted), Holm-corrected over all pairs of the table at {ALPHA}; the interval "
        "shown is the one the verdict used, so a verdict other than *ties* means it excludes zero. "
        "Entries with fewer than 3 seeds say so in the note."
    )
    entries = load_entries()
    if not st.toggle(
        "Include unverified records", help="records `tfmeta verify` has not reproduced from their weights"
    ):
        entries = verified(entries)
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
            "Low (points)": st.column_config.NumberColumn(format="%+.2f"),
            "High (points)": st.column_config.NumberColumn(format="%+.2f"),
            "Level": st.column_config.NumberColumn(format="%.4f"),
            "Holm p": st.column_config.NumberColumn(format="%.2g"),
        },
    )
    against_best = frame[frame["A"].str.startswith("#1 ")]
    st.subheader("Each entry against the best")
    st.altair_chart(difference_chart(against_best), width="stretch")
    st.caption("An interval that excludes zero is a real gap; grey pairs are not distinguishable.")
    st.subheader("Every pair")
    st.altair_chart(pair_matrix(frame), width="content")


def pair_matrix(frame) -> alt.LayerChart:
    """All pairs as one grid (row: the higher-ranked entry A, column: B), one fixed-size cell per pair so
    every label stays legible at 15 entries: the colour says the verdict, the text is the difference in
    points (white on the dark cells)."""
    data = frame.assign(
        label=frame["A - B (points)"].map(lambda d: f"{d:+.2f}"),
        verdict=frame["Verdict"].map(lambda v: "tie" if v == "ties" else f"A {v} B"),
    )
    order = list(dict.fromkeys([*frame["A"], *frame["B"]]))
    x = alt.X("B:N", sort=order, title=None, axis=alt.Axis(labelAngle=-40, labelLimit=220, labelFontSize=12))
    y = alt.Y("A:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelFontSize=12))
    colour = alt.Color(
        "verdict:N",
        title="verdict",
        scale=alt.Scale(domain=["A beats B", "tie", "A loses to B"], range=["#0072B2", "#dddddd", "#D55E00"]),
    )
    cells = alt.Chart(data).mark_rect().encode(x=x, y=y, color=colour, tooltip=list(frame.columns))
    text = (
        alt.Chart(data)
        .mark_text(fontSize=12)
        .encode(
            x=x,
            y=y,
            text="label:N",
            color=alt.condition(alt.datum.verdict == "tie", alt.value("#000000"), alt.value("#ffffff")),
        )
    )
    return (cells + text).properties(width=alt.Step(64), height=alt.Step(30))


if __name__ == "__main__":
    run()

"""Learning curves: validation accuracy or loss against training episodes or wall-clock time."""

import altair as alt
import streamlit as st
from loading import load_entries, no_records_note, plain

from tfmeta.records.frames.curves import METRICS, curve_bands, curve_points

X_AXES = {
    "training episodes": ("episode", "training episodes"),
    "wall-clock": ("seconds", "seconds of training"),
}


def chart(bands, x: str, x_title: str, y_title: str, log_x: bool = False) -> alt.Chart:
    scale = alt.Scale(type="log") if log_x else alt.Scale()
    colour = alt.Scale(scheme="tableau20")  # 20 distinct hues: one per entry without repeats
    base = alt.Chart(bands).encode(
        x=alt.X(f"{x}:Q", title=x_title + (" (log)" if log_x else ""), scale=scale)
    )
    # The band is drawn with `fill` and takes no legend, so the lines' legend keeps solid swatches (a
    # `legend: null` on the same `color` field would switch the lines' legend off too).
    band = base.mark_area(opacity=0.2).encode(
        y="lower:Q", y2="upper:Q", fill=alt.Fill("method:N", scale=colour, legend=None)
    )
    line = base.mark_line(point=alt.OverlayMarkDef(filled=True)).encode(
        y=alt.Y("mean:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color(
            "method:N",
            title="entry",
            scale=colour,
            legend=alt.Legend(
                orient="bottom",
                columns=3,
                symbolType="circle",
                symbolOpacity=1,
                symbolSize=120,
                labelLimit=320,
            ),
        ),
        tooltip=[
            "method",
            "episode",
            alt.Tooltip("seconds:Q", format=".0f"),
            alt.Tooltip("mean:Q", format=".3f"),
            "runs",
        ],
    )
    return (band + line).properties(height=420)


def run() -> None:
    st.title("Learning curves")
    entries = load_entries()
    points = curve_points(entries)
    if points.empty:
        if entries:
            st.info("The records hold no learning curves.")
        else:
            no_records_note()
        return
    trainings = sorted({(b, p) for b, p in zip(points["benchmark"], points["profile"], strict=True)})
    benchmark, profile = st.selectbox("Benchmark and profile", trainings, format_func=" · ".join)
    left, middle, right = st.columns([2, 2, 1])
    metric = left.radio("Metric", list(METRICS), format_func=METRICS.get, horizontal=True)
    axis = middle.radio("Against", list(X_AXES), horizontal=True)
    log_x = right.toggle("Log x axis")
    chosen = points[
        (points["benchmark"] == benchmark) & (points["profile"] == profile) & (points["metric"] == metric)
    ]
    if chosen.empty:
        st.info(f"No {METRICS[metric]} recorded for {plain(benchmark)} · {plain(profile)}.")
        return
    bands = curve_bands(chosen)
    if log_x:  # a log axis has no place for episode or second 0
        bands = bands[bands[X_AXES[axis][0]] > 0]
    st.altair_chart(chart(bands, *X_AXES[axis], METRICS[metric], log_x), width="stretch")
    st.caption(
        "One line per entry (method and variant; its budget where a method has several). Where an entry "
        "has several training seeds the line is their mean and the band a 95% t-interval across them; one "
        "seed draws no band. Records sharing one training (the test settings of a benchmark) count once."
    )


if __name__ == "__main__":
    run()

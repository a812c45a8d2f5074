"""Inner-loop curves: does a learned update rule (or initialisation) beat SGD and Adam from the same start?

Small multiples: one panel per entry, its own update in black against the six standard optimizers from the
same start, each optimizer the same colour in every panel.
"""

import altair as alt
import streamlit as st
from loading import load_entries, no_records_note, plain

from tfmeta.core.registries import BASELINES
from tfmeta.records.frames.inner_loop import best_baseline_frame, curve_frame, paired_frame

# The own update in black, the optimizers in Okabe & Ito's colour-blind-safe hues.
RULES = ["own", *BASELINES]
RULE_SCALE = alt.Scale(
    domain=RULES, range=["#000000", "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00"]
)
RULE_COLOUR = alt.Color(
    "rule:N",
    title="update rule",
    scale=RULE_SCALE,
    legend=alt.Legend(orient="bottom", columns=4, symbolType="square", symbolOpacity=1),
)
PANELS_PER_ROW = 2


def panel(frame, log_x: bool, legend: bool = True) -> alt.LayerChart:
    """One entry: query accuracy against inner step for its own rule and each optimizer; the shared
    legend is drawn under the last row of panels only."""
    scale = alt.Scale(type="symlog") if log_x else alt.Scale()
    x = alt.X("step:Q", title="inner step on the support set" + (" (log)" if log_x else ""), scale=scale)
    base = alt.Chart(frame).encode(x=x)
    # `fill`, not `color`, with no legend: a `legend: null` on the lines' colour field would hide theirs.
    band = base.mark_area(opacity=0.12).encode(
        y="lower:Q", y2="upper:Q", fill=alt.Fill("rule:N", scale=RULE_SCALE, legend=None)
    )
    line = base.mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        y=alt.Y("accuracy:Q", title="query accuracy (%)", scale=alt.Scale(zero=False)),
        color=RULE_COLOUR if legend else alt.Color("rule:N", scale=RULE_SCALE, legend=None),
        strokeWidth=alt.condition(alt.datum.rule == "own", alt.value(3), alt.value(1.5)),
        tooltip=[
            "label",
            "step",
            alt.Tooltip("accuracy:Q", format=".2f"),
            alt.Tooltip("loss:Q", format=".3f"),
        ],
    )
    horizon = (
        alt.Chart(frame.drop_duplicates(["trained_steps"]))
        .mark_rule(strokeDash=[4, 4], opacity=0.5)
        .encode(x="trained_steps:Q", tooltip=["trained_steps"])
    )
    return (band + line + horizon).properties(height=260)


def run() -> None:
    st.title("Inner-loop curves")
    entries = load_entries()
    frame = curve_frame(entries)
    if frame.empty:
        no_records_note()
        st.info(
            "No record has inner-loop curves yet: they come from MAML, Reptile, the meta-learner LSTM and "
            "fine-tuning (`tfmeta run omniglot --method meta_lstm --way 5 --shot 1`).",
            icon=":material/hourglass_empty:",
        )
        return
    st.caption(
        "One panel per entry: query accuracy after each adaptation step on the support set, mean and 95% "
        "band over the first test episodes. Black is the entry's own update (for fine-tuning: its tuned "
        "optimizer); the coloured lines are standard optimizers from the same start, learning rates tuned on "
        "validation episodes. The dashed line marks the steps the entry was trained or tested with."
    )
    # A setting's label names its profile; the standard ones first, where the baselines were run.
    settings = sorted(frame["setting"].unique(), key=lambda s: (not s.endswith("(standard)"), s))
    left, right = st.columns([3, 1])
    wanted = st.query_params.get("setting")
    setting = left.selectbox("Setting", settings, index=settings.index(wanted) if wanted in settings else 0)
    st.query_params["setting"] = setting
    log_x = right.toggle("Log step axis", value=True, help="symmetric log, so step 0 stays on the axis")
    show_summary(entries, setting)
    mine = frame[frame["setting"] == setting]
    # One panel per entry and start that has optimizers to compare with: its own, then another record's.
    by_method = mine.sort_values("method")
    panels = list(dict.fromkeys(zip(by_method["entry"], by_method["start"], strict=True)))
    compared = [
        (n, s)
        for n, s in panels
        if (mine[(mine["entry"] == n) & (mine["start"] == s)]["rule"] != "own").any()
    ]
    alone = [n for n, s in panels if (n, s) not in compared]
    if alone:
        names = plain(", ".join(sorted(set(alone))))
        st.caption(f"Not drawn, no standard optimizer was run from their start: {names}.")
    st.markdown("**Curves** (the legend below the last panel holds for every panel):")
    for first in range(0, len(compared), PANELS_PER_ROW):
        row = compared[first : first + PANELS_PER_ROW]
        for column, (name, start) in zip(st.columns(PANELS_PER_ROW), row, strict=False):
            rows = mine[(mine["entry"] == name) & (mine["start"] == start)]
            own_start = (rows["start"] == rows["method"]).all()
            column.markdown(f"**{plain(name)}**" + ("" if own_start else f" from {plain(start)}'s start"))
            last = first + PANELS_PER_ROW >= len(compared)
            column.altair_chart(panel(rows, log_x, legend=last), width="stretch")
    paired = paired_frame(entries)
    rows = paired[paired["setting"] == setting] if not paired.empty else paired
    if not rows.empty:
        with st.expander("Own update against each optimizer from the same start, at the trained horizon"):
            st.dataframe(rows.drop(columns="setting"), hide_index=True, width="stretch")


def show_summary(entries, setting: str) -> None:
    """The answer first: per entry and start, the own update against the best tuned optimizer."""
    best = best_baseline_frame(entries)
    rows = best[best["setting"] == setting] if not best.empty else best
    if rows.empty:
        return
    st.markdown(
        "**Own update against the best tuned optimizer from the same start**, at the trained horizon (a "
        "t test over the curve episodes, one training seed, Holm-corrected over the optimizers of each "
        "start; the interval is the one the verdict used):"
    )
    shown = rows.drop(columns=["setting", "record"]).assign(
        **{
            "own (%)": rows["own (%)"].map(lambda v: f"{v:.2f}"),
            "optimizer (%)": rows["optimizer (%)"].map(lambda v: f"{v:.2f}"),
            "own - optimizer (points)": rows["own - optimizer (points)"].map(lambda v: f"{v:+.2f}"),
            "Holm p": rows["Holm p"].map(lambda v: f"{v:.2g}"),
            "learning rate": rows["learning rate"].map(lambda v: f"{v:.3g}"),
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")


if __name__ == "__main__":
    run()

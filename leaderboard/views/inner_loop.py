"""Inner-loop curves: does a learned update rule (or initialisation) beat SGD and Adam from the same start?"""

import altair as alt
import streamlit as st
from loading import load_entries, no_records_note, plain

from tfmeta.records.frames.inner_loop import curve_frame, paired_frame


def chart(frame) -> alt.Chart:
    base = alt.Chart(frame).encode(x=alt.X("step:Q", title="inner step on the support set"), color="label:N")
    band = base.mark_area(opacity=0.15).encode(y="lower:Q", y2="upper:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("accuracy:Q", title="query accuracy (%)", scale=alt.Scale(zero=False)),
        tooltip=[
            "label",
            "step",
            alt.Tooltip("accuracy:Q", format=".2f"),
            alt.Tooltip("loss:Q", format=".3f"),
        ],
    )
    horizon = (
        alt.Chart(frame.drop_duplicates(["method", "trained_steps"]))
        .mark_rule(strokeDash=[4, 4], opacity=0.5)
        .encode(x="trained_steps:Q", tooltip=["method", "trained_steps"])
    )
    return (band + line + horizon).properties(height=380)


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
        "Query accuracy after each adaptation step on the support set, mean and 95% band over the first test "
        "episodes; the dashed line marks the steps each method was trained or tested with (later steps show "
        "what happens when a rule runs longer). Standard optimizers start from the method's own start, their "
        "learning rates tuned on validation episodes of the same setting."
    )
    paired = paired_frame(entries)
    for setting in sorted(frame["setting"].unique()):
        st.subheader(plain(setting))
        mine = frame[frame["setting"] == setting]
        methods = sorted(mine["method"].unique())
        chosen = st.multiselect("Methods", methods, default=methods, key=f"methods-{setting}")
        st.altair_chart(chart(mine[mine["method"].isin(chosen)]), width="stretch")
        rows = (
            paired[(paired["setting"] == setting) & paired["method"].isin(chosen)]
            if not paired.empty
            else paired
        )
        if not rows.empty:
            st.markdown("Own update against each optimizer from the same start, at the trained horizon:")
            st.dataframe(rows.drop(columns="setting"), hide_index=True, width="stretch")


if __name__ == "__main__":
    run()

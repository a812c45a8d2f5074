"""Method pages: the paper, the configuration, provenance, and the command reproducing each result."""

import altair as alt
import streamlit as st
from loading import load_entries, no_records_note, plain

from tfmeta.records import trust
from tfmeta.records.entries import training_seed
from tfmeta.records.frames.methods import (
    analysis_frames,
    by_entry,
    entries_of,
    entry_curve,
    method_names,
    provenance_summary,
    reproduce_command,
    without_nulls,
)


def show_record(path, record) -> None:
    b, accuracy = record["benchmark"], record["accuracy"]
    status = trust.label(path, record)
    title = (
        f"seed {training_seed(record)} · {plain(b['name'])} {b['way']}-way {b['shot']}-shot · "
        f"{plain(record['profile'])}: {100 * accuracy['mean']:.2f} ± {100 * accuracy['ci95']:.2f}% "
        f"({accuracy['n_episodes']} episodes) · {status}"
    )
    with st.expander(title):
        recorded = record["provenance"].get("command")
        if recorded:
            derived = record["provenance"].get("command_derived")
            st.markdown("Made by (derived from the record after the run):" if derived else "Made by:")
            st.code(recorded, language="bash")
        st.markdown("Reproduce:")
        st.code(reproduce_command(record), language="bash")
        summary = provenance_summary(record)  # a dataframe: its cells are text, never markdown
        st.dataframe(
            {"field": list(summary), "value": [str(v) for v in summary.values()]},
            hide_index=True,
            width="stretch",
        )
        st.markdown("Run configuration:")
        st.json(without_nulls(record["config"]), expanded=False)
        show_analysis(record)
        st.caption(f"Record {plain(path.name)}, episodes {plain(record['episodes_hash'])}")


def accuracy_line(frame, x: alt.X, accuracy_title: str, **encodings) -> alt.Chart:
    """A line with points of the frame's `accuracy` column against `x`, its axis fitted to the data (not
    from zero); `encodings` adds channels (colour, tooltip)."""
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(x=x, y=alt.Y("accuracy:Q", title=accuracy_title, scale=alt.Scale(zero=False)), **encodings)
    )


def show_analysis(record) -> None:
    """Charts of a record's method-specific analysis (hallucination: accuracy against m, projection)."""
    by_m, projection = analysis_frames(record)
    if by_m is not None:
        trained = record["analysis"].get("trained_m")
        st.markdown(f"Accuracy against hallucinated examples per class, m (trained with m = {trained}):")
        st.altair_chart(accuracy_line(by_m, alt.X("m:Q", title="m"), "accuracy (%)"), width="stretch")
    if projection is not None:
        st.markdown("Real, hallucinated and query features of one test episode (PCA to 2-D):")
        chart = (
            alt.Chart(projection)
            .mark_point(filled=True, size=60)
            .encode(
                x="x:Q",
                y="y:Q",
                color=alt.Color("class:N"),
                shape=alt.Shape("kind:N"),
                tooltip=["kind", "class"],
            )
        )
        st.altair_chart(chart, width="stretch")


def run() -> None:
    st.title("Methods")
    entries = load_entries()
    names = method_names(entries)
    if not names:
        no_records_note()
        return
    wanted = st.query_params.get("method")
    name = st.selectbox("Method", names, index=names.index(wanted) if wanted in names else 0)
    st.query_params["method"] = name
    mine = entries_of(entries, name)
    latest = max(mine, key=lambda entry: entry[1]["provenance"]["created"])[1]["method"]
    st.header(plain(name))
    st.markdown(f"**Paper:** {plain(latest.get('paper') or 'not given')}")
    st.markdown(f"**Import path:** {plain(latest['import_path'])}")
    st.markdown("**Method configuration** (latest record):")
    st.json(without_nulls(latest["config"]), expanded=True)
    groups = by_entry(mine)
    st.subheader(
        f"Results: {len(mine)} records in {len(groups)} {'entry' if len(groups) == 1 else 'entries'}"
    )
    for label, members in groups.items():
        show_entry(label, members)


def show_entry(label: str, members) -> None:
    """One entry: its learning curve per training seed, then each of its records."""
    st.markdown(f"#### {plain(label)}")
    curve = entry_curve(members)
    if not curve.empty:
        chart = accuracy_line(
            curve,
            alt.X("episode:Q", title="training episodes"),
            "validation accuracy (%)",
            color=alt.Color("seed:N", title="training seed"),
            tooltip=["seed", "episode", alt.Tooltip("accuracy:Q", format=".2f")],
        )
        st.altair_chart(chart.properties(height=220), width="stretch")
    for path, record in sorted(
        members,
        key=lambda m: (training_seed(m[1]), m[1]["benchmark"]["way"], m[1]["benchmark"]["shot"], m[0].name),
    ):
        show_record(path, record)


if __name__ == "__main__":
    run()

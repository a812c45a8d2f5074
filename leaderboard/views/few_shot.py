"""Few-shot track: one ranked table per benchmark setting, profile and frozen episode set."""

import streamlit as st
from loading import load_entries, no_records_note, plain

from tfmeta.records import trust
from tfmeta.records.frames.overview import overview_frame, published_frame
from tfmeta.records.frames.tables import ALPHA, Table, group_tables

COLUMNS = {
    "Rank": st.column_config.NumberColumn(width="small"),
    "Accuracy (%)": st.column_config.TextColumn(help="mean ± 95% CI (1.96 std / sqrt N) over test episodes"),
    "Mean (%)": None,
    "CI95 (%)": None,
    "Gap to next": st.column_config.TextColumn(
        help=f"paired difference to the next rank in points ± 95% CI, Wilcoxon p; '>' significant at "
        f"{ALPHA}, '~' not distinguishable"
    ),
    "ms / episode": st.column_config.NumberColumn(
        format="%.0f", help="meta-training milliseconds per episode"
    ),
    "Params": st.column_config.NumberColumn(format="%d"),
}


def show_table(table: Table) -> None:
    key = table.key
    st.subheader(f"{plain(key.dataset)} {key.way}-way {key.shot}-shot · {plain(key.profile)}")
    st.caption(
        f"Benchmark {plain(key.benchmark)}, split {plain(key.split)}, test part {plain(key.part)}; frozen "
        f"test episodes {plain(key.episodes_hash)}. Only records evaluated on these exact episodes are "
        "ranked here."
    )
    st.dataframe(table.frame(), hide_index=True, column_config=COLUMNS, width="stretch")


def show_overview(tables: list[Table]) -> None:
    """One grid per benchmark and profile, then the papers' numbers for context."""
    groups: dict[tuple, list[Table]] = {}
    for table in tables:
        key = table.key
        groups.setdefault((key.benchmark, key.dataset, key.split, key.profile), []).append(table)
    for (benchmark, dataset, split, profile), members in groups.items():
        st.subheader(f"{plain(benchmark)} · {plain(profile)}: overview")
        st.caption("Best accuracy ± 95% CI (%) of each method per test setting; ranked tables follow.")
        st.dataframe(overview_frame(members), hide_index=True, width="stretch")
        published = published_frame(dataset, split)
        if not published.empty:
            title = f"Published numbers on {plain(dataset)} ({plain(split)} split), for context"
            with st.expander(title, expanded=True):
                st.caption("From the papers, with their own code, budgets and test episodes: never ranked.")
                st.dataframe(published, hide_index=True, width="stretch")


def run() -> None:
    st.title("Few-shot track")
    entries = load_entries()
    if not entries:
        no_records_note()
        return
    profiles = sorted({record["profile"] for _, record in entries})
    default = [p for p in profiles if p != "smoke"] or profiles
    chosen = st.multiselect("Profiles", profiles, default=default, help="smoke-profile numbers mean nothing")
    if st.toggle(
        "Verified records only",
        help="records whose trained weights `tfmeta verify` re-evaluated, reproducing every episode",
    ):
        entries = [(path, record) for path, record in entries if trust.status(path) == "verified"]
    tables = group_tables(entries)
    st.markdown(
        "Accuracy is the mean over the benchmark's frozen test episodes ± the 95% confidence interval. "
        "**Gap to next** compares each row with the row below on the same episodes (paired Wilcoxon test): "
        "`>` the gap is statistically real, `~` it is not."
    )
    shown = [table for table in tables if table.key.profile in chosen]
    show_overview(shown)
    for table in shown:
        show_table(table)


if __name__ == "__main__":
    run()

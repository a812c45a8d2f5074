"""Few-shot track: pick a setting and a protocol class, read one ranked table and its compute chart.

A table of more than PAGE entries shows a page of them at a time, with a search box over the entry names;
ranks and verdicts stay those of the whole table.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st
from loading import board, no_records_note, plain
from ranking import RankedTable

from tfmeta.records.entries import PRIMARY
from tfmeta.records.frames.compute import compute_frame
from tfmeta.records.frames.overview import overview_frame, published_frame
from tfmeta.records.frames.tables import ALPHA, Table

if TYPE_CHECKING:
    import altair as alt

PAGE = 100  # rows a table shows at once
TABLE_FIRST = 0.3  # seconds the compute chart waits for the table to paint

SHOWN = [
    "Rank", "Entry", "Accuracy (%)", "Verdict", "Gap to next", "Seeds", "Across seeds (%)", "Trust",
    "Paper (%)", "Gap to paper", "Protocol", "Training budget", "Profile", "Train time", "ms / episode",
    "Params", "Entry page",
]  # fmt: skip
# The key columns lead, Rank and Entry pinned, at widths (px) that fill a 400 px phone's table (366 px)
# exactly: what a visitor reads first stays in view on a phone as on a laptop.
KEY_WIDTHS = {"Rank": 48, "Entry": 136, "Accuracy (%)": 92, "Verdict": 90}
COLUMNS = {
    "Rank": st.column_config.NumberColumn(width=KEY_WIDTHS["Rank"], pinned=True),
    "Entry": st.column_config.TextColumn(
        help="method and what sets its configuration apart (double-click a cell for the whole name)",
        width=KEY_WIDTHS["Entry"],
        pinned=True,
    ),
    "Accuracy (%)": st.column_config.TextColumn(
        help="mean over seeds ± 95% CI (1.96 std / sqrt N) over the test episodes",
        width=KEY_WIDTHS["Accuracy (%)"],
    ),
    "Verdict": st.column_config.TextColumn(
        help="against the next row: *beats* is a real gap, *ties* is not; the difference in points "
        "(Gap to next holds its interval and test)",
        width=KEY_WIDTHS["Verdict"],
    ),
    "Across seeds (%)": st.column_config.TextColumn(
        help="95% t-interval of the accuracy across training seeds; empty for one seed"
    ),
    "Paper (%)": st.column_config.TextColumn(
        help="the paper's own number, same protocol; blank where the papers report none for it"
    ),
    "Gap to next": st.column_config.TextColumn(
        help="verdict against the next rank: difference in points with the interval the verdict used, from "
        f"a t test counting training seeds and test episodes, Holm-corrected over the table's gaps at {ALPHA}"
    ),
    "ms / episode": st.column_config.NumberColumn(
        format="%.0f", help="meta-training milliseconds per episode"
    ),
    "Params": st.column_config.NumberColumn(format="%d"),
    "Entry page": st.column_config.LinkColumn(display_text="open", help="the method's page"),
}


def pick_table(tables: list[Table]) -> tuple[str, str]:
    """Setting first, then the protocol class among those that setting has (the spec's own first)."""
    settings = list(dict.fromkeys(table.key.setting for table in tables))
    left, right = st.columns([3, 2])
    wanted = st.query_params.get("setting")  # the page's state lives in its URL, so a link shows the same
    setting = left.selectbox(
        "Setting",
        settings,
        index=settings.index(wanted) if wanted in settings else 0,
        help="benchmark, way, shot and frozen test episodes",
    )
    classes = list(dict.fromkeys(table.key.protocol for table in tables if table.key.setting == setting))
    wanted_class = st.query_params.get("class")
    chosen = right.radio(
        "Protocol class",
        classes,
        index=classes.index(wanted_class) if wanted_class in classes else 0,
        format_func=plain,  # radio labels render markdown: a record's text must stay text
        horizontal=True,
        help=f"batch-norm mode and training classes; the specs ask for '{PRIMARY}', and "
        "entries rank only against entries of the same class",
    )
    st.query_params.update({"setting": setting, "class": chosen})
    return setting, chosen


def chosen(tables: list[Table], setting: str, protocol: str) -> Table | None:
    return next((t for t in tables if t.key.setting == setting and t.key.protocol == protocol), None)


def verdict(gap: str) -> str:
    """The head of a Gap to next cell: "beats: +1.29 [+1.03, +1.55] pts (...)" reads "beats +1.29"."""
    return gap.partition(" [")[0].replace(":", "", 1)


def show_table(table: RankedTable, name: str = "") -> Table:
    """Shows a ranked table (a page of it, when it is long); returns the part shown, for the chart.
    `name` tells the URL parameters of this table's search and page from another table's."""
    key = table.key
    st.caption(
        f"{table.size} entries on benchmark {plain(key.benchmark)} ({plain(key.dataset)}, split "
        f"{plain(key.split)}, test part {plain(key.part)}), frozen test episodes {plain(key.short_hash)}: "
        "every row answered exactly these episodes. **Verdict** compares each row with the one below, "
        "counting training seeds and test episodes (Holm-corrected): *beats* is a real gap, *ties* is not; "
        "**Gap to next** gives the interval and test behind it."
    )
    frame = table.frame()
    frame.insert(frame.columns.get_loc("Gap to next"), "Verdict", frame["Gap to next"].map(verdict))
    # Text, so that a method without a published number shows a blank cell rather than "None".
    frame["Paper (%)"] = ["" if pd.isna(value) else f"{value:.1f}" for value in frame["Paper (%)"]]
    shown = page(frame, name, key) if len(frame) > PAGE else frame
    st.dataframe(
        shown[[c for c in SHOWN if c in shown]], hide_index=True, column_config=COLUMNS, width="stretch"
    )
    entries = table.entries
    return Table(key, [entries[position] for position in shown.index])


def page(frame: pd.DataFrame, name: str, key) -> pd.DataFrame:
    """The rows of a long table to show: those whose entry name holds the search text, PAGE at a time.
    The search and the page live in the URL (`q` and `page`, prefixed by `name`), so a link shows the
    same rows."""
    params = st.query_params
    search_param, page_param = f"{name}q", f"{name}page"
    left, right = st.columns([3, 1])
    search = left.text_input(
        "Search entries",
        value=params.get(search_param, ""),
        key=f"{name}search-{hash(key)}",
        placeholder="part of an entry's name, e.g. protonet or loss=contrastive",
        help="shows the entries whose name holds this text (any case); ranks stay the whole table's",
    ).strip()
    rows = frame[frame["Entry"].str.contains(search, case=False, regex=False)] if search else frame
    pages = max(1, math.ceil(len(rows) / PAGE))
    try:
        wanted = min(max(int(params.get(page_param, 1)), 1), pages)
    except ValueError:
        wanted = 1
    number = right.number_input(
        "Page", min_value=1, max_value=pages, value=wanted, key=f"{name}page-{hash(key)}-{search}"
    )
    if search:
        params[search_param] = search
    else:
        params.pop(search_param, None)
    if number > 1:
        params[page_param] = str(number)
    else:
        params.pop(page_param, None)
    first = (number - 1) * PAGE
    shown = rows.iloc[first : first + PAGE]
    matching = f" whose name holds “{plain(search)}”" if search else ""
    st.caption(
        f"Rows {first + 1 if len(shown) else 0} to {first + len(shown)} of the {len(rows)} entries{matching} "
        f"(page {number} of {pages}), ranked within the whole table."
    )
    return shown


def compute_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Accuracy against training compute of `compute_frame`'s rows, the Pareto front joined and labelled."""
    import altair as alt  # here, after the table is on its way: importing Altair slows a cold start

    low, high = frame["cpu_seconds"].min(), frame["cpu_seconds"].max()
    domain = [low / 1.15, high * 1.15]  # fitted to the points, not to the decades around them
    x = alt.X("cpu_seconds:Q", title="training CPU-seconds (log)", scale=alt.Scale(type="log", domain=domain))
    y = alt.Y("accuracy:Q", title="accuracy (%)", scale=alt.Scale(zero=False))
    base = alt.Chart(frame).encode(x=x)
    tooltip = ["entry", alt.Tooltip("accuracy:Q", format=".2f"), alt.Tooltip("cpu_seconds:Q", format=".3s")]
    errors = (
        base.mark_rule(opacity=0.5)
        .encode(y=alt.Y("low:Q", title="accuracy (%)"), y2="high:Q")
        .transform_calculate(low="datum.accuracy - datum.ci95", high="datum.accuracy + datum.ci95")
    )
    points = base.mark_point(filled=True, size=70).encode(
        y=y,
        color=alt.Color(
            "pareto:N",
            title="Pareto front",
            legend=alt.Legend(labelExpr="datum.label == 'true' ? 'on the front' : 'dominated'"),
            scale=alt.Scale(domain=[True, False], range=["#0072B2", "#999999"]),
        ),
        tooltip=tooltip,
    )
    front = (
        alt.Chart(frame[frame["pareto"]].sort_values("cpu_seconds"))
        .mark_line(interpolate="step-after", color="#0072B2")
        .encode(x=x, y=y)
    )
    # Only the front is labelled: the dominated points crowd together, and the table names them all.
    labels = (
        alt.Chart(frame[frame["pareto"]])
        .mark_text(align="left", dx=7, dy=-7, fontSize=11)
        .encode(x=x, y=y, text="entry")
    )
    return (errors + front + points + labels).properties(height=340)


@st.cache_data(show_spinner=False, max_entries=64)
def compute_spec(frame: pd.DataFrame) -> dict:
    """The compute chart's Vega-Lite spec, made once per chart data and shared between visits: building
    and validating it takes longer than the whole table, and on every visit it would slow the table's
    first paint."""
    return compute_chart(frame).to_dict()


def show_overview(tables: list[Table]) -> None:
    """The paper-style grid over the chosen protocol class, then the papers' numbers for context."""
    if not tables:
        return
    key = tables[0].key
    with st.expander(f"All settings of {plain(key.benchmark)} at a glance ({plain(key.protocol)})"):
        st.caption("Accuracy ± 95% CI (%) of each entry per test setting.")
        st.dataframe(overview_frame(tables), hide_index=True, width="stretch")
    published = published_frame(key.dataset, key.split)
    if not published.empty:
        with st.expander(f"Published numbers on {plain(key.dataset)} ({plain(key.split)} split)"):
            st.caption("From the papers, with their own code, budgets and test episodes: never ranked.")
            st.dataframe(published, hide_index=True, width="stretch")


UNVERIFIED_NOTE = (
    "Records that `tfmeta verify` has not re-evaluated from their trained weights: their numbers are the "
    "submitter's word. They rank among themselves only, never beside the verified entries above."
)


def run() -> None:
    st.title("Few-shot track")
    records = board()
    if records.empty:
        no_records_note()
        return
    smoke = st.toggle("Include smoke-profile records", help="smoke-profile numbers mean nothing")
    ranked, apart, only_smoke = records.tables(smoke)
    if only_smoke:
        st.caption("Only smoke-profile records here: showing them.")
    setting, protocol = pick_table(ranked + apart)
    table = chosen(ranked, setting, protocol)
    if table is None:
        st.info("No verified entry in this setting and class yet.", icon=":material/filter_alt_off:")
    else:
        shown = show_table(table)
        # On a visit's first paint the table goes before the chart: where the browser shares the cores with
        # this server (a laptop), drawing both at once delays the table by a fifth (bench_startup.py).
        if not st.session_state.get("painted"):
            time.sleep(TABLE_FIRST)
            st.session_state["painted"] = True
        frame = compute_frame(shown)
        if not frame.empty:
            listed = " (of the entries listed)" if table.size > PAGE else ""
            st.markdown(f"**Accuracy against training compute**{listed} (the line joins the Pareto front):")
            st.vega_lite_chart(compute_spec(frame), width="stretch")
        same_class = [
            t
            for t in ranked
            if (t.key.benchmark, t.key.protocol, t.key.budget)
            == (table.key.benchmark, table.key.protocol, table.key.budget)
        ]
        show_overview(same_class)
    others = chosen(apart, setting, protocol)
    if others is not None:
        st.subheader(f"Unverified: {others.size} entries, ranked apart")
        st.caption(UNVERIFIED_NOTE)
        show_table(others, "unverified_")


if __name__ == "__main__":
    run()

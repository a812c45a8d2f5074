"""Method pages: the paper, the configuration, provenance, and the command reproducing each result."""

import streamlit as st
from loading import load_entries, no_records_note

from tfmeta.bench.leaderboard.methods import entries_of, method_names, provenance_summary, reproduce_command


def show_record(path, record) -> None:
    b, accuracy = record["benchmark"], record["accuracy"]
    title = (
        f"{b['name']} {b['way']}-way {b['shot']}-shot · {record['profile']}: "
        f"{100 * accuracy['mean']:.2f} ± {100 * accuracy['ci95']:.2f}% ({accuracy['n_episodes']} episodes)"
    )
    with st.expander(title):
        st.markdown("Reproduce:")
        st.code(reproduce_command(record), language="bash")
        st.table({key: [value] for key, value in provenance_summary(record).items()})
        st.markdown("Run configuration:")
        st.json(record["config"], expanded=False)
        st.caption(f"Record `{path.name}`, episodes `{record['episodes_hash']}`")


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
    st.header(name)
    st.markdown(f"**Paper:** {latest.get('paper') or 'not given'}")
    st.markdown(f"**Import path:** `{latest['import_path']}`")
    st.markdown("**Method configuration** (latest record):")
    st.json(latest["config"], expanded=True)
    st.subheader(f"Results ({len(mine)})")
    for path, record in sorted(mine, key=lambda entry: entry[1]["provenance"]["created"], reverse=True):
        show_record(path, record)


if __name__ == "__main__":
    run()

"""Submit a record: the checks of `tfmeta submit`, from the browser. Served only when the leaderboard is
started with `tfmeta leaderboard --submissions`; uploads wait in the results folder's `pending/` area,
shown apart and never ranked, until the operator verifies them (`tfmeta verify --mark`)."""

import streamlit as st
from loading import plain, results_dir

from tfmeta.records import few_shot
from tfmeta.records.submission import PENDING, SubmissionError, submit

CHECKS = """
A record is accepted into the pending area only if it
1. is a JSON object under the size limit (it is parsed as data; nothing in it is ever executed),
2. matches the record schema, with plain text only and identifiers for its names,
3. has a summary (mean, CI, episode count) that its per-episode accuracies reproduce,
4. was evaluated on the benchmark's frozen test episodes (its episodes hash is checked against the
   frozen episode file of its benchmark, setting and episode count),
5. trained as the profile it names says (or names the profile `custom`), and
6. is not a copy of a stored result, a second record of a stored entry's seed, or a method whose name
   looks like another entry's.

Accepted uploads wait in the pending area and are never ranked: the operator re-evaluates their trained
weights with `tfmeta verify --mark`, which moves a reproduced record onto the leaderboard.
"""


def handle(name: str, data: bytes) -> None:
    try:
        stored = submit(data, results_dir(), name, pending=True)
    except SubmissionError as err:
        st.error(f"Rejected {plain(name)}: {plain(err)}. Nothing was stored.", icon=":material/block:")
        return
    st.success(
        f"Accepted {plain(name)} into the pending area as {plain(stored.name)}; it is ranked once the "
        "operator verifies it.",
        icon=":material/check_circle:",
    )


def show_pending() -> None:
    loaded = few_shot.load_all(results_dir() / PENDING)
    st.subheader(f"Pending: {len(loaded.records)} records awaiting verification")
    if loaded.records:
        st.dataframe(
            {
                "Record": [path.name for path, _ in loaded.records],
                "Method": [record["method"]["name"] for _, record in loaded.records],
                "Claimed accuracy (%)": [
                    f"{100 * record['accuracy']['mean']:.2f}" for _, record in loaded.records
                ],
            },
            hide_index=True,
            width="stretch",
        )


def run() -> None:
    st.title("Submit a record")
    st.markdown(CHECKS)
    st.caption(
        f"Pending area: {plain(results_dir() / PENDING)}. The same checks run in "
        "`tfmeta submit RECORD.json`; see docs/submitting.md for the record format."
    )
    uploaded = st.file_uploader("Record file", type=["json"])
    if uploaded is not None and st.button("Submit the file", type="primary"):
        handle(uploaded.name, uploaded.getvalue())
    with st.expander("...or paste the record's JSON"):
        pasted = st.text_area("Record JSON", height=200, key="pasted")
        if st.button("Submit the pasted record", key="submit_pasted") and pasted.strip():
            handle("pasted record", pasted.encode("utf-8"))
    show_pending()


if __name__ == "__main__":
    run()

"""Submit a record: the checks of `tfmeta submit`, from the browser."""

import streamlit as st
from loading import plain, results_dir

from tfmeta.records.submission import SubmissionError, submit

CHECKS = """
A record is accepted only if it
1. is a JSON object under the size limit (it is parsed as data; nothing in it is ever executed),
2. matches the record schema,
3. has a summary (mean, CI, episode count) that its per-episode accuracies reproduce, and
4. was evaluated on the benchmark's frozen test episodes (its episodes hash is checked against the
   frozen episode file of its benchmark, setting and episode count).

Accepted records are added to the results folder; no other record is touched.
"""


def handle(name: str, data: bytes) -> None:
    try:
        stored = submit(data, results_dir(), name)
    except SubmissionError as err:
        st.error(f"Rejected {plain(name)}: {plain(err)}. Nothing was stored.", icon=":material/block:")
        return
    st.success(f"Accepted {plain(name)}: stored as {plain(stored.name)}.", icon=":material/check_circle:")


def run() -> None:
    st.title("Submit a record")
    st.markdown(CHECKS)
    st.caption(f"Results folder: `{results_dir()}`. The same checks run in `tfmeta submit RECORD.json`.")
    uploaded = st.file_uploader("Record file", type=["json"])
    if uploaded is not None and st.button("Submit the file", type="primary"):
        handle(uploaded.name, uploaded.getvalue())
    with st.expander("...or paste the record's JSON"):
        text = st.text_area("Record JSON", height=200, key="pasted")
        if st.button("Submit the pasted record", key="submit_pasted") and text.strip():
            handle("pasted record", text.encode("utf-8"))


if __name__ == "__main__":
    run()

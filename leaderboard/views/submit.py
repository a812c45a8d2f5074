"""Submit a record: the checks of `tfmeta submit`, from the browser. Served only when the leaderboard is
started with `tfmeta leaderboard --submissions`; uploads wait in the results folder's `pending/` area,
shown apart and never ranked, until the operator verifies them (`tfmeta verify --mark`)."""

from importlib import resources
from importlib.resources.abc import Traversable

import streamlit as st
from loading import note_records, plain, results_dir

from tfmeta.records import few_shot, locations, store
from tfmeta.records.submission import PENDING, SubmissionError, submit

CAP_MIB = store.MAX_RECORD_BYTES // 2**20  # Streamlit's upload limits count megabytes of 2**20 bytes
# The checks of docs/submitting.md, item for item (tests/test_leaderboard_app.py holds them together).
CHECKS = f"""
A record is accepted into the pending area only if it
1. is a regular JSON file holding an object of at most {CAP_MIB} MiB: it is parsed as data only, never
   executed or unpickled, and `NaN`, `Infinity` and whole numbers beyond 2^53 are refused;
2. matches the record schema, with no fields beyond it: plain text only, ASCII identifiers for the names
   that identify an entry, and a creation time that is not in the future;
3. has a summary (mean, 95% interval, episode count) that its own per-episode accuracies reproduce;
4. was evaluated on the benchmark's frozen test episodes: its episodes hash is checked against the frozen
   episode file of its benchmark, setting and episode count;
5. follows its spec's protocol (dataset, split, test part, queries, batch norm) and trained with the budget
   of the profile it names, or names the profile `custom`;
6. names its training seed consistently and is not a second record of a seed its entry already has on
   these episodes; and
7. has a method name of its own: a name that only looks like another entry's is refused.

Accepted uploads wait in the pending area and are never ranked: the operator re-evaluates their trained
weights with `tfmeta verify --mark`, which moves a reproduced record onto the leaderboard.
"""
GUIDE = "docs/submitting.md"
SCHEMA = "few_shot_record.schema.json"


def handle(name: str, data: bytes) -> None:
    try:
        stored = submit(data, results_dir(), name, pending=True)
        note_records()  # this page's own write: no reason to draw the page again (and lose the message)
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


def format_files() -> list[tuple[str, Traversable]]:
    """The submitting guide (in a source checkout), the record schema and a shipped, verified record, as
    (label, file) pairs."""
    files = []
    root = locations.checkout()
    if root and (root / GUIDE).is_file():
        files.append(("Submitting guide", root / GUIDE))
    files.append(("Record schema", resources.files("tfmeta.records").joinpath("schemas", SCHEMA)))
    example = sorted(locations.shipped_results_dir().glob("omniglot-protonet-5w1s-standard-seed0-*.json"))
    files += [("Example record", path) for path in example[:1]]
    return files


def show_format() -> None:
    st.markdown(
        f"**The record format**: the submitting guide (`{GUIDE}` in the tfmeta repository) describes every "
        "field and check; the schema and a shipped, verified record show what a record holds."
    )
    files = format_files()
    for column, (label, path) in zip(st.columns(len(files)), files, strict=True):
        mime = "text/markdown" if path.name.endswith(".md") else "application/json"
        column.download_button(
            label, path.read_bytes(), file_name=path.name, mime=mime, icon=":material/download:",
            on_click="ignore",
        )  # fmt: skip


def run() -> None:
    st.title("Submit a record")
    st.markdown(CHECKS)
    show_format()
    st.caption(
        f"Pending area: {plain(results_dir() / PENDING)}. The same checks run in `tfmeta submit RECORD.json`."
    )
    uploaded = st.file_uploader("Record file", type=["json"], max_upload_size=CAP_MIB)
    if uploaded is not None and st.button("Submit the file", type="primary"):
        handle(uploaded.name, uploaded.getvalue())
    with st.expander("...or paste the record's JSON"):
        pasted = st.text_area("Record JSON", height=200, key="pasted")
        if st.button("Submit the pasted record", key="submit_pasted") and pasted.strip():
            handle("pasted record", pasted.encode("utf-8"))
    show_pending()


if __name__ == "__main__":
    run()

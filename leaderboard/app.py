"""The tfmeta leaderboard: `tfmeta leaderboard`, or `streamlit run leaderboard/app.py`.

Reads result records (yours and the shipped ones, see `loading.py`) through
`tfmeta.records`; never imports TensorFlow.
"""

import streamlit as st
from loading import follow_records, note_records, submissions_on

st.set_page_config(page_title="tfmeta leaderboard", page_icon=":trophy:", layout="wide")

PAGES = [
    st.Page("views/few_shot.py", title="Few-shot track", icon=":material/leaderboard:", default=True),
    st.Page("views/significance.py", title="Significance", icon=":material/compare_arrows:"),
    st.Page("views/curves.py", title="Learning curves", icon=":material/show_chart:"),
    st.Page("views/optimizers.py", title="Optimizer track", icon=":material/trending_down:"),
    st.Page("views/inner_loop.py", title="Inner-loop curves", icon=":material/stairs:"),
    st.Page("views/methods.py", title="Methods", icon=":material/science:"),
]
if submissions_on():  # off unless the operator asks: `tfmeta leaderboard --submissions`
    PAGES.append(st.Page("views/submit.py", title="Submit a record", icon=":material/upload_file:"))

page = st.navigation(PAGES)
note_records()  # before the page reads them: a record landing meanwhile draws the page again
page.run()
follow_records()

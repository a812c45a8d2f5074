"""Data shaping for the Streamlit leaderboard: records in, pandas frames out.

Nothing here imports TensorFlow or Streamlit, so it is cheap to import and tested on its own; the app in
`leaderboard/` only lays the frames out.
"""

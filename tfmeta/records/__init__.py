"""The TensorFlow-free half of tfmeta: what a result is, and what the leaderboard reads.

Schemas, few-shot and optimizer records, submission checks, verdicts, and the pandas frames the Streamlit
app draws (`frames/`); the benchmark and optimizer-track specs they check against are read in
`tfmeta.config`. It imports nothing of ours but `tfmeta.core` and `tfmeta.config`, and nothing in it
imports tensorflow, keras or tensorflow_datasets, directly or through another module (a test imports every
module here in a fresh interpreter and checks), so the leaderboard starts fast and runs where TensorFlow
is absent.
"""

"""The TensorFlow-free half of tfmeta: what a result is, and what the leaderboard reads.

Schemas, statistics, benchmark and optimizer-track specs, few-shot and optimizer records, submission
checks, and the pandas frames the Streamlit app draws (`frames/`). Nothing in this package imports
tensorflow, keras or tensorflow_datasets, directly or through another module (a test imports every module
here in a fresh interpreter and checks), so the leaderboard starts fast and runs where TensorFlow is absent.
"""

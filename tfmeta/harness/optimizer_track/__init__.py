"""The learned-optimizer track: meta-training LSTM optimizers (`meta_train`) and evaluating them against
tuned baselines on held-out problems (`run`)."""

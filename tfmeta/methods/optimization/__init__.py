"""Optimization-based meta-learners: the functional learner (`learner`), its per-step query accuracy and
loss (`step_curves`), MAML and first-order MAML, Reptile, the meta-learner LSTM, and fine-tuning."""

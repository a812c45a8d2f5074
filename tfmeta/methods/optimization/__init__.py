"""Optimization-based meta-learners: the functional learner (`learner`), its inner-loop curves and tuning
(`inner_curves`), MAML and first-order MAML, Reptile, the meta-learner LSTM, and fine-tuning."""

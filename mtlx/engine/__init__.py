"""Training: one step under any method, the epoch loop, evaluation and model selection."""

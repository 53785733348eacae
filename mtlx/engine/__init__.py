"""Training: one step under any method, the epoch loop, evaluation and model selection."""

JACOBIAN_MODES = ("auto", "loop", "batched")
"""Per-task gradient engines (``--jacobian``): see :mod:`mtlx.engine.jacobian`."""

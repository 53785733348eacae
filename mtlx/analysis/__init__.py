"""Analysis of finished runs: ΔM, Pareto fronts and PO counts, learning-rate selection, seed
summaries. Pure pandas/numpy; nothing here imports torch."""

from mtlx.analysis.delta_m import MissingBaselineError, delta_m, delta_m_column
from mtlx.analysis.pareto import dominated_by, pareto_mask, pareto_optimal_counts
from mtlx.analysis.selection import learning_rates_on_the_edge, select_best_lr
from mtlx.analysis.summary import seed_summary

__all__ = [
    "MissingBaselineError",
    "delta_m",
    "delta_m_column",
    "dominated_by",
    "learning_rates_on_the_edge",
    "pareto_mask",
    "pareto_optimal_counts",
    "seed_summary",
    "select_best_lr",
]

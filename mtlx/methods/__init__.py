"""Multi-task optimization methods, one module each, registered by canonical name."""

from mtlx.methods import equal_weighting, uncertainty_weighting  # noqa: F401  (registration)
from mtlx.methods.base import (
    GradientAggregator,
    GradientSource,
    GramianWeighting,
    LossWeighting,
    Method,
)
from mtlx.methods.registry import METHODS, aggregate, build_method, method_hyperparameters

__all__ = [
    "METHODS",
    "GradientAggregator",
    "GradientSource",
    "GramianWeighting",
    "LossWeighting",
    "Method",
    "aggregate",
    "build_method",
    "method_hyperparameters",
]

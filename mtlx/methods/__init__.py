"""Multi-task optimization methods, one module each, registered by canonical name."""

from mtlx.methods import (  # noqa: F401  (registration)
    adatask,
    aligned_mtl,
    cagrad,
    db_mtl,
    dynamic_weight_average,
    equal_weighting,
    famo,
    graddrop,
    gradnorm,
    imtl,
    imtl_g,
    imtl_l,
    mgda,
    mgda_ub,
    mtl_io,
    nash_mtl,
    optimal_uncertainty_weighting,
    pcgrad,
    random_loss_weighting,
    uncertainty_weighting,
)
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

"""Multi-task optimization methods, one module each, registered by canonical name.

The registry and the builders import no torch; the method contract's classes (``Method``,
``LossWeighting``, ``GradientAggregator``…) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from mtlx.methods.registry import METHODS, aggregate, build_method, method_hyperparameters

_CONTRACT = ("GradientAggregator", "GradientSource", "GramianWeighting", "LossWeighting", "Method")


def __getattr__(name: str) -> Any:
    if name in _CONTRACT:
        return getattr(importlib.import_module("mtlx.methods.base"), name)
    raise AttributeError(f"module 'mtlx.methods' has no attribute {name!r}")


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

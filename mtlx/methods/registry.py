"""The method registry and the ways to build a method from its name."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from mtlx.hyperparameters import resolve_hyperparameters
from mtlx.methods.base import GradientAggregator, Method
from mtlx.registry import Registry

METHODS: Registry[type[Method]] = Registry("method")


def method_hyperparameters(name: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The resolved hyper-parameters of method ``name``: the papers' defaults, then ``given``."""
    return resolve_hyperparameters(METHODS.get(name), given or {}, f"method {name!r}", skip=1)


def build_method(name: str, num_tasks: int, **hyperparameters: Any) -> Method:
    cls = METHODS.get(name)
    return cls(num_tasks, **method_hyperparameters(name, hyperparameters))


def aggregate(name: str, jacobian: Tensor, **hyperparameters: Any) -> Tensor:
    """The update direction of gradient-level method ``name`` for a T × d Jacobian.

    A pure entry point for comparing with other libraries: builds a fresh method (no state carried
    between calls) and returns its aggregated gradient; ``losses`` default to ones.
    """
    method = build_method(name, jacobian.shape[0], **hyperparameters)
    if not isinstance(method, GradientAggregator):
        raise ValueError(f"method {name!r} weights losses; it does not aggregate gradients")
    return method.aggregate(jacobian, jacobian.new_ones(jacobian.shape[0]))

"""The method registry and the ways to build a method from its name.

Importing this module imports no torch: the registry reads the method modules' source for their
names and hyper-parameters (see :mod:`mtlx.registry`) and imports a method when it is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mtlx.hyperparameters import resolve_hyperparameters
from mtlx.registry import Registry

if TYPE_CHECKING:
    from torch import Tensor

    from mtlx.methods.base import Method

METHODS: Registry[type[Method]] = Registry(
    "method", package="mtlx.methods", symbol="METHODS", skip=1
)


def method_hyperparameters(name: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The resolved hyper-parameters of method ``name``: the papers' defaults, then ``given``."""
    return resolve_hyperparameters(METHODS.parameters(name), given or {}, f"method {name!r}")


def build_method(name: str, num_tasks: int, **hyperparameters: Any) -> Method:
    cls = METHODS.get(name)
    return cls(num_tasks, **method_hyperparameters(name, hyperparameters))


def aggregate(name: str, jacobian: Tensor, **hyperparameters: Any) -> Tensor:
    """The update direction of gradient-level method ``name`` for a T × d Jacobian.

    A pure entry point for comparing with other libraries: builds a fresh method (no state carried
    between calls) and returns its aggregated gradient; ``losses`` default to ones.
    """
    from mtlx.methods.base import GradientAggregator

    method = build_method(name, jacobian.shape[0], **hyperparameters)
    if not isinstance(method, GradientAggregator):
        raise ValueError(f"method {name!r} weights losses; it does not aggregate gradients")
    return method.aggregate(jacobian, jacobian.new_ones(jacobian.shape[0]))

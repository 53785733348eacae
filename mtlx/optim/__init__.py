"""Optimizers, registered by name: ``build(param_groups, lr, weight_decay, **hyperparameters)``.

This module imports no torch: the registry reads :mod:`mtlx.optim.builders` for the names and
hyper-parameters and imports it when an optimizer is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mtlx.hyperparameters import resolve_hyperparameters
from mtlx.registry import Registry

if TYPE_CHECKING:
    import torch

OptimizerBuilder = Callable[..., "torch.optim.Optimizer"]
OPTIMIZERS: Registry[OptimizerBuilder] = Registry(
    "optimizer", package="mtlx.optim", symbol="OPTIMIZERS", skip=3
)


def optimizer_hyperparameters(name: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The resolved hyper-parameters of optimizer ``name`` (lr and weight decay excluded)."""
    return resolve_hyperparameters(OPTIMIZERS.parameters(name), given or {}, f"optimizer {name!r}")


def build_optimizer(
    name: str,
    param_groups: Iterable[dict[str, Any]],
    lr: float,
    weight_decay: float,
    **hyperparameters: Any,
) -> torch.optim.Optimizer:
    if lr <= 0:
        raise ValueError(f"lr must be positive, but got {lr}.")
    resolved = optimizer_hyperparameters(name, hyperparameters)
    return OPTIMIZERS.get(name)(param_groups, lr, weight_decay, **resolved)

"""The optimizers: ``build(param_groups, lr, weight_decay, **hyperparameters)``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from mtlx.optim import OPTIMIZERS
from mtlx.optim.signsgd import SignSGD


@OPTIMIZERS.register("adam")
def adam(
    param_groups: Iterable[dict[str, Any]],
    lr: float,
    weight_decay: float,
    betas: tuple[float, float] | list[float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> torch.optim.Optimizer:
    """Adam (Kingma & Ba, 2015) with L2 weight decay added to the gradient, as PyTorch's Adam."""
    return torch.optim.Adam(
        param_groups, lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps
    )


@OPTIMIZERS.register("sgd")
def sgd(
    param_groups: Iterable[dict[str, Any]],
    lr: float,
    weight_decay: float,
    momentum: float = 0.9,
    nesterov: bool = False,
) -> torch.optim.Optimizer:
    """SGD with heavy-ball momentum (PyTorch's convention: v ← μv + g, θ ← θ − lr·v)."""
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), but got {momentum}.")
    return torch.optim.SGD(
        param_groups, lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov
    )


@OPTIMIZERS.register("signsgd")
def signsgd(
    param_groups: Iterable[dict[str, Any]],
    lr: float,
    weight_decay: float,
    momentum: float = 0.9,
) -> torch.optim.Optimizer:
    """signSGD with momentum (Bernstein et al., 2018): m ← βm + (1 − β)g, θ ← θ − lr·sign(m)."""
    return SignSGD(param_groups, lr=lr, momentum=momentum, weight_decay=weight_decay)

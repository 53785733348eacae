"""signSGD with momentum ("Signum"; Bernstein, Wang, Azizzadenesheli & Anandkumar, ICML 2018).

    g ← ∇θ + λ·θ          (L2 weight decay added to the gradient, as in the authors' Signum code
                            and as mtlx's adam and sgd do)
    m ← β·m + (1 − β)·g   (β = 0.9; β = 0 is plain signSGD)
    θ ← θ − lr·sign(m)

Every coordinate moves by exactly ±lr (0 where m = 0), so the update of a head is invariant to any
positive scale of its loss (the seed paper's motivation for comparing it). The buffer starts at 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor


class SignSGD(torch.optim.Optimizer):
    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
    ) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be positive, but got {lr}.")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), but got {momentum}.")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative, but got {weight_decay}.")
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta, decay, lr = group["momentum"], group["weight_decay"], group["lr"]
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                gradient = parameter.grad
                if decay != 0:
                    gradient = gradient.add(parameter, alpha=decay)
                state = self.state[parameter]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(parameter)
                buffer = state["momentum_buffer"]
                buffer.mul_(beta).add_(gradient, alpha=1 - beta)
                parameter.add_(torch.sign(buffer), alpha=-lr)
        return loss

"""AdaTask — task-aware adaptive learning rates (Yang et al., AAAI 2023), Adam form.

One Adam state per task for the shared parameters:

    mₜ ← β₁mₜ + (1 − β₁)gₜ,   vₜ ← β₂vₜ + (1 − β₂)gₜ²,
    θ ← θ − lr·Σₜ m̂ₜ / (√v̂ₜ + ε),   m̂ₜ = mₜ/(1 − β₁ᵏ), v̂ₜ = vₜ/(1 − β₂ᵏ),

β = (0.9, 0.999), ε = 1e-8 (Adam's defaults, as the paper and the seed paper use). The direction is
the final update (``owns_shared_update``): the trainer applies θ ← θ − lr·d to the shared
parameters with the run's learning rate; the heads, which each see one task only, keep the run's
optimizer (with Adam that is exactly a per-task Adam for them too). Each task's update is invariant
to a constant scale of its loss (seed paper, A1.3).

Scale: a sum over tasks of Adam steps, each of magnitude ≈ 1 per coordinate. No task weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mtlx.methods.base import GradientAggregator
from mtlx.methods.registry import METHODS


@METHODS.register("adatask")
class AdaTask(GradientAggregator):
    name = "adatask"
    owns_shared_update = True

    def __init__(
        self,
        num_tasks: int,
        betas: tuple[float, float] | Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(num_tasks)
        betas = tuple(float(b) for b in betas)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be two values in [0, 1), but got {betas}.")
        if eps <= 0:
            raise ValueError(f"eps must be positive, but got {eps}.")
        self.betas = betas
        self.eps = float(eps)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.steps = 0
        self.first_moments: Tensor | None = None  # mₜ, T × d
        self.second_moments: Tensor | None = None  # vₜ, T × d

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        gradients = jacobian.detach()
        if self.first_moments is None or self.second_moments is None:
            self.first_moments = torch.zeros_like(gradients)
            self.second_moments = torch.zeros_like(gradients)
        beta1, beta2 = self.betas
        self.steps += 1
        self.first_moments.mul_(beta1).add_(gradients, alpha=1 - beta1)
        self.second_moments.mul_(beta2).addcmul_(gradients, gradients, value=1 - beta2)
        first = self.first_moments / (1 - beta1**self.steps)
        second = self.second_moments / (1 - beta2**self.steps)
        return (first / (second.sqrt() + self.eps)).sum(dim=0)

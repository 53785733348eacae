"""UW-O — analytically optimal uncertainty weighting (Kirchdorfer et al., GCPR 2024; the seed
paper's appendix A1, Elich et al.).

UW (Kendall et al., 2018) learns σₜ in Σₜ Lₜ/σₜ + log σₜ (Laplace likelihood, the L1 form the
seed paper derives). That objective is convex in each σₜ with the closed-form optimum σₜ* = Lₜ, so
instead of learning σₜ every step plugs it in, detached:

    Σₜ Lₜ / sg(Lₜ)        (sg = stop-gradient; the log σₜ* terms carry no gradient)

i.e. task weight wₜ = 1/sg(Lₜ) and total gradient Σₜ ∇Lₜ/Lₜ = Σₜ ∇log Lₜ, invariant to multiplying
any task loss by a constant (the seed paper's eq. (11)). Choice documented: the Laplace/L1 form; the
Gaussian form (½σ⁻²L + log σ, optimum σ² = L) gives weights 1/(2Lₜ), the same up to a factor ½
that a tuned learning rate absorbs.

Scale: a sum over tasks of ∇Lₜ/Lₜ (each task contributes its relative loss change). A loss that is
exactly zero has no finite optimum; its weight is capped at 1/tiny instead of dividing by zero.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.base import LossWeighting
from mtlx.methods.registry import METHODS


@METHODS.register("uw-o")
class OptimalUncertaintyWeighting(LossWeighting):
    def combine(self, losses: Tensor) -> Tensor:
        weights = 1.0 / losses.detach().clamp_min(torch.finfo(losses.dtype).tiny)
        self.task_weights = weights
        return (weights * losses).sum()

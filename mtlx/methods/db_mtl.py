"""DB-MTL — dual-balancing multi-task learning (Lin et al., 2023).

Loss-scale balancing: the gradients are taken of log Lₜ (``transform_loss``, with the authors'
ε = 1e-8 inside the log), so the heads and the Jacobian see ∇Lₜ/Lₜ. Gradient-magnitude balancing
on the shared parameters: an EMA of each task's log-loss gradient,

    ĝₜ ← βₖ·ĝₜ + (1 − βₖ)·gₜ,   βₖ = β / k^{β_σ}   (k the step, ĝ starting at 0),

with β = 0.9 and β_σ = 0 (a constant βₖ = β), the defaults of the authors' LibMTL implementation
(the paper leaves β_σ open), then every ĝₜ rescaled to the largest EMA norm and summed:

    d = Σₜ αₜ·ĝₜ,   αₜ = maxₖ ‖ĝₖ‖ / (‖ĝₜ‖ + 1e-8).

Scale: a sum of T gradients of the largest task's EMA norm. Task weights reported: α.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from mtlx.methods.base import GradientAggregator, state_copy
from mtlx.methods.registry import METHODS

LOG_EPSILON = 1e-8
NORM_EPSILON = 1e-8


@METHODS.register("db-mtl")
class DBMTL(GradientAggregator):
    def __init__(self, num_tasks: int, beta: float = 0.9, beta_sigma: float = 0.0) -> None:
        super().__init__(num_tasks)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), but got {beta}.")
        if beta_sigma < 0:
            raise ValueError(f"beta_sigma must be non-negative, but got {beta_sigma}.")
        self.beta = float(beta)
        self.beta_sigma = float(beta_sigma)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.steps = 0
        self.gradient_average: Tensor | None = None  # ĝ, T × d

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "steps": self.steps,
            "gradient_average": state_copy(self.gradient_average),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.steps = int(state["steps"])
        self.gradient_average = state_copy(state["gradient_average"])

    def transform_loss(self, task: int, loss: Tensor) -> Tensor:
        return torch.log(loss + LOG_EPSILON)

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        self.steps += 1
        decay = self.beta / self.steps**self.beta_sigma
        if self.gradient_average is None:  # ĝ starts at 0: the first average is (1 − β₁)·g
            self.gradient_average = (1 - decay) * jacobian.detach()
        else:  # ĝ ← ĝ + (1 − βₖ)(g − ĝ), one pass over the T × d state
            self.gradient_average.lerp_(jacobian.detach(), 1 - decay)
        average = self.gradient_average
        norms = torch.linalg.vector_norm(average, dim=1)
        weights = norms.max() / (norms + NORM_EPSILON)
        self.task_weights = weights.detach()
        return weights @ average

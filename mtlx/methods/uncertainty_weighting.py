"""UW — homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

Objective Σₜ ½·exp(−sₜ)·Lₜ + ½·sₜ with sₜ = log σₜ² learned jointly with the network by the run's
optimizer (no weight decay on sₜ). The paper gives no initial value; sₜ = −0.5 is LibMTL's (on
which the seed paper ran), so that the initial weights are ½e^{0.5} ≈ 0.82. Task weights reported:
½·exp(−sₜ).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mtlx.methods.base import LossWeighting, state_copy
from mtlx.methods.registry import METHODS


@METHODS.register("uw")
class UncertaintyWeighting(LossWeighting):
    def __init__(self, num_tasks: int, init_log_variance: float = -0.5) -> None:
        super().__init__(num_tasks)
        self.init_log_variance = float(init_log_variance)
        self.log_variances = nn.Parameter(torch.full((num_tasks,), self.init_log_variance))

    def parameters(self) -> list[nn.Parameter]:
        return [self.log_variances]

    def reset(self) -> None:
        super().reset()
        with torch.no_grad():
            self.log_variances.fill_(self.init_log_variance)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "log_variances": state_copy(self.log_variances)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            self.log_variances.copy_(state["log_variances"])

    def combine(self, losses: Tensor) -> Tensor:
        precisions = 0.5 * torch.exp(-self.log_variances)
        self.task_weights = precisions.detach()
        return (precisions * losses + 0.5 * self.log_variances).sum()

"""IMTL-L — learned loss scales of impartial multi-task learning (Liu et al., ICLR 2021, §3.2).

    Σₜ e^{sₜ}·Lₜ − sₜ

with sₜ learned jointly with the network by the run's optimizer, from sₜ = 0 (LibMTL's start; the
paper gives none). At the optimum of sₜ,
e^{sₜ}·Lₜ = 1: every scaled loss is kept at 1, whatever the loss's own scale (no distribution
assumption, unlike UW). Task weights reported: e^{sₜ}.

Scale: Σₜ e^{sₜ}·∇Lₜ — EW's sum at initialisation (s = 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mtlx.methods.base import LossWeighting, state_copy
from mtlx.methods.registry import METHODS


def scaled_losses(log_scales: Tensor, losses: Tensor) -> Tensor:
    """IMTL-L's per-task objective e^{sₜ}·Lₜ − sₜ."""
    return torch.exp(log_scales) * losses - log_scales


@METHODS.register("imtl-l")
class IMTLL(LossWeighting):
    def __init__(self, num_tasks: int, init_log_scale: float = 0.0) -> None:
        super().__init__(num_tasks)
        self.init_log_scale = float(init_log_scale)
        self.log_scales = nn.Parameter(torch.full((num_tasks,), self.init_log_scale))

    def parameters(self) -> list[nn.Parameter]:
        return [self.log_scales]

    def reset(self) -> None:
        super().reset()
        with torch.no_grad():
            self.log_scales.fill_(self.init_log_scale)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "log_scales": state_copy(self.log_scales)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            self.log_scales.copy_(state["log_scales"])

    def combine(self, losses: Tensor) -> Tensor:
        self.task_weights = torch.exp(self.log_scales).detach()
        return scaled_losses(self.log_scales, losses).sum()

"""EW — equal weighting: the objective is the plain sum of the task losses, Σₜ Lₜ."""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.base import LossWeighting
from mtlx.methods.registry import METHODS


@METHODS.register("ew")
class EqualWeighting(LossWeighting):
    def combine(self, losses: Tensor) -> Tensor:
        self.task_weights = torch.ones_like(losses).detach()
        return losses.sum()

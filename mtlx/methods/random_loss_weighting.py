"""RLW — random loss weighting (Lin, Ye, Zhang & Tsang, TMLR 2022).

Every step fresh weights w = softmax(ε), ε ~ N(0, I_T) (the paper's normal-distribution variant,
as in LibMTL), and the objective Σₜ wₜ·Lₜ. Randomness comes from torch's global generator on the
losses' device, so a seeded run is reproducible.

Scale: Σw = 1 — a random convex combination, 1/T of EW's sum on average.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.base import LossWeighting
from mtlx.methods.registry import METHODS


@METHODS.register("rlw")
class RandomLossWeighting(LossWeighting):
    def combine(self, losses: Tensor) -> Tensor:
        noise = torch.randn(losses.shape, dtype=losses.dtype, device=losses.device)
        weights = torch.softmax(noise, dim=0)
        self.task_weights = weights
        return (weights * losses).sum()

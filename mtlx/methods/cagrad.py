"""CAGrad — conflict-averse gradient descent (Liu, Liu, Jin, Stone & Liu, NeurIPS 2021).

With g₀ = (1/T)Σₜ gₜ, the update maximises the worst task's improvement within a ball around g₀:
max_d minₜ gₜᵀd s.t. ‖d − g₀‖ ≤ c‖g₀‖. Its dual over the simplex,

    w* = argmin_{w ∈ Δ} g_wᵀg₀ + √φ·‖g_w‖,   g_w = Σₜ wₜ gₜ,  φ = c²‖g₀‖²,

gives d = g₀ + (√φ/‖g_w*‖)·g_w* (d = g₀ when g_w* = 0). The dual is solved exactly on the
Gramian (:func:`mtlx.methods.solvers.cagrad_weights`: closed form for T = 2, a checked barrier
method for T ≥ 3 that raises ``SolverError`` if it does not converge) rather than by the official
code's SLSQP, whose tolerance-limited answer goes unchecked.

Scale (``rescale``, the official code's option): the official NYUv2/Cityscapes code returns
d/(1 + c²) (``"1+c^2"``, default) and multiplies by T "to match the sum loss"; ``"1+c"`` divides by
1 + c and ``"none"`` keeps d. So the update is T·d/(1 + c²): EW's sum Σₜ gₜ at c = 0 (LibMTL omits
the factor T, i.e. uses the mean). c = 0.4, the paper's value for NYUv2 and Cityscapes.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.base import GramianWeighting
from mtlx.methods.registry import METHODS
from mtlx.methods.solvers import cagrad_weights

RESCALES = ("1+c^2", "1+c", "none")


@METHODS.register("cagrad")
class CAGrad(GramianWeighting):
    def __init__(self, num_tasks: int, c: float = 0.4, rescale: str = "1+c^2") -> None:
        super().__init__(num_tasks)
        if c < 0:
            raise ValueError(f"c must be non-negative, but got {c}.")
        if rescale not in RESCALES:
            raise ValueError(f"rescale must be one of {', '.join(RESCALES)}, but got {rescale!r}.")
        self.c = float(c)
        self.rescale = rescale

    def weights(self, gramian: Tensor) -> Tensor:
        # all on the host, as the solver: one copy of the T × T Gramian off the device; written
        # for a stack (…, T, T) too, which the solver's closed form takes at T = 2
        t = gramian.shape[-1]
        g = gramian.detach().to(device="cpu", dtype=torch.float64)
        ones = torch.ones(t, dtype=g.dtype)
        if self.c == 0:
            combination = ones.expand(g.shape[:-1])
        else:
            w = cagrad_weights(g, self.c)
            mean_norm = torch.sqrt((g @ ones @ ones).clamp_min(0.0)) / t
            w_norm = torch.sqrt(((w[..., None, :] @ g @ w[..., :, None])[..., 0, 0]).clamp_min(0.0))
            # g_w = 0 (only where the origin is in the hull): d = g₀, as the primal allows
            largest = g.diagonal(dim1=-2, dim2=-1).amax(dim=-1).clamp_min(0.0).sqrt()
            vanishing = w_norm <= 1e-12 * largest
            step = torch.where(vanishing, 0.0, self.c * mean_norm / w_norm)
            combination = ones + t * step[..., None] * w  # T·(1/T + step·w): T·d in weights
        divisor = {"1+c^2": 1 + self.c**2, "1+c": 1 + self.c, "none": 1.0}[self.rescale]
        return (combination / divisor).to(device=gramian.device, dtype=gramian.dtype)

    def batch_weights(self, gramians: Tensor) -> Tensor:
        if gramians.shape[-1] > 2:
            return super().batch_weights(gramians)
        return self.weights(gramians)

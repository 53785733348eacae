"""IMTL-G — closed-form gradient balance of impartial multi-task learning (Liu et al., ICLR 2021).

The shared update d = Σₜ αₜ gₜ with Σα = 1 whose projections on every unit task gradient are
equal, dᵀgₜ/‖gₜ‖ = dᵀg₁/‖g₁‖ for all t. The paper's closed form, α₂..T = g₁Uᵀ(DUᵀ)⁻¹ with rows
Dₜ = g₁ − gₜ, Uₜ = g₁/‖g₁‖ − gₜ/‖gₜ‖ and α₁ = 1 − Σ α₂..T, is on the Gramian G = JJᵀ:

    J d ∝ n (nₜ = ‖gₜ‖ = √Gₜₜ)  ⇔  α ∝ G⁻¹ n,   α = G⁺n / 1ᵀG⁺n

(torchjd's form; the pseudo-inverse, with the rank tolerance T·ε of the input's dtype, also covers
linearly dependent gradients). Gradients that cancel (1ᵀG⁺n = 0) give α = 0.

Scale: Σα = 1, as in the paper — the shared gradient is a weighted mean, 1/T of EW's sum when all
task gradients are equal; the heads keep their raw gradients.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.base import GramianWeighting
from mtlx.methods.registry import METHODS


def imtl_g_weights(gramian: Tensor) -> Tensor:
    """α = G⁺n / 1ᵀG⁺n with nₜ = √Gₜₜ, computed in float64."""
    g = gramian.detach().to(torch.float64)
    g = 0.5 * (g + g.T)
    norms = g.diagonal().clamp_min(0.0).sqrt()
    tolerance = g.shape[0] * torch.finfo(gramian.dtype).eps
    direction = torch.linalg.pinv(g, rtol=tolerance, hermitian=True) @ norms
    total = direction.sum()
    usable = total.abs() > 1e-12 * direction.abs().sum().clamp_min(torch.finfo(g.dtype).tiny)
    safe_total = torch.where(usable, total, torch.ones_like(total))
    weights = torch.where(usable, direction / safe_total, torch.zeros_like(direction))
    return weights.to(gramian.dtype)


@METHODS.register("imtl-g")
class IMTLG(GramianWeighting):
    def weights(self, gramian: Tensor) -> Tensor:
        return imtl_g_weights(gramian)

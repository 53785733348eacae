"""IMTL-G — closed-form gradient balance of impartial multi-task learning (Liu et al., ICLR 2021).

The shared update d = Σₜ αₜ gₜ with Σα = 1 whose projections on every unit task gradient
uₜ = gₜ/‖gₜ‖ are equal: uₜᵀd = c for all t. The paper solves these conditions in closed form,
α₂..T = g₁Uᵀ(DUᵀ)⁻¹ with rows Dₜ = g₁ − gₜ, Uₜ = u₁ − uₜ and α₁ = 1 − Σ α₂..T. On the Gramian
G = JJᵀ they read Gα = c·n (nₜ = ‖gₜ‖ = √Gₜₜ), and with βₜ = nₜαₜ and the cosine matrix
C = D⁻¹GD⁻¹ (D = diag(n)) they become the (T + 1) × (T + 1) linear system

    C β = c·1,   Σₜ βₜ/nₜ = 1,   αₜ = βₜ/nₜ,

solved here in float64 on the host. Where G is invertible this is torchjd's α = G⁻¹n / 1ᵀG⁻¹n.
The system stays regular where G is not: exactly opposite gradients (no d ≠ 0 projects equally on
u and −u) give the paper's answer d = 0, with α ∝ 1/n. C depends only on the angles between the
gradients, so norms orders of magnitude apart cost no precision; the rank tolerance, (T + 1)·ε of
float64 relative to the largest singular value of the system, belongs to that float64 computation.
A task whose gradient is zero has no unit gradient: it gets αₜ = 0. Gradients for which no α with
Σα = 1 has equal projections (1ᵀC⁺1-type cancellation, a set of measure zero) give α = 0.

Scale: Σα = 1, as in the paper — the shared gradient is a weighted mean, 1/T of EW's sum when all
task gradients are equal; the heads keep their raw gradients.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from mtlx.methods.base import GramianWeighting
from mtlx.methods.registry import METHODS
from mtlx.methods.solvers import host_gramian

EPSILON = float(np.finfo(np.float64).eps)


def imtl_g_weights(gramian: Tensor) -> Tensor:
    """α with Σα = 1 and Gα ∝ n (nₜ = √Gₜₜ): equal projections on every unit gradient (float64)."""
    g = host_gramian(gramian)
    norms = np.sqrt(np.clip(g.diagonal(), 0.0, None))
    present = np.flatnonzero(norms > 0)
    alpha = np.zeros(g.shape[0])
    if present.size:
        n = norms[present]
        k = present.size
        system = np.zeros((k + 1, k + 1))
        system[:k, :k] = g[np.ix_(present, present)] / np.outer(n, n)  # C
        system[:k, k] = -1.0  # −c
        system[k, :k] = n.min() / n  # Σ βₜ/nₜ, scaled to entries of at most 1
        rhs = np.zeros(k + 1)
        rhs[k] = 1.0
        solution = np.linalg.lstsq(system, rhs, rcond=(k + 1) * EPSILON)[0]
        residual = np.abs(system @ solution - rhs).max()
        consistent = residual <= np.sqrt(EPSILON) * (1.0 + np.abs(solution).max())
        weights = solution[:k] / n
        total = weights.sum()
        if consistent and total != 0:
            alpha[present] = weights / total
    return torch.from_numpy(alpha).to(device=gramian.device)


@METHODS.register("imtl-g")
class IMTLG(GramianWeighting):
    def weights(self, gramian: Tensor) -> Tensor:
        return imtl_g_weights(gramian)

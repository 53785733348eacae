"""Aligned-MTL — independent component alignment (Senushkin et al., CVPR 2023, Algorithm 1).

With the Gramian's eigendecomposition G = JJᵀ = V Λ Vᵀ (λ = σ², σ the singular values of J) the
aligned Jacobian is Ĵ = B J with

    B = σ_min · V Λ^{-1/2} Vᵀ,

so ĴĴᵀ = σ_min²·VVᵀ: orthogonal task gradients of equal norm σ_min — condition number 1, the
paper's stability criterion. The eigendecomposition is in float64 (the Gramian of a float32
Jacobian too); only eigenvalues above λ_max·T·ε with ε of float64 count (σ_min is the smallest of
those; linearly dependent gradients are aligned in their span). The
update is Σₜ ĝₜ = (B·1)ᵀ J — the sum of the aligned gradients, as LibMTL's ``B.sum(0)`` (torchjd
uses the mean).

Scale: a sum of T aligned gradients of norm σ_min each (σ_min: smallest singular value of J);
all-zero gradients give weights 1 (a zero update).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.base import GramianWeighting
from mtlx.methods.registry import METHODS


def alignment_matrix(gramian: Tensor) -> Tensor:
    """B = σ_min·V Λ^{-1/2} Vᵀ on the numerically non-zero eigenvalues (float64)."""
    g = gramian.detach().to(torch.float64)
    g = 0.5 * (g + g.T)
    eigenvalues, eigenvectors = torch.linalg.eigh(g)
    tolerance = eigenvalues.max() * g.shape[0] * torch.finfo(torch.float64).eps
    kept = eigenvalues > tolerance
    smallest = torch.where(kept, eigenvalues, torch.inf).min()
    inverse_roots = torch.where(kept, eigenvalues.clamp_min(tolerance).rsqrt(), 0.0)
    balance = (eigenvectors * inverse_roots) @ eigenvectors.T
    return torch.where(
        kept.any(), smallest.sqrt() * balance, torch.eye(g.shape[0], dtype=g.dtype, device=g.device)
    )


@METHODS.register("aligned-mtl")
class AlignedMTL(GramianWeighting):
    def weights(self, gramian: Tensor) -> Tensor:
        return alignment_matrix(gramian).sum(dim=1)

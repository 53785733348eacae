"""PCGrad — projecting conflicting gradients (Yu et al., NeurIPS 2020, Algorithm 1).

For every task i, in its own random order of the tasks j (drawn fresh each step):

    if g_iᴾᶜ·g_j < 0:   g_iᴾᶜ ← g_iᴾᶜ − (g_iᴾᶜ·g_j / ‖g_j‖²)·g_j

(projection of the running g_iᴾᶜ onto the normal plane of the original g_j), and the shared update
is d = Σᵢ g_iᴾᶜ. Every g_iᴾᶜ stays a combination Σₖ Cᵢₖ gₖ of the original gradients and all the
dot products it needs are Gramian entries, so the whole procedure runs on G = JJᵀ (T×T, float64)
and d = (Σᵢ Cᵢ)ᵀ J — the same result as in parameter space, without T² passes over d entries.
Task weights reported: the effective weights Σᵢ Cᵢ.

Scale: a sum, like EW — exactly EW's Σₜ gₜ when no pair of gradients conflicts.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.base import GramianWeighting
from mtlx.methods.registry import METHODS


def random_task_orders(num_tasks: int, device: torch.device) -> Tensor:
    """One random permutation of the tasks per task (row i: the order in which i is projected)."""
    return torch.rand((num_tasks, num_tasks), device=device).argsort(dim=1)


def pcgrad_coefficients(gramian: Tensor, orders: Tensor) -> Tensor:
    """C (T × T, float64): row i holds the coefficients of g_iᴾᶜ on the original gradients.

    ``orders`` (T × k, k ≤ T): row i lists the tasks g_i is projected against, in order.
    """
    g = gramian.detach().to(torch.float64)
    t = g.shape[0]
    coefficients = torch.eye(t, dtype=g.dtype, device=g.device)
    rows = torch.arange(t, device=g.device)
    for k in range(orders.shape[1]):
        partner = orders[:, k]
        dots = (coefficients @ g)[rows, partner]  # g_iᴾᶜ · g_partner(i)
        norms2 = g[partner, partner]
        conflict = (dots < 0) & (norms2 > 0)
        scale = torch.where(conflict, dots / torch.where(conflict, norms2, 1.0), 0.0)
        coefficients = coefficients.index_put((rows, partner), -scale, accumulate=True)
    return coefficients


@METHODS.register("pcgrad")
class PCGrad(GramianWeighting):
    def weights(self, gramian: Tensor) -> Tensor:
        orders = random_task_orders(gramian.shape[0], gramian.device)
        return pcgrad_coefficients(gramian, orders).sum(dim=0)

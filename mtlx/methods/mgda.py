"""MGDA — multiple gradient descent for multi-task learning (Sener & Koltun, NeurIPS 2018).

    α = argmin_{α ∈ Δ} ‖Σₜ αₜ gₜ‖²,   shared update d = Σₜ αₜ gₜ

the minimum-norm point of the convex hull of the task gradients: a direction that decreases every
task loss, zero exactly at a Pareto-stationary point. Solved exactly on the Gramian by
:func:`mtlx.methods.solvers.min_norm_weights` (2-task closed form; Frank-Wolfe vertex selection
with exact affine steps for T ≥ 3; KKT-checked, raises ``SolverError`` otherwise).

``normalization`` (the official code's option, "optional and not included in the paper"; its
sample config uses ``loss+``): the weights are computed on gₜ/nₜ with nₜ = 1 (``none``, the paper,
default), ‖gₜ‖ (``l2``), Lₜ (``loss``) or Lₜ·‖gₜ‖ (``loss+``) — and, as in the official code,
applied to the raw gradients (LibMTL applies them to the normalised ones).

Scale: Σα = 1 — a convex combination, on the scale of a single task's gradient (1/T of EW's sum
when all gradients are equal).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.base import GramianWeighting, task_gramian
from mtlx.methods.registry import METHODS
from mtlx.methods.solvers import min_norm_weights

NORMALIZATIONS = ("none", "l2", "loss", "loss+")


@METHODS.register("mgda")
class MGDA(GramianWeighting):
    def __init__(self, num_tasks: int, normalization: str = "none") -> None:
        super().__init__(num_tasks)
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {', '.join(NORMALIZATIONS)}, "
                f"but got {normalization!r}."
            )
        self.normalization = normalization

    def normalizers(self, gramian: Tensor, losses: Tensor | None) -> Tensor:
        """nₜ for each task (ones for ``none``); zero norms or losses are left unscaled."""
        if self.normalization == "none":
            return torch.ones(gramian.shape[:-1], dtype=gramian.dtype, device=gramian.device)
        if self.normalization == "l2":
            scale = gramian.diagonal(dim1=-2, dim2=-1).clamp_min(0.0).sqrt()
        elif losses is None:
            raise ValueError(f"normalization {self.normalization!r} needs the task losses")
        elif self.normalization == "loss":
            scale = losses.to(gramian.dtype)
        else:
            norms = gramian.diagonal(dim1=-2, dim2=-1).clamp_min(0.0).sqrt()
            scale = losses.to(gramian.dtype) * norms
        return torch.where(scale > 0, scale, torch.ones_like(scale))

    def weights(self, gramian: Tensor, losses: Tensor | None = None) -> Tensor:
        normalizers = self.normalizers(gramian, losses)
        return min_norm_weights(gramian / (normalizers[..., :, None] * normalizers[..., None, :]))

    def batch_weights(self, gramians: Tensor) -> Tensor:
        # T ≤ 2: the solver's closed form takes the whole stack at once
        if gramians.shape[-1] > 2:
            return super().batch_weights(gramians)
        return self.weights(gramians)

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        weights = self.weights(task_gramian(jacobian.detach()), losses).to(jacobian.dtype)
        self.task_weights = weights.detach()
        return weights @ jacobian

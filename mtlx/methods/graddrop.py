"""GradDrop — gradient sign dropout (Chen et al., NeurIPS 2020, "Just pick a sign", Algorithm 1).

Per coordinate of the task gradients gₜ, the sign purity

    P = ½·(1 + Σₜ gₜ / Σₜ |gₜ|)   (P = ½ where every gₜ is zero)

and one uniform draw U per coordinate: task t keeps its component if (P > U and gₜ > 0) or
(P < U and gₜ < 0); the update is Σₜ (ℓ + (1 − ℓ)·Mₜ)·gₜ with leak ℓ = 0 (the paper's default).

``source``: the paper applies GradDrop to the gradients at an activation layer — the shared
representation, ``"representation"`` (default; LibMTL supports only this) — and it applies to the
Jacobian on the shared parameters as well (``"shared_parameters"``, as torchjd). The paper also
marginalises over the batch by summing sign(activation)·gradient over samples before computing P;
the method contract does not pass activations, so P is computed per coordinate of the given
Jacobian (per sample and feature at the representation), i.e. the paper's rule with a batch of one.

Scale: a sum, like EW, of the kept components. No task weights.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.base import GradientAggregator, GradientSource
from mtlx.methods.registry import METHODS

SOURCES = (GradientSource.REPRESENTATION.value, GradientSource.SHARED_PARAMETERS.value)


@METHODS.register("graddrop")
class GradDrop(GradientAggregator):
    def __init__(self, num_tasks: int, leak: float = 0.0, source: str = "representation") -> None:
        super().__init__(num_tasks)
        if not 0.0 <= leak <= 1.0:
            raise ValueError(f"leak must be in [0, 1], but got {leak}.")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, but got {source!r}.")
        self.leak = float(leak)
        self.source = GradientSource(source)

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        total = jacobian.sum(dim=0)
        magnitude = jacobian.abs().sum(dim=0)
        nonzero = magnitude > 0
        purity = torch.where(nonzero, 0.5 * (1 + total / torch.where(nonzero, magnitude, 1.0)), 0.5)
        draw = torch.rand_like(purity)
        keep = ((purity > draw) & (jacobian > 0)) | ((purity < draw) & (jacobian < 0))
        return ((self.leak + (1 - self.leak) * keep.to(jacobian.dtype)) * jacobian).sum(dim=0)

"""Nash-MTL — multi-task learning as a bargaining game (Navon et al., ICML 2022).

The Nash bargaining solution of the tasks, d = Σₜ αₜ gₜ with α > 0 solving

    G α = 1/α   (elementwise: αₜ·gₜᵀd = 1 for every task),

computed on the Gramian normalised by its Frobenius norm, G/‖G‖_F, as the official code does (so α
does not depend on the gradients' overall scale and ‖d‖ = √(T·‖G‖_F)). The official code
approximates the solution by ≤ 20 CCP iterations with cvxpy/ECOS and falls back to the previous
weights when the solver fails; here Newton's method on the equivalent convex problem
(:func:`mtlx.methods.solvers.nash_bargaining_weights`) reaches max |αₜ(Gα)ₜ − 1| ≤ 1e-9 or raises
``SolverError`` (no solution exists when a non-negative combination of the gradients vanishes). The
previous weights are explicit state: they warm-start the solver and are reused between updates
when ``update_weights_every`` > 1.

Scale: after the official code, the shared update is clipped to norm ``max_norm`` = 1 (0 turns
clipping off): α ← α·min(1, max_norm/‖d‖). The official code also scales the heads' gradients by α;
here the heads keep their raw gradients (mtlx's convention, see ``mtlx.methods.base``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.base import GramianWeighting
from mtlx.methods.registry import METHODS
from mtlx.methods.solvers import nash_bargaining_weights


@METHODS.register("nash-mtl")
class NashMTL(GramianWeighting):
    def __init__(
        self, num_tasks: int, max_norm: float = 1.0, update_weights_every: int = 1
    ) -> None:
        super().__init__(num_tasks)
        if max_norm < 0:
            raise ValueError(f"max_norm must be non-negative, but got {max_norm}.")
        if update_weights_every < 1:
            raise ValueError(
                f"update_weights_every must be positive, but got {update_weights_every}."
            )
        self.max_norm = float(max_norm)
        self.update_weights_every = int(update_weights_every)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.steps = 0
        self.bargaining_weights: Tensor | None = None  # α of the last solve, unclipped

    def weights(self, gramian: Tensor) -> Tensor:
        # all on the host: one copy of the T × T Gramian off the device, the weights back on it
        g = gramian.detach().to(device="cpu", dtype=torch.float64)
        if self.steps % self.update_weights_every == 0 or self.bargaining_weights is None:
            norm = torch.linalg.matrix_norm(g)
            normalized = g / norm if norm > 0 else g
            self.bargaining_weights = nash_bargaining_weights(
                normalized, initial=self.bargaining_weights
            )
        self.steps += 1
        alpha = self.bargaining_weights
        if self.max_norm > 0:
            length = torch.sqrt((alpha @ g @ alpha).clamp_min(0.0))
            alpha = alpha * torch.clamp(self.max_norm / length, max=1.0)
        return alpha.to(device=gramian.device, dtype=gramian.dtype)

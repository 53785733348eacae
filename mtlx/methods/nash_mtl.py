"""Nash-MTL — multi-task learning as a bargaining game (Navon et al., ICML 2022).

The Nash bargaining solution of the tasks, d = Σₜ αₜ gₜ with α > 0 solving

    G α = 1/α   (elementwise: αₜ·gₜᵀd = 1 for every task),

on the raw Gramian G = JJᵀ, as the paper (eq. (2)), the official code (its cvxpy constraint
αₜ·N·(Ĝα)ₜ ≥ 1 on the normalised Ĝ = G/N multiplies N = ‖G‖_F back in), LibMTL and torchjd. Hence
‖d‖² = αᵀGα = Σₜ αₜ(Gα)ₜ = T whatever the gradients' scale. The official code approximates the
solution by ≤ 20 CCP iterations with cvxpy/ECOS and silently reuses the previous weights when the
solver fails; here Newton's method on the equivalent convex problem
(:func:`mtlx.methods.solvers.nash_bargaining_weights`) reaches max |αₜ(Gα)ₜ − 1| ≤ 1e-9, or raises.
The previous weights are explicit state: they warm-start the solver and are reused between
updates when ``update_weights_every`` > 1.

Where the bargaining has no solution:

- every task gradient is zero (G = 0, e.g. a network whose units have all died): no step can
  change any loss, and the shared step is zero — taken, and counted in ``events["zero_step"]``;
- a non-negative combination of non-zero gradients vanishes, or one gradient is zero while others
  are not (a Pareto-stationary point): :class:`~mtlx.methods.solvers.NoSolutionError` with the
  reason, which ends the run as an outcome.

Scale: as the official code, the shared update is clipped to norm ``max_norm`` = 1 by PyTorch's
``clip_grad_norm_`` rule, α ← α·min(1, max_norm/(‖d‖ + 10⁻⁶)) (0 turns clipping off, leaving
‖d‖ = √T). The official code also scales the heads' gradients by α; here the heads keep their raw
gradients (mtlx's convention, see ``mtlx.methods.base``). Task weights reported: the clipped α.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from mtlx.methods.base import GramianWeighting, state_copy
from mtlx.methods.registry import METHODS
from mtlx.methods.solvers import host_gramian, nash_bargaining_weights

CLIP_EPSILON = 1e-6  # torch.nn.utils.clip_grad_norm_'s


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
        self.bargaining_weights: Tensor | None = None  # α of the last solve, unclipped, on the host

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "steps": self.steps,
            "bargaining_weights": state_copy(self.bargaining_weights),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.steps = int(state["steps"])
        self.bargaining_weights = state_copy(state["bargaining_weights"])

    def weights(self, gramian: Tensor) -> Tensor:
        # all on the host: one copy of the T × T Gramian off the device, the weights back on it
        g = torch.from_numpy(host_gramian(gramian))
        update = self.steps % self.update_weights_every == 0 or self.bargaining_weights is None
        self.steps += 1
        if not g.diagonal().max() > 0:  # every gradient is zero: so is the step
            self.events["zero_step"] += 1
            return torch.zeros(g.shape[0], dtype=g.dtype, device=gramian.device)
        if update:
            self.bargaining_weights = nash_bargaining_weights(g, initial=self.bargaining_weights)
        alpha = self.bargaining_weights
        if self.max_norm > 0:
            length = float(torch.sqrt((alpha @ g @ alpha).clamp_min(0.0)))
            alpha = alpha * min(1.0, self.max_norm / (length + CLIP_EPSILON))
        return alpha.to(device=gramian.device)

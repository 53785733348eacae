"""GradNorm — gradient normalisation for adaptive loss balancing (Chen et al., ICML 2018).

Learnable task weights w, positive and summing to T. Each step, with gₜ the task's gradient on the
shared parameters (a row of the Jacobian):

    Gₜ = wₜ·‖gₜ‖,  Ḡ = meanₜ Gₜ,  rₜ = L̃ₜ / meanₖ L̃ₖ,  L̃ₜ = Lₜ/Lₜ(0)
    L_grad = Σₜ |Gₜ − sg(Ḡ·rₜ^α)|,   α = 1.5 (the paper's value on NYUv2, LibMTL's default)

the shared update is d = Σₜ wₜ gₜ with the current w; then w takes a gradient step on L_grad
(∂L_grad/∂wₜ = sign(Gₜ − Ḡrₜ^α)·‖gₜ‖, the target held constant) — the paper's Algorithm 1, whose
equilibrium is Gₜ = Ḡrₜ^α for every task. Lₜ(0) is the loss of the first step. The norms are over
all shared parameters (the paper uses the last shared layer to save backward passes; the full
Jacobian is already at hand here).

The paper renormalises w to Σw = T after each step, which lets a weight cross zero and the shared
step ascend that task's loss. As LibMTL, w = T·softmax(ξ) with learned logits ξ (initially 0,
w = 1): positive, summing to T, with the same equilibrium; ξ gets the gradient of L_grad through
the softmax, ∂L_grad/∂ξ = T·z ⊙ (∂L_grad/∂w − zᵀ∂L_grad/∂w), z = softmax(ξ). As in the paper and
LibMTL, ξ is updated by the run's optimizer with the run's learning rate: ξ is one of the method's
``parameters()`` (no weight decay), and ``aggregate`` sets its gradient.

Scale: Σw = T — EW's sum at initialisation. Heads keep their raw gradients (mtlx's convention).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mtlx.methods.base import GradientAggregator, state_copy
from mtlx.methods.registry import METHODS


@METHODS.register("gradnorm")
class GradNorm(GradientAggregator):
    def __init__(self, num_tasks: int, alpha: float = 1.5) -> None:
        super().__init__(num_tasks)
        if alpha < 0:
            raise ValueError(f"alpha must be non-negative, but got {alpha}.")
        self.alpha = float(alpha)
        self.logits = nn.Parameter(torch.zeros(num_tasks))  # ξ
        self.reset()

    def parameters(self) -> list[nn.Parameter]:
        return [self.logits]

    def reset(self) -> None:
        super().reset()
        with torch.no_grad():
            self.logits.zero_()
        self.initial_losses: Tensor | None = None  # Lₜ(0)

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "logits": state_copy(self.logits),
            "initial_losses": state_copy(self.initial_losses),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            self.logits.copy_(state["logits"])
        self.initial_losses = state_copy(state["initial_losses"])

    @property
    def loss_weights(self) -> Tensor:
        """w = T·softmax(ξ)."""
        return self.num_tasks * torch.softmax(self.logits.detach(), dim=0)

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        losses = losses.detach().to(jacobian.dtype)
        if self.initial_losses is None:
            self.initial_losses = losses
        z = torch.softmax(self.logits.detach().to(jacobian.dtype), dim=0)
        weights = self.num_tasks * z
        self.task_weights = weights
        direction = weights @ jacobian

        norms = torch.linalg.vector_norm(jacobian.detach(), dim=1)
        weighted_norms = weights * norms
        ratios = losses / self.initial_losses
        targets = weighted_norms.mean() * (ratios / ratios.mean()) ** self.alpha
        weight_gradient = torch.sign(weighted_norms - targets) * norms  # ∂L_grad/∂w
        logit_gradient = self.num_tasks * z * (weight_gradient - z @ weight_gradient)
        self.logits.grad = logit_gradient.to(self.logits.dtype)
        return direction

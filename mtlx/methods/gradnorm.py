"""GradNorm — gradient normalisation for adaptive loss balancing (Chen et al., ICML 2018).

Learnable task weights w (init 1, kept summing to T). Each step, with gₜ the task's gradient on the
shared parameters (a row of the Jacobian):

    Gₜ = wₜ·‖gₜ‖,  Ḡ = meanₜ Gₜ,  rₜ = L̃ₜ / meanₖ L̃ₖ,  L̃ₜ = Lₜ/Lₜ(0)
    L_grad = Σₜ |Gₜ − sg(Ḡ·rₜ^α)|,   α = 1.5

the shared update is d = Σₜ wₜ gₜ with the current w; then w takes one gradient step on L_grad
(∂L_grad/∂wₜ = sign(Gₜ − Ḡrₜ^α)·‖gₜ‖) and is renormalised to Σw = T (the paper's Algorithm 1).
Lₜ(0) is the loss of the first step. The norms are over all shared parameters (the paper uses the
last shared layer to save backward passes; the full Jacobian is already at hand here).

The paper updates w with the network's optimizer. A method never reaches into the run's optimizer,
so w is updated here by its own Adam step (β = (0.9, 0.999), ε = 1e-8) with learning rate
``weight_lr`` — not a value from the paper (0.025, as common re-implementations use); tune it with
the run's learning rate.

Scale: Σw = T — EW's sum at initialisation. Heads keep their raw gradients (mtlx's convention).
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.methods.adam_update import AdamUpdate
from mtlx.methods.base import GradientAggregator
from mtlx.methods.registry import METHODS


@METHODS.register("gradnorm")
class GradNorm(GradientAggregator):
    def __init__(self, num_tasks: int, alpha: float = 1.5, weight_lr: float = 0.025) -> None:
        super().__init__(num_tasks)
        if alpha < 0:
            raise ValueError(f"alpha must be non-negative, but got {alpha}.")
        if weight_lr <= 0:
            raise ValueError(f"weight_lr must be positive, but got {weight_lr}.")
        self.alpha = float(alpha)
        self.weight_lr = float(weight_lr)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.loss_weights: Tensor | None = None  # w, created on the Jacobian's device
        self.initial_losses: Tensor | None = None
        self.weight_optimizer = AdamUpdate()

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        losses = losses.detach().to(jacobian.dtype)
        if self.loss_weights is None:
            self.loss_weights = torch.ones_like(losses)
            self.initial_losses = losses
        assert self.initial_losses is not None
        weights = self.loss_weights
        direction = weights @ jacobian
        self.task_weights = weights

        norms = torch.linalg.vector_norm(jacobian.detach(), dim=1)
        weighted_norms = weights * norms
        ratios = losses / self.initial_losses
        targets = weighted_norms.mean() * (ratios / ratios.mean()) ** self.alpha
        gradient = torch.sign(weighted_norms - targets) * norms
        updated = weights - self.weight_lr * self.weight_optimizer.step(gradient)
        self.loss_weights = self.num_tasks * updated / updated.sum()
        return direction

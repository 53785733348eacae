"""FAMO — fast adaptive multitask optimization (Liu, Feng, Stone & Liu, NeurIPS 2023).

Task weights from learnable logits ξ: z = softmax(ξ). The objective

    Σₜ zₜ·log Lₜ / c,   c = sg(Σₜ zₜ/Lₜ)

has gradient Σₜ (zₜ/(c·Lₜ))·∇Lₜ: effective weights zₜ/(c·Lₜ), which sum to 1 (scale: a convex
combination, 1/T of EW's sum for equal losses). FAMO then moves ξ so the tasks' log-losses fall at
equal rates: with δₜ = log Lₜ(before) − log Lₜ(after), ξ takes one step of PyTorch's Adam (lr
0.025, L2 decay γ = 10⁻³: ``torch.optim.Adam(weight_decay=γ)``, as the official code) on the
gradient of zᵀδ w.r.t. ξ, ∂(zᵀδ)/∂ξ = z ⊙ (δ − zᵀδ). The official code's min-loss offset is
0 (its default) and its ε = 10⁻⁸ is kept inside the logs.

Which losses give δ: the official code re-evaluates the same batch after the optimizer step (one
extra forward pass). A method never sees the model, so here δ compares the losses of consecutive
steps (step k−1's batch before its update vs step k's batch after it): no extra forward pass,
δ is the same in expectation over batches but noisier; the logit update for step k−1's change
happens at the start of step k, before its weights are used. The first step uses z uniform.
The official code also clips the shared gradient norm at 1; a loss weighting cannot see gradients,
so that clipping is not part of this method (as in LibMTL's FAMO).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from mtlx.methods.adam import TensorAdam
from mtlx.methods.base import LossWeighting, state_copy
from mtlx.methods.registry import METHODS

LOG_EPSILON = 1e-8
_NO_ADAM_STATE = {
    "logit_adam_steps": 0,
    "logit_adam_first_moment": None,
    "logit_adam_second_moment": None,
}


@METHODS.register("famo")
class FAMO(LossWeighting):
    def __init__(self, num_tasks: int, logit_lr: float = 0.025, logit_decay: float = 1e-3) -> None:
        super().__init__(num_tasks)
        if logit_lr <= 0:
            raise ValueError(f"logit_lr must be positive, but got {logit_lr}.")
        if logit_decay < 0:
            raise ValueError(f"logit_decay must be non-negative, but got {logit_decay}.")
        self.logit_lr = float(logit_lr)
        self.logit_decay = float(logit_decay)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.logit_optimizer: TensorAdam | None = None  # ξ and its Adam, from the first step
        self.previous_losses: Tensor | None = None

    @property
    def logits(self) -> Tensor | None:
        """ξ (``None`` before the first step)."""
        return None if self.logit_optimizer is None else self.logit_optimizer.tensor.detach()

    @property
    def adam_steps(self) -> int:
        """Steps taken by the logits' Adam (0 after ``reset``)."""
        return 0 if self.logit_optimizer is None else self.logit_optimizer.steps

    def state_dict(self) -> dict[str, Any]:
        optimizer = self.logit_optimizer
        return {
            **super().state_dict(),
            "logits": state_copy(self.logits),
            **(optimizer.state_dict("logit_adam_") if optimizer else _NO_ADAM_STATE),
            "previous_losses": state_copy(self.previous_losses),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.logit_optimizer = None
        if state["logits"] is not None:
            self.logit_optimizer = self._logit_optimizer(state["logits"].clone())
            self.logit_optimizer.load_state_dict(state, "logit_adam_")
        self.previous_losses = state_copy(state["previous_losses"])

    def _logit_optimizer(self, logits: Tensor) -> TensorAdam:
        return TensorAdam(logits, lr=self.logit_lr, weight_decay=self.logit_decay)

    def _update_logits(self, losses: Tensor) -> None:
        assert self.logit_optimizer is not None and self.previous_losses is not None
        logits = self.logit_optimizer.tensor.detach()
        decrease = torch.log(self.previous_losses + LOG_EPSILON) - torch.log(losses + LOG_EPSILON)
        z = torch.softmax(logits, dim=0)
        self.logit_optimizer.step(z * (decrease - z @ decrease))  # Adam adds γ·ξ itself

    def combine(self, losses: Tensor) -> Tensor:
        detached = losses.detach()
        if self.logit_optimizer is None:
            self.logit_optimizer = self._logit_optimizer(torch.zeros_like(detached))
        else:
            self._update_logits(detached)
        self.previous_losses = detached
        z = torch.softmax(self.logit_optimizer.tensor.detach(), dim=0)
        shifted = losses + LOG_EPSILON
        normalizer = (z / shifted.detach()).sum()
        self.task_weights = z / (normalizer * shifted.detach())
        return (z * torch.log(shifted)).sum() / normalizer

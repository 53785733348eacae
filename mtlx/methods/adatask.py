"""AdaTask — task-aware adaptive learning rates (Yang et al., AAAI 2023), Adam form.

One Adam state per task for the shared parameters:

    mₜ ← β₁mₜ + (1 − β₁)gₜ,   vₜ ← β₂vₜ + (1 − β₂)gₜ²,
    θ ← θ − lr·Σₜ m̂ₜ / (√v̂ₜ + ε),   m̂ₜ = mₜ/(1 − β₁ᵏ), v̂ₜ = vₜ/(1 − β₂ᵏ),

β = (0.9, 0.999), ε = 1e-8 (Adam's defaults, as the paper and the seed paper use). The direction is
the final update (``owns_shared_update``): the trainer applies θ ← θ − lr·d to the shared
parameters with the run's learning rate; the heads, which each see one task only, keep the run's
optimizer (with Adam that is exactly a per-task Adam for them too). Each task's update is invariant
to a constant scale of its loss (seed paper, A1.3). As in the authors' optimizer, which takes a
``weight_decay`` and never applies it, the shared parameters get no weight decay (the training step
says so in the log when the run sets one; the heads keep it).

The T states are PyTorch's own Adam (:mod:`mtlx.methods.adam`) over a T × d tensor of per-task
displacements, reset to zero before each step, so that one fused pass updates every task's moments.

Scale: a sum over tasks of Adam steps, each of magnitude ≈ 1 per coordinate. No task weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from mtlx.methods.adam import TensorAdam
from mtlx.methods.base import GradientAggregator
from mtlx.methods.registry import METHODS


@METHODS.register("adatask")
class AdaTask(GradientAggregator):
    owns_shared_update = True

    def __init__(
        self,
        num_tasks: int,
        betas: tuple[float, float] | Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(num_tasks)
        betas = tuple(float(b) for b in betas)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be two values in [0, 1), but got {betas}.")
        if eps <= 0:
            raise ValueError(f"eps must be positive, but got {eps}.")
        self.betas = betas
        self.eps = float(eps)
        self.reset()

    def reset(self) -> None:
        super().reset()
        # T × d displacements (each task's Adam step at lr = 1) and the moments mₜ, vₜ
        self.optimizer: TensorAdam | None = None

    def state_dict(self) -> dict[str, Any]:
        if self.optimizer is None:
            return {
                **super().state_dict(),
                "adam_steps": 0,
                "adam_first_moment": None,
                "adam_second_moment": None,
            }
        return {**super().state_dict(), **self.optimizer.state_dict("adam_")}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.optimizer = None
        if state["adam_steps"]:
            self.optimizer = self._optimizer(torch.zeros_like(state["adam_first_moment"]))
            self.optimizer.load_state_dict(state, "adam_")

    def _optimizer(self, displacements: Tensor) -> TensorAdam:
        fused = displacements.device.type in ("cpu", "cuda")
        return TensorAdam(displacements, lr=1.0, betas=self.betas, eps=self.eps, fused=fused)

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        if self.optimizer is None:
            self.optimizer = self._optimizer(torch.zeros_like(jacobian))
        displacements = self.optimizer.tensor
        with torch.no_grad():
            displacements.zero_()
        self.optimizer.step(jacobian.detach())  # displacements ← −m̂ₜ / (√v̂ₜ + ε)
        return -displacements.detach().sum(dim=0)

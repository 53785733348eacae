"""MTL-IO — individual optimizer states per task (Pascal et al., 2021), SGD + momentum form.

One heavy-ball momentum buffer per task for the shared parameters (PyTorch's convention):

    vₜ ← μ·vₜ + gₜ,   θ ← θ − lr·Σₜ vₜ,   μ = 0.9 (the momentum of the runs' SGD),

the direction being the final update (``owns_shared_update``; the trainer applies θ ← θ − lr·d with
the run's learning rate, the heads keep the run's optimizer). The shared parameters get no
weight decay (the run's weight decay acts on the heads; the training step says so in the log).
Note: heavy-ball momentum is linear, so Σₜ vₜ follows exactly the momentum of Σₜ gₜ — for
SGD + momentum the per-task states give the same shared update as EW with one momentum buffer
(unlike AdaTask, whose per-task second moments do not commute with the sum); the states are kept
per task, as the method defines them.

Scale: a sum, like EW with SGD + momentum. No task weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from mtlx.methods.base import GradientAggregator, state_copy
from mtlx.methods.registry import METHODS


@METHODS.register("mtl-io")
class MTLIO(GradientAggregator):
    owns_shared_update = True

    def __init__(self, num_tasks: int, momentum: float = 0.9) -> None:
        super().__init__(num_tasks)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), but got {momentum}.")
        self.momentum = float(momentum)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.velocities: Tensor | None = None  # vₜ, T × d

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "velocities": state_copy(self.velocities)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.velocities = state_copy(state["velocities"])

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        gradients = jacobian.detach()
        if self.velocities is None:
            self.velocities = gradients.clone()  # PyTorch's SGD: the first buffer is g itself
        else:
            self.velocities.mul_(self.momentum).add_(gradients)
        return self.velocities.sum(dim=0)

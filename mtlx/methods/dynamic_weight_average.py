"""DWA — dynamic weight average (Liu, Johns & Davison, CVPR 2019, "End-to-end multi-task learning
with attention", eq. (7)).

    wₜ(e) = T · exp(rₜ(e−1)/τ) / Σₖ exp(rₖ(e−1)/τ),   rₜ(e−1) = L̄ₜ(e−1) / L̄ₜ(e−2)

with L̄ₜ(e) the average of task t's training loss over epoch e and temperature τ = 2; wₜ = 1 for
the first two epochs (no ratio yet). The epoch averages are accumulated here, on the device, from
the losses ``combine`` sees; ``end_epoch()`` closes an epoch.

Scale: Σw = T — EW's sum when the tasks progress alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from mtlx.methods.base import LossWeighting, state_copy
from mtlx.methods.registry import METHODS


@METHODS.register("dwa")
class DynamicWeightAverage(LossWeighting):
    def __init__(self, num_tasks: int, temperature: float = 2.0) -> None:
        super().__init__(num_tasks)
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, but got {temperature}.")
        self.temperature = float(temperature)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.epoch_loss_sum: Tensor | None = None
        self.epoch_steps = 0
        self.epoch_averages: list[Tensor] = []  # the last two finished epochs, oldest first

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "epoch_loss_sum": state_copy(self.epoch_loss_sum),
            "epoch_steps": self.epoch_steps,
            "epoch_averages": [state_copy(average) for average in self.epoch_averages],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.epoch_loss_sum = state_copy(state["epoch_loss_sum"])
        self.epoch_steps = int(state["epoch_steps"])
        self.epoch_averages = [state_copy(average) for average in state["epoch_averages"]]

    def end_epoch(self) -> None:
        if self.epoch_loss_sum is None:
            return
        self.epoch_averages = [*self.epoch_averages, self.epoch_loss_sum / self.epoch_steps][-2:]
        self.epoch_loss_sum = None
        self.epoch_steps = 0

    def combine(self, losses: Tensor) -> Tensor:
        detached = losses.detach()
        if len(self.epoch_averages) < 2:
            weights = torch.ones_like(detached)
        else:
            previous, last = self.epoch_averages
            ratios = last / previous
            weights = self.num_tasks * torch.softmax(ratios / self.temperature, dim=0)
        if self.epoch_loss_sum is None:
            self.epoch_loss_sum = detached
        else:
            self.epoch_loss_sum = self.epoch_loss_sum + detached
        self.epoch_steps += 1
        self.task_weights = weights
        return (weights * losses).sum()

"""IMTL — the hybrid of impartial multi-task learning (Liu et al., ICLR 2021, §3.3).

IMTL-L's learned loss scales on every loss (:mod:`mtlx.methods.imtl_l`),
L̃ₜ = e^{sₜ}·Lₜ − sₜ, applied through ``transform_loss`` — so the heads and sₜ are trained on L̃ₜ
— and IMTL-G's closed-form weights (:mod:`mtlx.methods.imtl_g`) on the Jacobian of the scaled
losses for the shared parameters: d = Σₜ αₜ ∇L̃ₜ with Σα = 1 and equal projections on every unit
∇L̃ₜ. (The direction of IMTL-G's update does not depend on the gradients' scales, so e^{sₜ}
acts on the heads and on the update's length only.) sₜ are learned by the run's optimizer, from
sₜ = 0 (LibMTL's start; the paper gives none). Task weights reported: α, the weights of the scaled
losses' gradients.

Scale: shared gradient Σα = 1 (IMTL-G's), heads e^{sₜ}·∇Lₜ (EW's at initialisation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from mtlx.methods.imtl_g import IMTLG
from mtlx.methods.imtl_l import IMTLL, scaled_losses
from mtlx.methods.registry import METHODS


@METHODS.register("imtl")
class IMTL(IMTLG):
    def __init__(self, num_tasks: int, init_log_scale: float = 0.0) -> None:
        super().__init__(num_tasks)
        self.loss_scales = IMTLL(num_tasks, init_log_scale)  # owns sₜ, their init and reset

    def parameters(self) -> list[nn.Parameter]:
        return self.loss_scales.parameters()

    def reset(self) -> None:
        super().reset()
        self.loss_scales.reset()

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), **self.loss_scales.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.loss_scales.load_state_dict({"log_scales": state["log_scales"]})

    def transform_loss(self, task: int, loss: Tensor) -> Tensor:
        return scaled_losses(self.loss_scales.log_scales[task], loss)

"""PyTorch's Adam on one tensor a method owns: FAMO's logits, AdaTask's per-task displacements.

Every method that runs Adam itself runs ``torch.optim.Adam`` (Kingma & Ba, 2015: bias-corrected
moments, ``weight_decay`` added to the gradient as L2), the optimizer the official FAMO code uses
for its logits and AdaTask's per-task optimizer: one tested implementation, with PyTorch's fused
kernel for AdaTask's T × d state, instead of a second, hand-written update for the small vectors.
Its state comes out as plain tensors and numbers (``state_dict``), for checkpoints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor


class TensorAdam:
    """``torch.optim.Adam`` over ``tensor`` (updated in place), stepped with given gradients."""

    def __init__(
        self,
        tensor: Tensor,
        lr: float,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        fused: bool = False,
    ) -> None:
        self.tensor = tensor.detach().requires_grad_(True)
        self.optimizer = torch.optim.Adam(
            [self.tensor],
            lr=lr,
            betas=(float(betas[0]), float(betas[1])),
            eps=eps,
            weight_decay=weight_decay,
            fused=fused or None,
        )

    def step(self, gradient: Tensor) -> None:
        """tensor ← tensor − lr·m̂/(√v̂ + ε) with ``gradient`` (plus weight_decay·tensor)."""
        self.tensor.grad = gradient
        self.optimizer.step()
        self.tensor.grad = None

    @property
    def steps(self) -> int:
        state = self.optimizer.state.get(self.tensor)
        return int(state["step"]) if state else 0

    def state_dict(self, prefix: str = "") -> dict[str, Any]:
        """The step count and the two moments (``None`` before the first step), keys prefixed."""
        state = self.optimizer.state.get(self.tensor)
        return {
            f"{prefix}steps": self.steps,
            f"{prefix}first_moment": state["exp_avg"].clone() if state else None,
            f"{prefix}second_moment": state["exp_avg_sq"].clone() if state else None,
        }

    def load_state_dict(self, state: Mapping[str, Any], prefix: str = "") -> None:
        self.optimizer.state.clear()
        if not state[f"{prefix}steps"]:
            return
        # through PyTorch's own loader, which puts each entry on the device and dtype it needs
        groups = self.optimizer.state_dict()["param_groups"]
        self.optimizer.load_state_dict(
            {
                "state": {
                    0: {
                        "step": torch.tensor(float(state[f"{prefix}steps"])),
                        "exp_avg": state[f"{prefix}first_moment"].clone(),
                        "exp_avg_sq": state[f"{prefix}second_moment"].clone(),
                    }
                },
                "param_groups": [{**group, "params": [0]} for group in groups],
            }
        )

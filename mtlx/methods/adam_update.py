"""An Adam step for the small vectors a method learns itself (FAMO's logits, GradNorm's weights).

Kingma & Ba (2015): m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², step = m̂ / (√v̂ + ε) with the
bias corrections m̂ = m/(1 − β₁ᵏ), v̂ = v/(1 − β₂ᵏ). The caller multiplies by its learning rate.
"""

from __future__ import annotations

from torch import Tensor


class AdamUpdate:
    """The moments of one Adam optimizer over a single vector; ``reset()`` forgets them."""

    def __init__(self, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.betas = betas
        self.eps = eps
        self.reset()

    def reset(self) -> None:
        self.first_moment: Tensor | None = None
        self.second_moment: Tensor | None = None
        self.steps = 0

    def step(self, gradient: Tensor) -> Tensor:
        """The bias-corrected Adam direction for ``gradient`` (to be scaled by −lr)."""
        beta1, beta2 = self.betas
        if self.first_moment is None or self.second_moment is None:
            self.first_moment = gradient.new_zeros(gradient.shape)
            self.second_moment = gradient.new_zeros(gradient.shape)
        self.steps += 1
        self.first_moment = beta1 * self.first_moment + (1 - beta1) * gradient
        self.second_moment = beta2 * self.second_moment + (1 - beta2) * gradient**2
        first = self.first_moment / (1 - beta1**self.steps)
        second = self.second_moment / (1 - beta2**self.steps)
        return first / (second.sqrt() + self.eps)

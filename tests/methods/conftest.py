"""Seeded task Jacobians of controlled shape, rank and conflict, shared by the method tests.

Every case comes in float64 and in float32, the dtype training hands the methods. A property is
checked in float64 arithmetic on the Jacobian the method was given, to ``precision(jacobian)``
relative: 1e-8 for float64, 1e-4 for float32 (the weights are solved in float64 from the float32
Jacobian; the float32 rounding of the weights and of their sum is what remains).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import Tensor

DTYPES = (torch.float64, torch.float32)


def precision(jacobian: Tensor) -> float:
    """The relative tolerance of a property checked on ``jacobian``'s results (see above)."""
    return 1e-4 if jacobian.dtype == torch.float32 else 1e-8


@dataclass(frozen=True)
class JacobianCase:
    """T × d task gradients built by ``kind`` from ``seed``, in ``dtype``."""

    num_tasks: int
    dim: int
    kind: str
    seed: int = 0
    dtype: torch.dtype = torch.float64

    @property
    def full_rank(self) -> bool:
        singular = ("opposite", "dependent", "wide")
        return self.kind not in singular and self.num_tasks <= self.dim

    def in_dtype(self, dtype: torch.dtype) -> JacobianCase:
        return JacobianCase(self.num_tasks, self.dim, self.kind, self.seed, dtype)

    def build(self) -> Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        t, d = self.num_tasks, self.dim
        jacobian = torch.randn(t, d, generator=generator, dtype=torch.float64)
        if self.kind == "aligned":  # a strong common component: no conflicts
            jacobian = jacobian + 4.0 * torch.randn(d, generator=generator, dtype=torch.float64)
        elif self.kind == "conflicting":  # every task against the previous one
            jacobian[1:] = jacobian[1:] - 1.5 * jacobian[:-1]
        elif self.kind == "scaled":  # gradient norms over four orders of magnitude
            jacobian = jacobian * torch.logspace(-2, 2, t, dtype=torch.float64)[:, None]
        elif self.kind == "correlated":  # a common component, norms over four orders
            jacobian = jacobian + 3.0 * torch.randn(d, generator=generator, dtype=torch.float64)
            jacobian = jacobian * torch.logspace(-2, 2, t, dtype=torch.float64)[:, None]
        elif self.kind == "opposite":  # g₂ = −2·g₁: rank-deficient and Pareto-stationary
            jacobian[1] = -2.0 * jacobian[0]
        elif self.kind == "near-opposite":  # g₂ = −2·g₁ turned by 10⁻³ rad
            jacobian[1] = -2.0 * jacobian[0] + 2e-3 * jacobian[0].norm() * _orthogonal(jacobian)
        elif self.kind == "dependent":  # last gradient the sum of the first two
            jacobian[-1] = jacobian[0] + jacobian[1]
        elif self.kind == "near-dependent":  # the sum of the first two, 10⁻³ off their plane
            jacobian[-1] = jacobian[0] + jacobian[1]
            jacobian[-1] += 1e-3 * jacobian[-1].norm() * _orthogonal(jacobian[:2])
        return jacobian.to(self.dtype)

    def __str__(self) -> str:
        name = f"T{self.num_tasks}-d{self.dim}-{self.kind}-s{self.seed}"
        return name if self.dtype == torch.float64 else f"{name}-float32"


def _orthogonal(rows: Tensor) -> Tensor:
    """A unit vector orthogonal to every row of ``rows`` (from the last coordinate axis)."""
    basis = torch.linalg.qr(rows.T).Q
    axis = torch.zeros(rows.shape[1], dtype=rows.dtype)
    axis[-1] = 1.0
    residual = axis - basis @ (basis.T @ axis)
    return residual / residual.norm()


BASE_CASES = [
    JacobianCase(2, 5, "gaussian"),
    JacobianCase(2, 5, "conflicting"),
    JacobianCase(2, 5, "opposite"),
    JacobianCase(2, 5, "near-opposite"),
    JacobianCase(2, 7, "aligned"),
    JacobianCase(3, 10, "gaussian"),
    JacobianCase(3, 10, "conflicting", seed=1),
    JacobianCase(3, 10, "dependent"),
    JacobianCase(3, 10, "near-dependent"),
    JacobianCase(3, 10, "aligned"),
    JacobianCase(3, 2, "wide"),  # T > d: rank-deficient
    JacobianCase(5, 20, "scaled"),
    JacobianCase(40, 100, "gaussian"),
    JacobianCase(40, 100, "scaled", seed=2),
    JacobianCase(40, 100, "correlated", seed=4),
    JacobianCase(40, 20, "wide", seed=3),
]
CASES = [case.in_dtype(dtype) for dtype in DTYPES for case in BASE_CASES]
FULL_RANK_CASES = [case for case in CASES if case.full_rank]
# comparisons with scipy's SLSQP (slow for T = 40: those run under -m slow)
REFERENCE_CASES = [
    pytest.param(case, id=str(case), marks=[pytest.mark.slow] if case.num_tasks >= 40 else [])
    for case in BASE_CASES
]


@pytest.fixture(params=CASES, ids=str)
def jacobian(request: pytest.FixtureRequest) -> Tensor:
    return request.param.build()


@pytest.fixture(params=FULL_RANK_CASES, ids=str)
def full_rank_jacobian(request: pytest.FixtureRequest) -> Tensor:
    return request.param.build()


@pytest.fixture(params=REFERENCE_CASES)
def reference_jacobian(request: pytest.FixtureRequest) -> Tensor:
    return request.param.build()


def assert_direction_close(
    direction: Tensor, expected: Tensor, weights: Tensor, jacobian: Tensor
) -> None:
    """``direction`` = ``expected`` to ``precision(jacobian)`` of maxₖ Σₜ |wₜ|·|Jₜₖ|, the size at
    which the weighted sum of the gradients is rounded (``expected`` may itself be near 0)."""
    scale = float((weights.double().abs() @ jacobian.double().abs()).max())
    error = float((direction.double() - expected.double()).abs().max())
    assert error <= precision(jacobian) * scale, f"{error:.3g} > {precision(jacobian)}·{scale:.3g}"

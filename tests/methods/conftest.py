"""Seeded task Jacobians of controlled shape, rank and conflict, shared by the method tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import Tensor


@dataclass(frozen=True)
class JacobianCase:
    """T × d task gradients built by ``kind`` from ``seed`` (float64)."""

    num_tasks: int
    dim: int
    kind: str
    seed: int = 0

    @property
    def full_rank(self) -> bool:
        return self.kind not in ("opposite", "dependent", "wide") and self.num_tasks <= self.dim

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
        elif self.kind == "opposite":  # g₂ = −g₁: rank-deficient and Pareto-stationary
            jacobian[1] = -jacobian[0]
        elif self.kind == "dependent":  # last gradient the sum of the first two
            jacobian[-1] = jacobian[0] + jacobian[1]
        return jacobian

    def __str__(self) -> str:
        return f"T{self.num_tasks}-d{self.dim}-{self.kind}-s{self.seed}"


CASES = [
    JacobianCase(2, 5, "gaussian"),
    JacobianCase(2, 5, "conflicting"),
    JacobianCase(2, 5, "opposite"),
    JacobianCase(2, 7, "aligned"),
    JacobianCase(3, 10, "gaussian"),
    JacobianCase(3, 10, "conflicting", seed=1),
    JacobianCase(3, 10, "dependent"),
    JacobianCase(3, 10, "aligned"),
    JacobianCase(3, 2, "wide"),  # T > d: rank-deficient
    JacobianCase(5, 20, "scaled"),
    JacobianCase(40, 100, "gaussian"),
    JacobianCase(40, 100, "scaled", seed=2),
    JacobianCase(40, 20, "wide", seed=3),
]
FULL_RANK_CASES = [case for case in CASES if case.full_rank]
# comparisons with scipy's SLSQP (slow for T = 40: those run under -m slow)
REFERENCE_CASES = [
    pytest.param(case, id=str(case), marks=[pytest.mark.slow] if case.num_tasks >= 40 else [])
    for case in CASES
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

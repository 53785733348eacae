"""Wall time of the T × T solvers behind MGDA, IMTL-G, Nash-MTL and CAGrad, and of the float64
Gramian they start from (pytest-benchmark).

Run with ``make bench``. The Gramians come from seeded Jacobians with conflicting tasks (each task
gradient minus 0.8 times the previous one), the regime where the solvers work hardest; T = 2, 3
and 40 are the benchmark settings of ``mtlx bench methods``.
"""

from __future__ import annotations

import pytest
import torch

from mtlx.methods.base import task_gramian
from mtlx.methods.imtl_g import imtl_g_weights
from mtlx.methods.solvers import cagrad_weights, min_norm_weights, nash_bargaining_weights

SOLVERS = {
    "mgda": min_norm_weights,
    "imtl-g": imtl_g_weights,
    "nash-mtl": nash_bargaining_weights,
    "cagrad": lambda gramian: cagrad_weights(gramian, 0.4),
}


def conflicting_jacobian(num_tasks: int, dim: int) -> torch.Tensor:
    jacobian = torch.randn(num_tasks, dim, generator=torch.Generator().manual_seed(0))
    jacobian[1:] -= 0.8 * jacobian[:-1].clone()
    return jacobian


@pytest.mark.parametrize("num_tasks", [2, 3, 40])
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_solver(benchmark, solver: str, num_tasks: int) -> None:
    gramian = task_gramian(conflicting_jacobian(num_tasks, 10 * num_tasks))
    weights = benchmark(SOLVERS[solver], gramian)
    assert torch.isfinite(weights).all()


GRAMIANS = {
    "float32": lambda jacobian: jacobian @ jacobian.T,
    "float64 (task_gramian)": task_gramian,
}


@pytest.mark.parametrize(
    ("num_tasks", "dim"), [(3, 24_943_296), (3, 1 << 22), (16, 1 << 20), (40, 1 << 18)]
)
@pytest.mark.parametrize("product", list(GRAMIANS))
def test_gramian(benchmark, product: str, num_tasks: int, dim: int) -> None:
    """G = JJᵀ of a float32 Jacobian on the CPU: in float32, and in float64 as the methods take it
    (converted in cache-sized blocks; 24,943,296 is SegNet's shared parameters)."""
    gramian = benchmark(GRAMIANS[product], conflicting_jacobian(num_tasks, dim))
    assert torch.isfinite(gramian).all()

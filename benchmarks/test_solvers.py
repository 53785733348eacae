"""Wall time of the T × T solvers behind MGDA, Nash-MTL and CAGrad (pytest-benchmark).

Run with ``make bench``. The Gramians come from seeded Jacobians with conflicting tasks (each task
gradient minus 0.8 times the previous one), the regime where the solvers work hardest; T = 2, 3
and 40 are the benchmark settings of ``mtlx bench methods``.
"""

from __future__ import annotations

import pytest
import torch

from mtlx.methods.solvers import cagrad_weights, min_norm_weights, nash_bargaining_weights

SOLVERS = {
    "mgda": min_norm_weights,
    "nash-mtl": lambda gramian: nash_bargaining_weights(gramian / gramian.norm()),
    "cagrad": lambda gramian: cagrad_weights(gramian, 0.4),
}


def conflicting_gramian(num_tasks: int, dim: int) -> torch.Tensor:
    jacobian = torch.randn(num_tasks, dim, generator=torch.Generator().manual_seed(0))
    jacobian[1:] -= 0.8 * jacobian[:-1].clone()
    return jacobian @ jacobian.T


@pytest.mark.parametrize("num_tasks", [2, 3, 40])
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_solver(benchmark, solver: str, num_tasks: int) -> None:
    gramian = conflicting_gramian(num_tasks, 10 * num_tasks)
    weights = benchmark(SOLVERS[solver], gramian)
    assert torch.isfinite(weights).all()

"""Nash-MTL: the bargaining condition G α = 1/α, norm clipping, and explicit state."""

from __future__ import annotations

import pytest
import torch

from mtlx.methods import build_method
from mtlx.methods.solvers import SolverError


def test_weights_satisfy_the_bargaining_condition(full_rank_jacobian: torch.Tensor) -> None:
    jacobian = full_rank_jacobian
    t = jacobian.shape[0]
    method = build_method("nash-mtl", t, max_norm=0.0)
    direction = method.aggregate(jacobian, torch.ones(t, dtype=torch.float64))
    alpha = method.task_weights
    gramian = jacobian @ jacobian.T
    normalized = gramian / torch.linalg.matrix_norm(gramian)  # the official normalisation
    assert (alpha > 0).all()
    torch.testing.assert_close(normalized @ alpha, 1 / alpha, rtol=1e-8, atol=0)
    # hence αₜ·gₜᵀd is the same for every task and ‖d‖² = T·‖G‖_F
    torch.testing.assert_close(
        direction @ direction, t * torch.linalg.matrix_norm(gramian), rtol=1e-8, atol=0
    )


def test_update_is_clipped_to_max_norm() -> None:
    jacobian = 5 * torch.randn(
        3, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    ones = torch.ones(3, dtype=torch.float64)
    free = build_method("nash-mtl", 3, max_norm=0.0).aggregate(jacobian, ones)
    clipped = build_method("nash-mtl", 3, max_norm=1.0).aggregate(jacobian, ones)
    assert float(free.norm()) > 1.0
    torch.testing.assert_close(clipped, free / free.norm())
    small = build_method("nash-mtl", 3, max_norm=1e6).aggregate(jacobian, ones)
    torch.testing.assert_close(small, free)


def test_weights_are_kept_between_updates_and_reset() -> None:
    generator = torch.Generator().manual_seed(1)
    first, second = torch.randn(2, 3, 8, generator=generator, dtype=torch.float64)
    ones = torch.ones(3, dtype=torch.float64)
    method = build_method("nash-mtl", 3, max_norm=0.0, update_weights_every=2)
    method.aggregate(first, ones)
    kept = method.bargaining_weights.clone()
    method.aggregate(second, ones)  # step 2: weights reused, not re-solved
    torch.testing.assert_close(method.task_weights, kept)
    method.aggregate(second, ones)  # step 3: re-solved on the new Gramian
    fresh = build_method("nash-mtl", 3, max_norm=0.0)
    fresh.aggregate(second, ones)
    torch.testing.assert_close(method.task_weights, fresh.task_weights)
    method.reset()
    assert method.bargaining_weights is None and method.steps == 0


def test_no_bargaining_solution_raises() -> None:
    jacobian = torch.tensor([[1.0, 2.0], [-1.0, -2.0]], dtype=torch.float64)
    with pytest.raises(SolverError):
        build_method("nash-mtl", 2).aggregate(jacobian, torch.ones(2, dtype=torch.float64))


def test_invalid_hyperparameters() -> None:
    with pytest.raises(ValueError, match=r"^max_norm must be non-negative, but got -1\.0\.$"):
        build_method("nash-mtl", 2, max_norm=-1.0)
    with pytest.raises(ValueError, match=r"^update_weights_every must be positive, but got 0\.$"):
        build_method("nash-mtl", 2, update_weights_every=0)

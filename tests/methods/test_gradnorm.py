"""GradNorm: weighted gradient norms pulled toward the mean norm times the relative rates."""

from __future__ import annotations

import pytest
import torch

from mtlx.methods import build_method


def test_first_step_is_equal_weighting_and_weights_keep_sum_t() -> None:
    jacobian = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    method = build_method("gradnorm", 2)
    direction = method.aggregate(jacobian, torch.tensor([1.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(direction, jacobian.sum(dim=0))
    torch.testing.assert_close(method.loss_weights.sum(), torch.tensor(2.0, dtype=torch.float64))


def test_weights_move_toward_equal_weighted_norms() -> None:
    # equal training rates (r = 1): the target is the mean weighted norm; the task with the larger
    # gradient loses weight, the smaller one gains
    jacobian = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    losses = torch.tensor([1.0, 1.0], dtype=torch.float64)
    method = build_method("gradnorm", 2, weight_lr=0.01)
    for _ in range(200):
        method.aggregate(jacobian, losses)
    weights = method.loss_weights
    weighted_norms = weights * jacobian.norm(dim=1)
    assert float(weights[1]) > 1.4  # toward w = (0.5, 1.5), where 3·w₁ = 1·w₂
    assert float((weighted_norms[0] - weighted_norms[1]).abs()) < 0.1
    torch.testing.assert_close(weights.sum(), torch.tensor(2.0, dtype=torch.float64))


def test_slower_task_gets_a_larger_target() -> None:
    # equal gradient norms; task 1's loss has not decreased (r₁ > r₀): its weight grows
    jacobian = torch.eye(2, dtype=torch.float64)
    method = build_method("gradnorm", 2)
    method.aggregate(jacobian, torch.tensor([1.0, 1.0], dtype=torch.float64))  # L(0)
    method.aggregate(jacobian, torch.tensor([0.5, 1.0], dtype=torch.float64))
    assert float(method.loss_weights[1]) > float(method.loss_weights[0])


def test_reset_and_validation() -> None:
    method = build_method("gradnorm", 2)
    method.aggregate(torch.eye(2), torch.ones(2))
    method.reset()
    assert method.loss_weights is None and method.initial_losses is None
    with pytest.raises(ValueError, match=r"^alpha must be non-negative, but got -1\.0\.$"):
        build_method("gradnorm", 2, alpha=-1.0)
    with pytest.raises(ValueError, match=r"^weight_lr must be positive, but got 0\.0\.$"):
        build_method("gradnorm", 2, weight_lr=0.0)

"""PCGrad: projections onto the normal planes of conflicting gradients (Yu et al., 2020)."""

from __future__ import annotations

import torch

from mtlx.methods import aggregate, build_method
from mtlx.methods.base import task_gramian
from mtlx.methods.pcgrad import pcgrad_coefficients, random_task_orders
from tests.methods.conftest import assert_direction_close


def pcgrad_in_parameter_space(jacobian: torch.Tensor, orders: torch.Tensor) -> torch.Tensor:
    """Algorithm 1 of the paper, literally, on the d-dimensional gradients."""
    projected = []
    for i in range(jacobian.shape[0]):
        running = jacobian[i].clone()
        for j in orders[i].tolist():
            dot = running @ jacobian[j]
            if dot < 0:
                running = running - dot / (jacobian[j] @ jacobian[j]) * jacobian[j]
        projected.append(running)
    return torch.stack(projected)


def test_matches_the_parameter_space_algorithm(jacobian: torch.Tensor) -> None:
    # on the float64 Gramian of the given (float32) Jacobian: float64 precision on that Jacobian
    torch.manual_seed(0)
    orders = random_task_orders(jacobian.shape[0], jacobian.device)
    coefficients = pcgrad_coefficients(task_gramian(jacobian), orders)
    expected = pcgrad_in_parameter_space(jacobian.double(), orders)
    scale = float(jacobian.double().norm(dim=1).max())
    torch.testing.assert_close(
        coefficients @ jacobian.double(), expected, rtol=0, atol=1e-10 * scale
    )
    # the method: the same orders from the same seed, the sum of the projected gradients
    torch.manual_seed(0)
    method = build_method("pcgrad", jacobian.shape[0])
    direction = method.aggregate(jacobian, torch.ones(jacobian.shape[0], dtype=jacobian.dtype))
    assert_direction_close(direction, expected.sum(dim=0), method.task_weights, jacobian)


def test_two_conflicting_gradients_end_orthogonal() -> None:
    jacobian = torch.tensor([[1.0, 2.0, 0.0], [-2.0, 0.5, 1.0]], dtype=torch.float64)
    assert jacobian[0] @ jacobian[1] < 0
    orders = random_task_orders(2, jacobian.device)
    projected = pcgrad_coefficients(jacobian @ jacobian.T, orders) @ jacobian
    # each projected gradient no longer conflicts with the task it was projected against
    torch.testing.assert_close(projected[0] @ jacobian[1], torch.tensor(0.0, dtype=torch.float64))
    torch.testing.assert_close(projected[1] @ jacobian[0], torch.tensor(0.0, dtype=torch.float64))


def test_every_projection_removes_its_conflict(jacobian: torch.Tensor) -> None:
    # after the k-th projection of g_i, g_iᴾᶜ no longer conflicts with the k-th task of its order
    t = jacobian.shape[0]
    gramian = task_gramian(jacobian)
    jacobian = jacobian.double()
    orders = random_task_orders(t, jacobian.device)
    for k in range(1, t + 1):
        partial = pcgrad_coefficients(gramian, orders[:, :k]) @ jacobian
        last = orders[:, k - 1]
        dots = (partial * jacobian[last]).sum(dim=1)
        assert (dots >= -1e-10 * float(gramian.diagonal().max())).all()


def test_no_conflict_gives_the_plain_sum() -> None:
    generator = torch.Generator().manual_seed(0)
    jacobian = torch.rand(4, 6, generator=generator, dtype=torch.float64)  # all positive
    assert (jacobian @ jacobian.T >= 0).all()
    torch.testing.assert_close(aggregate("pcgrad", jacobian), jacobian.sum(dim=0))
    method = build_method("pcgrad", 4)
    method.aggregate(jacobian, torch.ones(4, dtype=torch.float64))
    torch.testing.assert_close(method.task_weights, torch.ones(4, dtype=torch.float64))


def test_task_orders_are_random_each_step() -> None:
    # with three mutually conflicting gradients, the order changes the result
    jacobian = torch.tensor([[1.0, 0.0], [-0.6, 0.8], [-0.6, -0.8]], dtype=torch.float64)
    torch.manual_seed(0)
    results = {tuple(aggregate("pcgrad", jacobian).round(decimals=9).tolist()) for _ in range(30)}
    assert len(results) > 1

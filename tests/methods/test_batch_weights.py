"""``batch_weights``: many independent problems at once give each problem's own weights."""

from __future__ import annotations

import pytest
import torch

from mtlx.methods import METHODS, GramianWeighting, build_method

GRAMIAN_METHODS = [
    name for name in METHODS.names() if issubclass(METHODS.get(name), GramianWeighting)
]


def stacked_gramians(
    num_tasks: int, batch: int, dtype: torch.dtype, opposite: bool = True
) -> torch.Tensor:
    """A batch of Gramians of random, opposite, aligned and scaled task gradients."""
    generator = torch.Generator().manual_seed(0)
    jacobians = torch.randn(batch, num_tasks, 3, generator=generator, dtype=dtype)
    if opposite:  # the origin in the hull
        jacobians[1, 1] = -jacobians[1, 0]
    jacobians[2] += 4.0 * torch.randn(3, generator=generator, dtype=dtype)  # aligned
    jacobians[3] *= torch.logspace(-2, 2, num_tasks, dtype=dtype)[:, None]  # scaled
    return jacobians @ jacobians.mT


@pytest.mark.parametrize("name", GRAMIAN_METHODS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_two_task_batch_gives_every_problem_its_own_weights(name: str, dtype: torch.dtype) -> None:
    # Nash-MTL has no bargaining solution when the origin is in the hull (it raises)
    gramians = stacked_gramians(2, 12, dtype, opposite=name != "nash-mtl").reshape(3, 4, 2, 2)
    method = build_method(name, 2)
    torch.manual_seed(0)  # PCGrad draws orders; at T = 2 they cannot change the result
    batched = method.batch_weights(gramians)
    single = torch.stack([method.weights(g) for g in gramians.reshape(-1, 2, 2)])
    assert batched.shape == (3, 4, 2)
    assert batched.dtype == single.dtype
    torch.testing.assert_close(batched.reshape(-1, 2), single, rtol=1e-12, atol=0.0)


@pytest.mark.parametrize("name", ["mgda", "cagrad"])
def test_closed_form_batches_are_exactly_the_single_solves(name: str) -> None:
    gramians = stacked_gramians(2, 64, torch.float32)
    method = build_method(name, 2)
    single = torch.stack([method.weights(g) for g in gramians])
    assert torch.equal(method.batch_weights(gramians), single)


@pytest.mark.parametrize("name", ["mgda", "cagrad", "imtl-g"])
def test_three_task_batches_solve_each_problem(name: str) -> None:
    gramians = stacked_gramians(3, 5, torch.float64)
    method = build_method(name, 3)
    single = torch.stack([method.weights(g) for g in gramians])
    torch.testing.assert_close(method.batch_weights(gramians), single, rtol=1e-12, atol=1e-15)


def test_pcgrad_batch_draws_independent_orders_and_never_projects_aligned_gradients() -> None:
    generator = torch.Generator().manual_seed(1)
    common = 5.0 * torch.randn(4, generator=generator, dtype=torch.float64)
    jacobians = torch.randn(6, 3, 4, generator=generator, dtype=torch.float64) + common
    weights = build_method("pcgrad", 3).batch_weights(jacobians @ jacobians.mT)
    torch.testing.assert_close(weights, torch.ones(6, 3, dtype=torch.float64))

"""Nash-MTL: the bargaining condition αₜ(Gα)ₜ = 1 on the raw Gramian, the official clipping,
vanishing gradients, and explicit state."""

from __future__ import annotations

import math

import pytest
import torch

from mtlx.methods import aggregate, build_method
from mtlx.methods.solvers import NonFiniteInputError, NoSolutionError
from tests.methods.conftest import precision

ONES = torch.ones(3, dtype=torch.float64)


def test_weights_satisfy_the_bargaining_condition(full_rank_jacobian: torch.Tensor) -> None:
    t = full_rank_jacobian.shape[0]
    method = build_method("nash-mtl", t, max_norm=0.0)
    direction = method.aggregate(full_rank_jacobian, torch.ones(t, dtype=full_rank_jacobian.dtype))
    torch.testing.assert_close(direction, method.task_weights @ full_rank_jacobian)
    # on the raw Gramian of the Jacobian the method was given, in float64
    alpha = method.task_weights.double()
    jacobian = full_rank_jacobian.double()
    gramian = jacobian @ jacobian.T
    assert (alpha > 0).all()
    # αₜ(Gα)ₜ = 1, to the precision at which rounding the weights moves the products
    products = alpha * (gramian @ alpha)
    rounding_scale = alpha * (gramian.abs() @ alpha)
    assert ((products - 1).abs() <= precision(full_rank_jacobian) * rounding_scale).all()


@pytest.mark.parametrize("gradient_scale", [1e-3, 1.0, 1e3])
def test_update_length_is_sqrt_t_whatever_the_gradient_scale(gradient_scale: float) -> None:
    # Σₜ αₜ·gₜᵀd = ‖d‖² = T: the paper's solution does not grow or shrink with the gradients
    jacobian = gradient_scale * torch.randn(
        3, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    direction = aggregate("nash-mtl", jacobian, max_norm=0.0)
    assert float(direction.norm()) == pytest.approx(math.sqrt(3), rel=1e-9)


def test_update_is_clipped_as_the_official_code_clips_it() -> None:
    # the official trainer calls clip_grad_norm_(shared_parameters, max_norm) after backward
    jacobian = 0.05 * torch.randn(3, 20, generator=torch.Generator().manual_seed(0))
    free = aggregate("nash-mtl", jacobian, max_norm=0.0)
    for max_norm in (1.0, 0.5, 10.0):
        parameter = torch.zeros(20, requires_grad=True)
        parameter.grad = free.clone()
        torch.nn.utils.clip_grad_norm_([parameter], max_norm)
        torch.testing.assert_close(
            aggregate("nash-mtl", jacobian, max_norm=max_norm), parameter.grad
        )
    assert float(aggregate("nash-mtl", jacobian).norm()) == pytest.approx(1.0, rel=1e-5)


def test_weights_are_kept_between_updates_and_reset() -> None:
    generator = torch.Generator().manual_seed(1)
    first, second = torch.randn(2, 3, 8, generator=generator, dtype=torch.float64)
    method = build_method("nash-mtl", 3, max_norm=0.0, update_weights_every=2)
    method.aggregate(first, ONES)
    kept = method.bargaining_weights.clone()
    method.aggregate(second, ONES)  # step 2: weights reused, not re-solved
    torch.testing.assert_close(method.task_weights, kept)
    method.aggregate(second, ONES)  # step 3: re-solved on the new Gramian
    fresh = build_method("nash-mtl", 3, max_norm=0.0)
    fresh.aggregate(second, ONES)
    torch.testing.assert_close(method.task_weights, fresh.task_weights)
    method.reset()
    assert method.bargaining_weights is None and method.steps == 0


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_vanishing_gradients_give_a_counted_zero_step(dtype: torch.dtype) -> None:
    method = build_method("nash-mtl", 3)
    ones = torch.ones(3, dtype=dtype)
    direction = method.aggregate(torch.zeros(3, 7, dtype=dtype), ones)
    assert direction.dtype == dtype and not direction.any()
    assert not method.task_weights.any()
    assert method.events == {"zero_step": 1}
    # the next step with gradients bargains again
    jacobian = torch.randn(3, 7, generator=torch.Generator().manual_seed(2), dtype=dtype)
    assert float(method.aggregate(jacobian, ones).norm()) == pytest.approx(1.0, rel=1e-5)
    assert method.events == {"zero_step": 1}
    method.reset()
    assert not method.events


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([[1.0, 2.0], [-1.0, -2.0]], "non-negative combination"),  # opposite gradients
        ([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], "non-negative combination"),  # 0 in the hull
        ([[1.0, 2.0], [0.0, 0.0]], "gradient of task 1 is zero"),
    ],
)
def test_no_bargaining_solution_is_an_outcome_with_its_reason(rows, reason: str) -> None:
    jacobian = torch.tensor(rows)
    method = build_method("nash-mtl", len(rows))
    with pytest.raises(NoSolutionError, match=reason) as raised:
        method.aggregate(jacobian, torch.ones(len(rows)))
    assert "\n" not in str(raised.value)
    assert not method.events


def test_non_finite_gradients_are_reported_as_such() -> None:
    jacobian = torch.tensor([[1.0, float("nan")], [0.5, 1.0]])
    with pytest.raises(NonFiniteInputError, match="non-finite"):
        aggregate("nash-mtl", jacobian)


def test_invalid_hyperparameters() -> None:
    with pytest.raises(ValueError, match=r"^max_norm must be non-negative, but got -1\.0\.$"):
        build_method("nash-mtl", 2, max_norm=-1.0)
    with pytest.raises(ValueError, match=r"^update_weights_every must be positive, but got 0\.$"):
        build_method("nash-mtl", 2, update_weights_every=0)

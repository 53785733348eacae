"""MGDA and MGDA-UB: the update is the minimum-norm point of the convex hull of the gradients."""

from __future__ import annotations

import pytest
import torch

from mtlx.methods import GradientSource, aggregate, build_method
from mtlx.methods.solvers import min_norm_weights
from tests.methods.conftest import precision


def test_direction_is_the_min_norm_point(jacobian: torch.Tensor) -> None:
    method = build_method("mgda", jacobian.shape[0])
    direction = method.aggregate(jacobian, torch.ones(jacobian.shape[0], dtype=jacobian.dtype))
    weights = method.task_weights
    assert weights is not None
    torch.testing.assert_close(direction, weights @ jacobian)
    # KKT of min ‖d‖² over the hull: gᵢᵀd ≥ ‖d‖² for all i, with equality on the support — in
    # float64 on the Jacobian the method was given
    j = jacobian.double()
    d = weights.double() @ j
    projections = j @ d
    norm2 = d @ d
    tolerance = precision(jacobian) * float((j**2).sum(dim=1).max())
    assert (projections >= norm2 - tolerance).all()
    assert (projections[weights > 1e-9] <= norm2 + tolerance).all()


def test_common_descent_direction_decreases_every_task(jacobian: torch.Tensor) -> None:
    method = build_method("mgda", jacobian.shape[0])
    method.aggregate(jacobian, torch.ones(jacobian.shape[0], dtype=jacobian.dtype))
    j = jacobian.double()
    d = method.task_weights.double() @ j
    # a min-norm point clear of the origin (beyond the KKT test's tolerance) decreases every task
    if float(d @ d) > 2 * precision(jacobian) * float((j**2).sum(dim=1).max()):
        assert (j @ d > 0).all()


def test_two_tasks_closed_form() -> None:
    jacobian = torch.tensor([[3.0, 1.0, 0.0], [-1.0, 2.0, 1.0]], dtype=torch.float64)
    g1, g2 = jacobian
    gamma = (g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2))
    torch.testing.assert_close(aggregate("mgda", jacobian), gamma * g1 + (1 - gamma) * g2)


def test_a_gradient_inside_the_hull_of_others_is_picked_alone() -> None:
    # g₁ is shorter than anything else in the hull and g₁ᵀgᵢ ≥ ‖g₁‖²: d = g₁
    jacobian = torch.tensor([[1.0, 0.0], [2.0, 3.0], [2.0, -3.0]], dtype=torch.float64)
    torch.testing.assert_close(aggregate("mgda", jacobian), jacobian[0])


@pytest.mark.parametrize("normalization", ["l2", "loss", "loss+"])
def test_normalized_weights_are_applied_to_the_raw_gradients(normalization: str) -> None:
    generator = torch.Generator().manual_seed(3)
    jacobian = torch.randn(3, 8, generator=generator, dtype=torch.float64)
    jacobian = jacobian * torch.tensor([[0.1], [1.0], [10.0]], dtype=torch.float64)
    losses = torch.tensor([0.5, 2.0, 4.0], dtype=torch.float64)
    norms = jacobian.norm(dim=1)
    normalizers = {"l2": norms, "loss": losses, "loss+": losses * norms}[normalization]
    normalized = jacobian / normalizers[:, None]
    expected_weights = min_norm_weights(normalized @ normalized.T)
    method = build_method("mgda", 3, normalization=normalization)
    direction = method.aggregate(jacobian, losses)
    torch.testing.assert_close(method.task_weights, expected_weights)
    torch.testing.assert_close(direction, expected_weights @ jacobian)


def test_l2_normalization_makes_the_weights_scale_invariant() -> None:
    generator = torch.Generator().manual_seed(5)
    jacobian = torch.randn(3, 8, generator=generator, dtype=torch.float64)
    scales = torch.tensor([[0.01], [1.0], [100.0]], dtype=torch.float64)
    plain = build_method("mgda", 3, normalization="l2")
    scaled = build_method("mgda", 3, normalization="l2")
    ones = torch.ones(3, dtype=torch.float64)
    plain.aggregate(jacobian, ones)
    scaled.aggregate(jacobian * scales, ones)
    # the normalised problem is identical, so are the weights
    torch.testing.assert_close(scaled.task_weights, plain.task_weights)


def test_mgda_ub_runs_the_same_solver_on_the_representation() -> None:
    method = build_method("mgda-ub", 2)
    assert method.source is GradientSource.REPRESENTATION
    assert build_method("mgda", 2).source is GradientSource.SHARED_PARAMETERS
    jacobian = torch.randn(2, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(aggregate("mgda-ub", jacobian), aggregate("mgda", jacobian))


def test_unknown_normalization_is_refused() -> None:
    with pytest.raises(ValueError, match="normalization must be one of none, l2, loss, loss"):
        build_method("mgda", 2, normalization="max")

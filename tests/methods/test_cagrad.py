"""CAGrad: the update maximises the worst task's improvement in a ball around the mean gradient."""

from __future__ import annotations

import pytest
import torch

from mtlx.methods import aggregate, build_method
from mtlx.methods.solvers import cagrad_objective
from tests.methods.conftest import precision


@pytest.mark.parametrize("c", [0.4, 1.0])
def test_update_solves_the_primal_with_zero_duality_gap(jacobian: torch.Tensor, c: float) -> None:
    t = jacobian.shape[0]
    method = build_method("cagrad", t, c=c, rescale="none")
    update = method.aggregate(jacobian, torch.ones(t, dtype=jacobian.dtype))
    torch.testing.assert_close(update, method.task_weights @ jacobian)
    # the property, in float64 on the Jacobian the method was given (float32 included)
    tolerance = precision(jacobian)
    jacobian = jacobian.double()
    gramian = jacobian @ jacobian.T
    direction = method.task_weights.double() @ jacobian / t  # the weights are T·d's
    mean = jacobian.mean(dim=0)
    scale = float(gramian.diagonal().max())
    # primal feasibility: ‖d − g₀‖ ≤ c‖g₀‖
    assert float((direction - mean).norm()) <= c * float(mean.norm()) + tolerance * scale**0.5
    # weak duality: minₜ gₜᵀd ≤ F(w) for every w of the simplex; equality at w* certifies that d
    # maximises the primal (and w* minimises the dual)
    worst = float((jacobian @ direction).min())
    torch.manual_seed(0)
    simplex_points = torch.cat(
        [
            torch.eye(t, dtype=torch.float64),
            torch.distributions.Dirichlet(torch.ones(t, dtype=torch.float64)).sample((64,)),
        ]
    )
    smallest = min(cagrad_objective(gramian, w, c) for w in simplex_points)
    assert worst <= smallest + tolerance * scale
    # the weights are 1 + T·λ·w* (λ = c‖g₀‖/‖g_w*‖), which gives w* back where λ > 0
    excess = method.task_weights.double() - 1
    if float(excess.sum()) > 1e-9:
        optimum = float(cagrad_objective(gramian, excess / excess.sum(), c))
        assert worst == pytest.approx(optimum, abs=tolerance * scale)
    else:  # λ = 0: g₀ = 0 or g_w* = 0, and d = g₀
        torch.testing.assert_close(direction, mean)


def test_update_beats_random_points_of_the_ball() -> None:
    generator = torch.Generator().manual_seed(0)
    jacobian = torch.randn(3, 6, generator=generator, dtype=torch.float64)
    jacobian[1] -= 1.2 * jacobian[0]
    c = 0.4
    direction = aggregate("cagrad", jacobian, c=c, rescale="none") / 3
    mean = jacobian.mean(dim=0)
    unit = torch.randn(4000, 6, generator=generator, dtype=torch.float64)
    unit = unit / unit.norm(dim=1, keepdim=True)
    radius = torch.rand(4000, 1, generator=generator, dtype=torch.float64)
    candidates = mean + c * mean.norm() * radius * unit
    assert float((jacobian @ direction).min()) >= float(
        (candidates @ jacobian.T).min(dim=1).values.max()
    )


def test_c_zero_is_equal_weighting() -> None:
    jacobian = torch.randn(3, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(aggregate("cagrad", jacobian, c=0.0), jacobian.sum(dim=0))


@pytest.mark.parametrize(
    ("rescale", "divisor"), [("1+c^2", 1 + 0.4**2), ("1+c", 1.4), ("none", 1.0)]
)
def test_rescale_options(rescale: str, divisor: float) -> None:
    jacobian = torch.randn(3, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    plain = aggregate("cagrad", jacobian, rescale="none")
    torch.testing.assert_close(aggregate("cagrad", jacobian, rescale=rescale), plain / divisor)


def test_opposite_gradients_give_the_mean() -> None:
    jacobian = torch.tensor([[1.0, 2.0], [-1.0, -2.0]], dtype=torch.float64)
    torch.testing.assert_close(aggregate("cagrad", jacobian), torch.zeros(2, dtype=torch.float64))


def test_invalid_hyperparameters() -> None:
    with pytest.raises(ValueError, match=r"^c must be non-negative, but got -1\.0\.$"):
        build_method("cagrad", 2, c=-1.0)
    with pytest.raises(ValueError, match="rescale must be one of"):
        build_method("cagrad", 2, rescale="mean")

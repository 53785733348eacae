"""The solvers in their own right: optimality conditions, references, and loud failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from mtlx.methods.base import task_gramian
from mtlx.methods.solvers import (
    NonFiniteInputError,
    NoSolutionError,
    SolverError,
    cagrad_objective,
    cagrad_weights,
    min_norm_residual,
    min_norm_two,
    min_norm_weights,
    nash_bargaining_residual,
    nash_bargaining_weights,
)


def slsqp_on_simplex(objective, gradient, num_tasks: int) -> np.ndarray:
    """A reference minimiser over the simplex (scipy's SLSQP, best of a few starts)."""
    best = None
    starts = 3 if num_tasks <= 5 else 0
    for start in [np.full(num_tasks, 1 / num_tasks), *np.eye(num_tasks)[:starts]]:
        result = minimize(
            objective,
            start,
            jac=gradient,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * num_tasks,
            constraints=({"type": "eq", "fun": lambda x: x.sum() - 1.0},),
            options={"ftol": 1e-15, "maxiter": 2000},
        )
        if best is None or result.fun < best.fun:
            best = result
    return best.x


# ---------------------------------------------------------------------------- min-norm (MGDA)


def test_two_task_closed_form_matches_a_line_search() -> None:
    generator = torch.Generator().manual_seed(0)
    gammas = torch.linspace(0, 1, 20001, dtype=torch.float64)
    for _ in range(8):
        g1, g2 = torch.randn(2, 4, generator=generator, dtype=torch.float64)
        gamma = min_norm_two(g1 @ g1, g1 @ g2, g2 @ g2)
        norms = ((gammas[:, None] * g1 + (1 - gammas[:, None]) * g2) ** 2).sum(dim=1)
        assert abs(float(gamma) - float(gammas[norms.argmin()])) < 1e-4


def test_two_task_closed_form_edges_and_equal_vectors() -> None:
    g = torch.tensor([1.0, 0.0], dtype=torch.float64)
    # g₂ = 2·g₁: the shorter g₁ is the min-norm point (γ = 1)
    assert float(min_norm_two(g @ g, 2 * g @ g, 4 * g @ g)) == 1.0
    assert float(min_norm_two(4 * g @ g, 2 * g @ g, g @ g)) == 0.0
    assert float(min_norm_two(g @ g, g @ g, g @ g)) == 0.5


def test_min_norm_weights_satisfy_kkt(jacobian: torch.Tensor) -> None:
    # the float64 Gramian of a float32 Jacobian is exact: its solution is to float64 precision
    gramian = task_gramian(jacobian)
    jacobian = jacobian.double()
    weights = min_norm_weights(gramian)
    assert (weights >= 0).all()
    torch.testing.assert_close(weights.sum(), torch.tensor(1.0, dtype=torch.float64))
    direction = weights @ jacobian
    projections = jacobian @ direction
    norm2 = direction @ direction
    tolerance = 1e-8 * float(gramian.diagonal().max())
    assert (projections >= norm2 - tolerance).all()
    support = weights > 1e-9
    assert (projections[support] <= norm2 + tolerance).all()
    assert float(min_norm_residual(gramian, weights)) <= 1e-8


def test_min_norm_weights_match_a_qp_reference(reference_jacobian: torch.Tensor) -> None:
    jacobian = reference_jacobian
    gramian = jacobian @ jacobian.T
    scale = float(gramian.diagonal().max())
    matrix = (gramian / scale).numpy()
    reference = slsqp_on_simplex(lambda x: x @ matrix @ x, lambda x: 2 * matrix @ x, len(matrix))
    ours = min_norm_weights(gramian).numpy()
    ours_value, reference_value = ours @ matrix @ ours, reference @ matrix @ reference
    assert ours_value <= reference_value + 1e-12
    # for the min-norm point d* and any d of the hull, ‖d − d*‖² ≤ ‖d‖² − ‖d*‖²
    gap = (ours - reference) @ matrix @ (ours - reference)
    assert gap <= reference_value - ours_value + 1e-12


def test_min_norm_of_two_tasks_is_the_closed_form() -> None:
    generator = torch.Generator().manual_seed(4)
    for _ in range(10):
        jacobian = torch.randn(2, 6, generator=generator, dtype=torch.float64)
        g1, g2 = jacobian
        gamma = ((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2))).clamp(0, 1)
        weights = min_norm_weights(jacobian @ jacobian.T)
        torch.testing.assert_close(weights, torch.stack([gamma, 1 - gamma]))


def test_min_norm_with_the_origin_in_the_hull_is_zero() -> None:
    jacobian = torch.tensor([[1.0, 0.0], [-1.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    weights = min_norm_weights(jacobian @ jacobian.T)
    torch.testing.assert_close(weights, torch.full((3,), 1 / 3, dtype=torch.float64))
    assert float((weights @ jacobian).norm()) < 1e-12


def test_min_norm_raises_when_the_budget_is_spent() -> None:
    jacobian = torch.randn(40, 100, generator=torch.Generator().manual_seed(0))
    with pytest.raises(SolverError, match="min-norm solver"):
        min_norm_weights(jacobian @ jacobian.T, max_iterations=1)


def test_min_norm_works_in_float32_and_returns_the_input_dtype() -> None:
    jacobian = torch.randn(4, 30, generator=torch.Generator().manual_seed(1))
    weights = min_norm_weights(jacobian @ jacobian.T)
    assert weights.dtype == torch.float32
    reference = min_norm_weights(jacobian.double() @ jacobian.double().T)
    torch.testing.assert_close(weights.double(), reference, atol=1e-5, rtol=0)


# ----------------------------------------------------------------------------- Nash bargaining


def test_nash_bargaining_solves_g_alpha_equals_inverse_alpha(
    full_rank_jacobian: torch.Tensor,
) -> None:
    gramian = task_gramian(full_rank_jacobian)
    alpha = nash_bargaining_weights(gramian)
    assert (alpha > 0).all()
    torch.testing.assert_close(alpha * (gramian @ alpha), torch.ones_like(alpha), rtol=0, atol=1e-8)
    assert float(nash_bargaining_residual(gramian, alpha)) <= 1e-9


def test_nash_bargaining_is_unique_whatever_the_warm_start() -> None:
    jacobian = torch.randn(5, 12, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    gramian = jacobian @ jacobian.T
    cold = nash_bargaining_weights(gramian)
    warm = nash_bargaining_weights(gramian, initial=torch.full((5,), 7.0))
    torch.testing.assert_close(cold, warm)


@pytest.mark.parametrize(
    "rows",
    [
        [[1.0, 2.0], [-1.0, -2.0]],  # opposite gradients
        [[1.0, 2.0], [0.0, 0.0]],  # a vanishing gradient
        [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]],  # the origin inside the hull
    ],
)
def test_nash_bargaining_raises_where_no_solution_exists(rows: list[list[float]]) -> None:
    jacobian = torch.tensor(rows, dtype=torch.float64)
    with pytest.raises(NoSolutionError, match="Nash-MTL"):
        nash_bargaining_weights(jacobian @ jacobian.T)


def test_nash_bargaining_solves_gradients_near_the_pareto_stationary_set() -> None:
    # opposite gradients turned by 10⁻⁴ rad: a solution exists (with large weights) and is found
    jacobian = torch.tensor([[1.0, 0.0], [-1.0, 1e-4]], dtype=torch.float64)
    gramian = jacobian @ jacobian.T
    alpha = nash_bargaining_weights(gramian)
    assert float(alpha.min()) > 1e3  # (Gα)ₜ cancels: float64 resolves αₜ(Gα)ₜ to about 1e-8
    assert float(nash_bargaining_residual(gramian, alpha)) <= 1e-6


def test_nash_bargaining_answers_non_finite_gramians_as_divergence() -> None:
    gramian = torch.tensor([[1.0, float("inf")], [float("inf"), 1.0]], dtype=torch.float64)
    with pytest.raises(NonFiniteInputError):
        nash_bargaining_weights(gramian)
    with pytest.raises(NonFiniteInputError):
        min_norm_weights(gramian)
    with pytest.raises(NonFiniteInputError):
        cagrad_weights(gramian, 0.4)


# ------------------------------------------------------------------------------------- CAGrad


@pytest.mark.parametrize("c", [0.1, 0.4, 1.0])
def test_cagrad_weights_minimise_the_dual(reference_jacobian: torch.Tensor, c: float) -> None:
    gramian = reference_jacobian @ reference_jacobian.T
    scaled = gramian / gramian.diagonal().max()
    matrix = scaled.numpy()
    t = len(matrix)
    mean = np.full(t, 1 / t)
    radius = c * np.sqrt(mean @ matrix @ mean)

    def dual(x: np.ndarray) -> float:
        return float(x @ matrix @ mean + radius * np.sqrt(max(x @ matrix @ x, 0.0)))

    def dual_gradient(x: np.ndarray) -> np.ndarray:
        return matrix @ mean + radius * matrix @ x / np.sqrt(max(x @ matrix @ x, 1e-30))

    reference = slsqp_on_simplex(dual, dual_gradient, t)
    ours = cagrad_weights(gramian, c)
    assert (ours >= 0).all()
    torch.testing.assert_close(ours.sum(), torch.tensor(1.0, dtype=torch.float64))
    value = float(cagrad_objective(scaled, ours, c))
    assert value <= dual(reference) + 1e-9
    assert value == pytest.approx(dual(reference), abs=1e-7)


@pytest.mark.parametrize("c", [0.0, 0.4, 2.0])
def test_cagrad_two_task_closed_form_matches_a_grid_search(c: float) -> None:
    generator = torch.Generator().manual_seed(8)
    gammas = torch.linspace(0, 1, 200001, dtype=torch.float64)
    pairs = [torch.randn(2, 3, generator=generator, dtype=torch.float64) for _ in range(12)]
    base = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    pairs += [
        torch.stack([base, 3 * base]),  # parallel, different norms
        torch.stack([base, -base]),  # opposite
        torch.stack([base, base]),  # equal
        torch.stack([base, base.flip(0)]),  # equal norms (k = 0)
    ]
    grid = torch.stack([gammas, 1 - gammas], dim=1)
    for jacobian in pairs:
        gramian = jacobian @ jacobian.T
        mean = torch.full((2,), 0.5, dtype=torch.float64)
        radius = c * torch.sqrt(mean @ gramian @ mean)
        values = (
            grid @ gramian @ mean + radius * ((grid @ gramian) * grid).sum(1).clamp_min(0).sqrt()
        )
        weights = cagrad_weights(gramian, c)
        assert float(cagrad_objective(gramian, weights, c)) <= float(values.min()) + 1e-12


def test_cagrad_weights_accept_a_zero_radius() -> None:
    jacobian = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)  # g₀ = 0
    weights = cagrad_weights(jacobian @ jacobian.T, 0.4)
    assert torch.isfinite(weights).all()
    torch.testing.assert_close(weights.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_cagrad_raises_when_the_centering_does_not_converge() -> None:
    jacobian = torch.randn(40, 100, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(SolverError, match="CAGrad solver"):
        cagrad_weights(jacobian @ jacobian.T, 0.4, newton_iterations=1)

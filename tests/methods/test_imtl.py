"""IMTL-G, IMTL-L and their hybrid IMTL (Liu et al., ICLR 2021)."""

from __future__ import annotations

import torch
from torch import nn

from mtlx.methods import aggregate, build_method
from mtlx.methods.base import task_gramian
from mtlx.methods.imtl_g import imtl_g_weights
from tests.methods.conftest import precision


def unit_projections(jacobian: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """uₜᵀd for d = Jᵀα, in float64 on the Jacobian the method was given."""
    j = jacobian.double()
    return j @ (weights.double() @ j) / j.norm(dim=1)


def imtl_g_state(jacobian: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(direction, weights) of one IMTL-G step."""
    t = jacobian.shape[0]
    method = build_method("imtl-g", t)
    direction = method.aggregate(jacobian, torch.ones(t, dtype=jacobian.dtype))
    assert method.task_weights is not None
    return direction, method.task_weights


def test_equal_projections_on_every_unit_gradient(full_rank_jacobian: torch.Tensor) -> None:
    # float32 included: norms over four orders, gradients 10⁻³ from dependent or opposite, T = 40
    _, weights = imtl_g_state(full_rank_jacobian)
    projections = unit_projections(full_rank_jacobian, weights)
    # rounding the weights to the Jacobian's dtype moves d by about ε·Σ|αₜ|‖gₜ‖
    scale = weights.double().abs() @ full_rank_jacobian.double().norm(dim=1)
    slack = precision(full_rank_jacobian) * (projections.abs().max() + 1e-2 * scale)
    assert float((projections - projections.mean()).abs().max()) <= float(slack)


def test_weights_sum_to_one_and_reproduce_the_direction(full_rank_jacobian: torch.Tensor) -> None:
    direction, weights = imtl_g_state(full_rank_jacobian)
    assert weights.dtype == direction.dtype == full_rank_jacobian.dtype
    assert abs(float(weights.double().sum()) - 1.0) <= precision(full_rank_jacobian)
    torch.testing.assert_close(direction, weights @ full_rank_jacobian)


def test_float32_norms_three_orders_apart() -> None:
    # λmin/λmax of this Gramian is 1e-8, below T·ε of float32: the weights must still be the
    # paper's, α ∝ (1/‖g₁‖, 1/‖g₂‖) here, as cos(g₁, g₂) = −0.995 makes C⁻¹1 ∝ (1, 1)
    jacobian = torch.tensor([[1000.0, 0.0], [-1.0, 0.1]])
    direction, weights = imtl_g_state(jacobian)
    inverse_norms = 1 / jacobian.double().norm(dim=1)
    expected = inverse_norms / inverse_norms.sum()
    torch.testing.assert_close(weights.double(), expected, rtol=1e-6, atol=0)
    expected_direction = (expected @ jacobian.double()).float()
    torch.testing.assert_close(direction, expected_direction, rtol=1e-5, atol=1e-6)
    projections = unit_projections(jacobian, weights)
    torch.testing.assert_close(projections[0], projections[1], rtol=1e-4, atol=0)


def test_exactly_opposite_gradients_give_a_zero_update() -> None:
    # equal projections on u and −u force d = 0; the paper's closed form gives α = (2/3, 1/3)
    for dtype in (torch.float64, torch.float32):
        jacobian = torch.tensor([[1.0, 2.0], [-2.0, -4.0]], dtype=dtype)
        direction, weights = imtl_g_state(jacobian)
        torch.testing.assert_close(direction, torch.zeros(2, dtype=dtype), rtol=0, atol=1e-6)
        torch.testing.assert_close(weights, torch.tensor([2 / 3, 1 / 3], dtype=dtype))


def test_nearly_opposite_gradients_give_a_nearly_zero_update() -> None:
    # turned by δ = 10⁻⁸: the exact answer is d ≈ (δ/3)·e⊥, continuous in δ
    jacobian = torch.tensor([[1.0, 2.0], [-2.0, -4.0 + 1e-8]], dtype=torch.float64)
    direction, weights = imtl_g_state(jacobian)
    assert float(direction.norm()) < 1e-8
    torch.testing.assert_close(weights, torch.tensor([2 / 3, 1 / 3], dtype=torch.float64))


def test_a_zero_gradient_gets_no_weight() -> None:
    jacobian = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]])
    _, weights = imtl_g_state(jacobian)
    assert float(weights[1]) == 0.0
    projections = unit_projections(jacobian[[0, 2]], weights[[0, 2]])
    torch.testing.assert_close(projections[0], projections[1])
    torch.testing.assert_close(weights.sum(), torch.tensor(1.0))


def test_matches_the_papers_closed_form() -> None:
    # α₂..T = g₁Uᵀ(DUᵀ)⁻¹, α₁ = 1 − Σα₂..T with Dₜ = g₁ − gₜ, Uₜ = u₁ − uₜ (paper, eq. (5))
    jacobian = torch.randn(4, 9, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    units = jacobian / jacobian.norm(dim=1, keepdim=True)
    differences = jacobian[0] - jacobian[1:]
    unit_differences = units[0] - units[1:]
    tail = jacobian[0] @ unit_differences.T @ torch.linalg.inv(differences @ unit_differences.T)
    paper = torch.cat([(1 - tail.sum()).reshape(1), tail])
    torch.testing.assert_close(imtl_g_weights(task_gramian(jacobian)), paper)


def test_direction_does_not_depend_on_gradient_scales() -> None:
    jacobian = torch.randn(3, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    scaled = jacobian * torch.tensor([[0.01], [1.0], [50.0]], dtype=torch.float64)
    plain_direction = aggregate("imtl-g", jacobian)
    scaled_direction = aggregate("imtl-g", scaled)
    cosine = plain_direction @ scaled_direction / (plain_direction.norm() * scaled_direction.norm())
    torch.testing.assert_close(cosine, torch.tensor(1.0, dtype=torch.float64))


def test_imtl_l_objective_and_its_optimum() -> None:
    method = build_method("imtl-l", 2)
    losses = torch.tensor([0.25, 8.0])
    objective = method.combine(losses)
    torch.testing.assert_close(objective, losses.sum())  # s = 0
    (gradient,) = torch.autograd.grad(objective, method.parameters())
    torch.testing.assert_close(gradient, losses - 1)  # ∂/∂s (e^s L − s) = e^s L − 1
    # minimising over s alone brings every scaled loss to 1: e^s = 1/L
    optimizer = torch.optim.SGD(method.parameters(), lr=0.1)
    for _ in range(2000):
        optimizer.zero_grad()
        method.combine(losses).backward()
        optimizer.step()
    torch.testing.assert_close(method.task_weights * losses, torch.ones(2), rtol=1e-4, atol=1e-4)


def test_imtl_hybrid_scales_the_losses_and_balances_the_shared_gradient() -> None:
    method = build_method("imtl", 2)
    (log_scales,) = method.parameters()
    assert isinstance(log_scales, nn.Parameter)
    with torch.no_grad():
        log_scales.copy_(torch.tensor([0.5, -1.0]))
    losses = torch.tensor([2.0, 3.0])
    expected = torch.exp(log_scales) * losses - log_scales
    transformed = torch.stack([method.transform_loss(t, loss) for t, loss in enumerate(losses)])
    torch.testing.assert_close(transformed, expected)
    jacobian = torch.randn(2, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(method.aggregate(jacobian, losses), aggregate("imtl-g", jacobian))
    method.reset()
    torch.testing.assert_close(log_scales.detach(), torch.zeros(2))


def test_gradients_without_an_equal_projection_direction_give_zero_weights() -> None:
    # C invertible with wᵀC⁻¹1 = 0 (wₜ = 1/‖gₜ‖): Gα ∝ n forces Σα = 0, so no α with Σα = 1
    # exists; nearby, the weights are the paper's, and huge
    units = torch.randn(3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    units = units / units.norm(dim=1, keepdim=True)
    beta = torch.linalg.solve(units @ units.T, torch.ones(3, dtype=torch.float64))
    norms = torch.tensor([1.0, 1.0, float(-beta[2] / (beta[0] + beta[1]))], dtype=torch.float64)
    assert float(norms[2]) > 0 and abs(float((beta / norms).sum())) < 1e-12
    jacobian = units * norms[:, None]
    torch.testing.assert_close(imtl_g_weights(task_gramian(jacobian)), torch.zeros(3).double())
    jacobian[2] *= 1.001
    weights = imtl_g_weights(task_gramian(jacobian))
    assert float(weights.abs().max()) > 100
    projections = unit_projections(jacobian, weights)
    torch.testing.assert_close(projections, projections.mean().expand(3), rtol=1e-6, atol=0)

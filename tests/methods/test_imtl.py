"""IMTL-G, IMTL-L and their hybrid IMTL (Liu et al., ICLR 2021)."""

from __future__ import annotations

import torch
from torch import nn

from mtlx.methods import aggregate, build_method
from mtlx.methods.imtl_g import imtl_g_weights


def test_equal_projections_on_every_unit_gradient(full_rank_jacobian: torch.Tensor) -> None:
    jacobian = full_rank_jacobian
    direction = aggregate("imtl-g", jacobian)
    units = jacobian / jacobian.norm(dim=1, keepdim=True)
    projections = units @ direction
    torch.testing.assert_close(
        projections, projections[0].expand_as(projections), rtol=1e-7, atol=1e-10
    )


def test_weights_sum_to_one_and_reproduce_the_direction(full_rank_jacobian: torch.Tensor) -> None:
    method = build_method("imtl-g", full_rank_jacobian.shape[0])
    losses = torch.ones(full_rank_jacobian.shape[0], dtype=torch.float64)
    direction = method.aggregate(full_rank_jacobian, losses)
    assert method.task_weights is not None
    torch.testing.assert_close(method.task_weights.sum(), torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(direction, method.task_weights @ full_rank_jacobian)


def test_matches_the_papers_closed_form() -> None:
    # α₂..T = g₁Uᵀ(DUᵀ)⁻¹, α₁ = 1 − Σα₂..T with Dₜ = g₁ − gₜ, Uₜ = u₁ − uₜ (paper, eq. (5))
    jacobian = torch.randn(4, 9, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    units = jacobian / jacobian.norm(dim=1, keepdim=True)
    differences = jacobian[0] - jacobian[1:]
    unit_differences = units[0] - units[1:]
    tail = jacobian[0] @ unit_differences.T @ torch.linalg.inv(differences @ unit_differences.T)
    paper = torch.cat([(1 - tail.sum()).reshape(1), tail])
    torch.testing.assert_close(imtl_g_weights(jacobian @ jacobian.T), paper)


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

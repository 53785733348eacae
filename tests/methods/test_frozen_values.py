"""Frozen outputs on the tiny Jacobian g₁ = (1, 0, 0), g₂ = (−1, 1, 0), derived by hand.

Gramian G = [[1, −1], [−1, 2]]: ‖g₁‖ = 1, ‖g₂‖ = √2, g₁ᵀg₂ = −1 (the tasks conflict).
"""

from __future__ import annotations

import math

import pytest
import torch

from mtlx.methods import aggregate, build_method

JACOBIAN = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 1.0, 0.0]], dtype=torch.float64)
ONES = torch.ones(2, dtype=torch.float64)
SQRT2 = math.sqrt(2.0)


def weights_and_direction(name: str, **hyperparameters: object) -> tuple[list, list]:
    method = build_method(name, 2, **hyperparameters)
    direction = method.aggregate(JACOBIAN, ONES)
    return method.task_weights.tolist(), direction.tolist()


def test_mgda() -> None:
    # γ = (g₂ − g₁)ᵀg₂ / ‖g₁ − g₂‖² = (−2, 1, 0)·(−1, 1, 0) / ‖(2, −1, 0)‖² = 3/5
    # d = 3/5·g₁ + 2/5·g₂ = (1/5, 2/5, 0); check: g₁ᵀd = g₂ᵀd = ‖d‖² = 1/5
    weights, direction = weights_and_direction("mgda")
    assert weights == pytest.approx([0.6, 0.4])
    assert direction == pytest.approx([0.2, 0.4, 0.0])


def test_imtl_g() -> None:
    # α ∝ G⁻¹n with G⁻¹ = [[2, 1], [1, 1]], n = (1, √2): G⁻¹n = (2 + √2, 1 + √2), sum (1 + √2)²
    # α = (2 − √2, √2 − 1); d = (3 − 2√2, √2 − 1, 0), projections dᵀg₁ = dᵀg₂/√2 = 3 − 2√2
    weights, direction = weights_and_direction("imtl-g")
    assert weights == pytest.approx([2 - SQRT2, SQRT2 - 1])
    assert direction == pytest.approx([3 - 2 * SQRT2, SQRT2 - 1, 0.0])


def test_pcgrad() -> None:
    # g₁ᴾᶜ = g₁ − (−1/2)·g₂ = (½, ½, 0); g₂ᴾᶜ = g₂ − (−1/1)·g₁ = (0, 1, 0) (order is irrelevant
    # for T = 2); d = (½, 3/2, 0) = 2·g₁ + 3/2·g₂
    weights, direction = weights_and_direction("pcgrad")
    assert weights == pytest.approx([2.0, 1.5])
    assert direction == pytest.approx([0.5, 1.5, 0.0])


def test_aligned_mtl() -> None:
    # eig(G) = (3 ± √5)/2, σ_min = √((3 − √5)/2) = (√5 − 1)/2; G^{-1/2} = √(G⁻¹) and for a 2×2 SPD
    # M, √M = (M + √det M·I)/√(tr M + 2√det M) = ([[2, 1], [1, 1]] + I)/√5
    # weights = σ_min·G^{-1/2}·1 = (√5 − 1)/(2√5)·(4, 3) = (5 − √5)/10·(4, 3)
    factor = (5 - math.sqrt(5)) / 10
    weights, direction = weights_and_direction("aligned-mtl")
    assert weights == pytest.approx([4 * factor, 3 * factor])
    assert direction == pytest.approx([factor, 3 * factor, 0.0])


def test_cagrad_without_conflict_radius_and_ew() -> None:
    # c = 0: T·g₀ = g₁ + g₂ = (0, 1, 0), as EW
    assert aggregate("cagrad", JACOBIAN, c=0.0).tolist() == pytest.approx([0.0, 1.0, 0.0])


def test_first_steps_of_the_optimizer_level_methods() -> None:
    # AdaTask, step 1: m̂ₜ = gₜ, v̂ₜ = gₜ², so each task contributes gₜ/(|gₜ| + ε) ≈ sign(gₜ)
    assert aggregate("adatask", JACOBIAN).tolist() == pytest.approx([0.0, 1.0, 0.0], abs=1e-7)
    # MTL-IO, step 1: vₜ = gₜ, d = g₁ + g₂
    assert aggregate("mtl-io", JACOBIAN).tolist() == pytest.approx([0.0, 1.0, 0.0])


def test_db_mtl_first_step() -> None:
    # β₁ = 0.9: ĝₜ = 0.1·gₜ, norms (0.1, 0.1√2); α = (√2, 1) (up to the 1e-8 guards)
    # d = 0.1·(√2·g₁ + g₂) = 0.1·(√2 − 1, 1, 0)
    weights, direction = weights_and_direction("db-mtl")
    assert weights == pytest.approx([SQRT2, 1.0], rel=1e-6)
    assert direction == pytest.approx([0.1 * (SQRT2 - 1), 0.1, 0.0], rel=1e-6)


def test_graddrop_deterministic_coordinates() -> None:
    # coordinate 2: (0, 1), P = 1, kept; coordinate 3: all zero; coordinate 1: (1, −1), P = ½,
    # one of the two signs survives
    first, second, third = aggregate("graddrop", JACOBIAN).tolist()
    assert first in (1.0, -1.0) and second == 1.0 and third == 0.0

"""Aligned-MTL: the aligned gradients are orthogonal with equal norms (condition number 1)."""

from __future__ import annotations

import torch

from mtlx.methods import aggregate, build_method
from mtlx.methods.aligned_mtl import alignment_matrix
from mtlx.methods.base import task_gramian
from tests.methods.conftest import assert_direction_close


def test_aligned_gradients_have_condition_number_one(full_rank_jacobian: torch.Tensor) -> None:
    # the alignment is computed in float64 from the Gramian of the given (float32) Jacobian, so
    # the property holds to float64 precision on that Jacobian
    # the property holds to float64 precision on that Jacobian; an eigendecomposition resolves
    # the smallest eigenvalue to ε·λ_max, so "to float64 precision" is ε·κ(G), times a margin
    jacobian = full_rank_jacobian.double()
    gramian = task_gramian(full_rank_jacobian)
    tolerance = max(1e-7, 100 * torch.finfo(torch.float64).eps * float(torch.linalg.cond(gramian)))
    aligned = alignment_matrix(gramian) @ jacobian
    aligned_gramian = aligned @ aligned.T
    condition = float(torch.linalg.cond(aligned_gramian))
    assert abs(condition - 1.0) <= tolerance
    # σ_min² I: the aligned gradients all have the length of J's smallest singular value
    smallest = torch.linalg.svdvals(jacobian).min()
    torch.testing.assert_close(
        aligned_gramian,
        smallest**2 * torch.eye(len(aligned), dtype=torch.float64),
        rtol=0,
        atol=tolerance * float(smallest) ** 2,
    )


def test_rank_deficient_gradients_are_aligned_in_their_span() -> None:
    jacobian = torch.randn(3, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    jacobian[2] = jacobian[0] + jacobian[1]
    aligned = alignment_matrix(jacobian @ jacobian.T) @ jacobian
    eigenvalues = torch.linalg.eigvalsh(aligned @ aligned.T)
    singular = torch.linalg.svdvals(jacobian)
    torch.testing.assert_close(
        eigenvalues[0], torch.tensor(0.0, dtype=torch.float64), atol=1e-12, rtol=0
    )
    torch.testing.assert_close(eigenvalues[1:], singular[1].expand(2) ** 2)


def test_direction_is_the_sum_of_the_aligned_gradients(jacobian: torch.Tensor) -> None:
    method = build_method("aligned-mtl", jacobian.shape[0])
    direction = method.aggregate(jacobian, torch.ones(jacobian.shape[0], dtype=jacobian.dtype))
    aligned = alignment_matrix(task_gramian(jacobian)) @ jacobian.double()
    assert_direction_close(direction, aligned.sum(dim=0), method.task_weights, jacobian)
    torch.testing.assert_close(direction, method.task_weights @ jacobian)


def test_zero_gradients_give_a_zero_update() -> None:
    direction = aggregate("aligned-mtl", torch.zeros(3, 4, dtype=torch.float64))
    torch.testing.assert_close(direction, torch.zeros(4, dtype=torch.float64))

"""Aligned-MTL: the aligned gradients are orthogonal with equal norms (condition number 1)."""

from __future__ import annotations

import torch

from mtlx.methods import aggregate, build_method
from mtlx.methods.aligned_mtl import alignment_matrix


def test_aligned_gradients_have_condition_number_one(full_rank_jacobian: torch.Tensor) -> None:
    jacobian = full_rank_jacobian
    gramian = jacobian @ jacobian.T
    aligned = alignment_matrix(gramian) @ jacobian
    aligned_gramian = aligned @ aligned.T
    torch.testing.assert_close(
        torch.linalg.cond(aligned_gramian), torch.tensor(1.0, dtype=torch.float64)
    )
    # σ_min² I: the aligned gradients all have the length of J's smallest singular value
    smallest = torch.linalg.svdvals(jacobian).min()
    torch.testing.assert_close(
        aligned_gramian, smallest**2 * torch.eye(len(gramian), dtype=torch.float64)
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
    direction = method.aggregate(jacobian, torch.ones(jacobian.shape[0], dtype=torch.float64))
    aligned = alignment_matrix(jacobian @ jacobian.T) @ jacobian
    torch.testing.assert_close(direction, aligned.sum(dim=0))
    torch.testing.assert_close(direction, method.task_weights @ jacobian)


def test_zero_gradients_give_a_zero_update() -> None:
    direction = aggregate("aligned-mtl", torch.zeros(3, 4, dtype=torch.float64))
    torch.testing.assert_close(direction, torch.zeros(4, dtype=torch.float64))

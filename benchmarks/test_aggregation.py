"""Wall time of one aggregation of a float32 Jacobian the size of SegNet's (T = 3, d = 24.9 M
shared parameters) — a method's overhead over the per-task floor of ``mtlx bench methods``, whose
step ends in the plain sum of the task gradients (pytest-benchmark).

Run with ``make bench``. The whole step costs seconds on a CPU, so the few milliseconds that
separate the methods are lost in its noise there; here they are measured alone.
"""

from __future__ import annotations

import pytest
import torch

from mtlx.methods import build_method

SEGNET_SHARED_PARAMETERS = 24_943_296
METHODS = ["imtl-g", "imtl", "nash-mtl", "gradnorm", "mgda", "cagrad"]


@pytest.fixture(scope="module")
def jacobian() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(3, SEGNET_SHARED_PARAMETERS, generator=generator)


def test_floor_sum(benchmark, jacobian: torch.Tensor) -> None:
    direction = benchmark(jacobian.sum, dim=0)
    assert direction.shape == (SEGNET_SHARED_PARAMETERS,)


@pytest.mark.parametrize("name", METHODS)
def test_aggregate(benchmark, jacobian: torch.Tensor, name: str) -> None:
    method = build_method(name, 3)
    losses = torch.tensor([1.0, 0.5, 2.0])
    direction = benchmark(method.aggregate, jacobian, losses)
    assert torch.isfinite(direction).all()

"""Every gradient-level method gives, from the float32 Jacobian training hands it, the answer
it gives from the same Jacobian in float64: the weights to 1e-4 of their largest, the direction to
1e-4 of the size at which the weighted sum is rounded (see ``assert_direction_close``) — with
gradient norms over four orders of magnitude, nearly dependent and (nearly) opposite gradients,
and T up to 40."""

from __future__ import annotations

import pytest
import torch

from mtlx.methods import METHODS, GradientAggregator, base, build_method
from mtlx.methods.base import task_gramian
from mtlx.methods.solvers import NoSolutionError
from tests.methods.conftest import BASE_CASES, JacobianCase, assert_direction_close

# GradDrop is left out: its arithmetic is per coordinate, and its uniform draws differ by dtype
GRADIENT_METHODS = [
    name
    for name in METHODS.names()
    if issubclass(METHODS.get(name), GradientAggregator) and name != "graddrop"
]


def step(name: str, jacobian: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(direction, weights) of a fresh method's first step; the same random draws every call."""
    t = jacobian.shape[0]
    method = build_method(name, t)
    torch.manual_seed(0)  # PCGrad's orders, GradDrop's draws
    losses = torch.linspace(0.5, 2.0, t, dtype=jacobian.dtype)
    direction = method.aggregate(jacobian, losses)
    return direction, method.task_weights


@pytest.mark.parametrize("case", BASE_CASES, ids=str)
@pytest.mark.parametrize("name", GRADIENT_METHODS)
def test_float32_jacobians_give_the_float64_answer(name: str, case: JacobianCase) -> None:
    jacobian = case.in_dtype(torch.float32).build()
    try:
        reference_direction, reference_weights = step(name, jacobian.double())
    except NoSolutionError:  # Nash-MTL where the origin is in the gradients' hull: both say so
        with pytest.raises(NoSolutionError):
            step(name, jacobian)
        return
    direction, weights = step(name, jacobian)
    assert direction.dtype == torch.float32
    if reference_weights is None:
        assert weights is None
        scale_weights = torch.ones(case.num_tasks)
    else:
        assert weights is not None and weights.dtype == torch.float32
        scale_weights = reference_weights
        if case.full_rank:  # elsewhere the weights of a direction need not be unique
            largest = float(reference_weights.abs().max())
            error = float((weights.double() - reference_weights).abs().max())
            assert error <= 1e-4 * largest
    assert_direction_close(direction, reference_direction, scale_weights, jacobian)


@pytest.mark.parametrize("num_tasks", [3, 20])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_task_gramian_is_the_float64_gramian_block_by_block(
    monkeypatch, dtype: torch.dtype, num_tasks: int
) -> None:
    # blocks of 64 entries: many blocks and a partial last one, on NumPy's path (float32 on the
    # CPU, up to 16 tasks) and on torch's (beyond, the other dtypes, and every accelerator)
    monkeypatch.setattr(base, "_CPU_BLOCK_ENTRIES", 64)
    monkeypatch.setattr(base, "_DEVICE_BLOCK_ENTRIES", 64)
    generator = torch.Generator().manual_seed(0)
    jacobian = torch.randn(num_tasks, 1000, generator=generator).to(dtype)
    exact = jacobian.double() @ jacobian.double().T
    gramian = task_gramian(jacobian)
    assert gramian.dtype == torch.float64
    torch.testing.assert_close(gramian, exact, rtol=1e-13, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", [name for name in GRADIENT_METHODS if name != "pcgrad"])
def test_the_device_gives_the_hosts_answer(name: str) -> None:
    # (PCGrad left out: CUDA's random task orders are not the CPU's)
    jacobian = JacobianCase(5, 20, "scaled").in_dtype(torch.float32).build()
    torch.testing.assert_close(
        task_gramian(jacobian.cuda()).cpu(), task_gramian(jacobian), rtol=1e-13, atol=0
    )
    cpu_direction, _ = step(name, jacobian)
    cuda_direction, _ = step(name, jacobian.cuda())
    assert cuda_direction.device.type == "cuda"
    assert_direction_close(cuda_direction.cpu(), cpu_direction, torch.ones(5), jacobian)

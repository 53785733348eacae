"""AdaTask and MTL-IO: per-task optimizer states for the shared parameters."""

from __future__ import annotations

import pytest
import torch

from mtlx.methods import build_method


def per_task_torch_steps(optimizer_factory, gradients: torch.Tensor) -> list[torch.Tensor]:
    """Σₜ of the steps T independent torch optimizers (lr = 1) take on the rows of ``gradients``.

    ``gradients``: (steps, T, d); returns the summed update direction at every step.
    """
    t, d = gradients.shape[1:]
    parameters = [torch.zeros(d, dtype=gradients.dtype, requires_grad=True) for _ in range(t)]
    optimizers = [optimizer_factory([p]) for p in parameters]
    directions = []
    for step in gradients:
        before = torch.stack([p.detach().clone() for p in parameters])
        for parameter, optimizer, gradient in zip(parameters, optimizers, step, strict=True):
            parameter.grad = gradient.clone()
            optimizer.step()
        after = torch.stack([p.detach() for p in parameters])
        directions.append((before - after).sum(dim=0))
    return directions


def test_adatask_is_one_adam_per_task() -> None:
    gradients = torch.randn(
        5, 3, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    expected = per_task_torch_steps(
        lambda ps: torch.optim.Adam(ps, lr=1.0, betas=(0.9, 0.999), eps=1e-8), gradients
    )
    method = build_method("adatask", 3)
    assert method.owns_shared_update
    ones = torch.ones(3, dtype=torch.float64)
    for jacobian, direction in zip(gradients, expected, strict=True):
        torch.testing.assert_close(method.aggregate(jacobian, ones), direction)


def test_adatask_is_invariant_to_each_tasks_loss_scale() -> None:
    gradients = torch.randn(
        4, 2, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    scales = torch.tensor([[1e-3], [1e3]], dtype=torch.float64)  # ε = 1e-8 ≪ 1e-3·|g|
    plain, scaled = build_method("adatask", 2), build_method("adatask", 2)
    ones = torch.ones(2, dtype=torch.float64)
    for jacobian in gradients:
        torch.testing.assert_close(
            scaled.aggregate(jacobian * scales, ones),
            plain.aggregate(jacobian, ones),
            rtol=0,
            atol=1e-4,
        )


def test_mtl_io_is_one_sgd_momentum_per_task() -> None:
    gradients = torch.randn(
        5, 3, 7, generator=torch.Generator().manual_seed(2), dtype=torch.float64
    )
    expected = per_task_torch_steps(lambda ps: torch.optim.SGD(ps, lr=1.0, momentum=0.9), gradients)
    method = build_method("mtl-io", 3)
    assert method.owns_shared_update
    ones = torch.ones(3, dtype=torch.float64)
    summed_momentum = torch.zeros(7, dtype=torch.float64)
    for k, (jacobian, direction) in enumerate(zip(gradients, expected, strict=True)):
        output = method.aggregate(jacobian, ones)
        torch.testing.assert_close(output, direction)
        # heavy-ball momentum is linear: the same as one buffer on the summed gradient
        summed_momentum = jacobian.sum(dim=0) if k == 0 else 0.9 * summed_momentum + jacobian.sum(0)
        torch.testing.assert_close(output, summed_momentum)


@pytest.mark.parametrize("name", ["adatask", "mtl-io"])
def test_reset_forgets_the_states(name: str) -> None:
    method = build_method(name, 2)
    jacobian = torch.randn(2, 4, generator=torch.Generator().manual_seed(3))
    first = method.aggregate(jacobian, torch.ones(2))
    method.aggregate(2 * jacobian, torch.ones(2))
    method.reset()
    torch.testing.assert_close(method.aggregate(jacobian, torch.ones(2)), first)


def test_invalid_hyperparameters() -> None:
    with pytest.raises(ValueError, match=r"^betas must be two values in \[0, 1\)"):
        build_method("adatask", 2, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"^eps must be positive, but got 0\.0\.$"):
        build_method("adatask", 2, eps=0.0)
    with pytest.raises(ValueError, match=r"^momentum must be in \[0, 1\), but got 1\.0\.$"):
        build_method("mtl-io", 2, momentum=1.0)

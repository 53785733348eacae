"""The signSGD-with-momentum optimizer registered for the seed paper's optimizer comparison."""

from __future__ import annotations

import pytest
import torch

from mtlx.optim import OPTIMIZERS, build_optimizer
from mtlx.optim.signsgd import SignSGD


def test_update_is_lr_times_the_sign_of_the_momentum() -> None:
    parameter = torch.zeros(4, requires_grad=True)
    optimizer = build_optimizer("signsgd", [{"params": [parameter]}], lr=0.1, weight_decay=0.0)
    assert isinstance(optimizer, SignSGD) and "signsgd" in OPTIMIZERS
    gradients = [torch.tensor([1.0, -2.0, 0.5, 0.0]), torch.tensor([-3.0, 1.0, 0.5, 0.0])]
    momentum = torch.zeros(4)
    expected = torch.zeros(4)
    for gradient in gradients:
        parameter.grad = gradient.clone()
        optimizer.step()
        momentum = 0.9 * momentum + 0.1 * gradient
        expected = expected - 0.1 * torch.sign(momentum)
        torch.testing.assert_close(parameter.detach(), expected)
    # step 2: m = 0.9·(0.1, −0.2, .05, 0) + 0.1·(−3, 1, .5, 0) = (−0.21, −0.08, 0.095, 0)
    torch.testing.assert_close(parameter.detach(), torch.tensor([0.0, 0.2, -0.2, 0.0]))


def test_update_ignores_the_gradient_scale() -> None:
    results = []
    for scale in (1e-3, 1.0, 1e3):
        parameter = torch.ones(3, requires_grad=True)
        optimizer = SignSGD([parameter], lr=0.01)
        for _ in range(3):
            parameter.grad = scale * torch.tensor([1.0, -1.0, 2.0])
            optimizer.step()
        results.append(parameter.detach())
    torch.testing.assert_close(results[0], results[1])
    torch.testing.assert_close(results[2], results[1])


def test_weight_decay_is_added_to_the_gradient() -> None:
    parameter = torch.tensor([2.0, -2.0], requires_grad=True)
    optimizer = SignSGD([parameter], lr=0.5, momentum=0.0, weight_decay=1.0)
    parameter.grad = torch.tensor([-1.0, -3.0])  # g + λθ = (1, −5)
    optimizer.step()
    torch.testing.assert_close(parameter.detach(), torch.tensor([1.5, -1.5]))


def test_validation() -> None:
    parameter = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match=r"^momentum must be in \[0, 1\), but got 1\.$"):
        SignSGD([parameter], lr=0.1, momentum=1)
    with pytest.raises(ValueError, match=r"^lr must be positive, but got 0\.$"):
        SignSGD([parameter], lr=0)

"""DB-MTL: log-loss transform, EMA of the gradients and magnitude balancing."""

from __future__ import annotations

import pytest
import torch

from mtlx.methods import build_method


def test_losses_are_log_transformed() -> None:
    method = build_method("db-mtl", 2)
    losses = torch.tensor([0.5, 4.0])
    transformed = torch.stack([method.transform_loss(t, loss) for t, loss in enumerate(losses)])
    torch.testing.assert_close(transformed, torch.log(losses + 1e-8))


@pytest.mark.parametrize("beta_sigma", [0.0, 0.5])  # LibMTL's default, and a decaying β
def test_ema_and_balanced_magnitudes_step_by_step(beta_sigma: float) -> None:
    generator = torch.Generator().manual_seed(0)
    steps = torch.randn(3, 3, 6, generator=generator, dtype=torch.float64)
    ones = torch.ones(3, dtype=torch.float64)
    method = build_method("db-mtl", 3, beta_sigma=beta_sigma)  # β = 0.9
    average = torch.zeros(3, 6, dtype=torch.float64)
    for k, jacobian in enumerate(steps, start=1):
        direction = method.aggregate(jacobian, ones)
        decay = 0.9 / k**beta_sigma
        average = decay * average + (1 - decay) * jacobian
        norms = average.norm(dim=1)
        torch.testing.assert_close(method.gradient_average, average)
        torch.testing.assert_close(method.task_weights, norms.max() / (norms + 1e-8))
        # every rescaled EMA gradient has the largest norm
        torch.testing.assert_close(
            method.task_weights * norms, norms.max().expand(3), rtol=1e-6, atol=0
        )
        torch.testing.assert_close(direction, method.task_weights @ average)
    method.reset()
    assert method.gradient_average is None and method.steps == 0


def test_invalid_hyperparameters() -> None:
    with pytest.raises(ValueError, match=r"^beta must be in \[0, 1\), but got 1\.0\.$"):
        build_method("db-mtl", 2, beta=1.0)
    with pytest.raises(ValueError, match=r"^beta_sigma must be non-negative, but got -1\.0\.$"):
        build_method("db-mtl", 2, beta_sigma=-1.0)

"""GradNorm: positive weights (T·softmax of learned logits) pulling the weighted gradient norms
toward the mean norm times the relative training rates, at the paper's equilibrium."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mtlx.engine.step import TrainingStep
from mtlx.methods import build_method
from mtlx.models import MultiTaskNetwork
from tests.methods.test_scale_invariance import ScaledDepthTask


def train_weights(
    jacobian: torch.Tensor, losses: list[torch.Tensor], steps: int, lr: float = 0.025
) -> tuple[torch.Tensor, float]:
    """GradNorm's weights after ``steps`` steps with the run's optimizer (Adam) on its logits, and
    the smallest weight seen; ``losses`` cycles."""
    method = build_method("gradnorm", jacobian.shape[0])
    optimizer = torch.optim.Adam(method.parameters(), lr=lr)
    smallest = float("inf")
    for k in range(steps):
        optimizer.zero_grad()
        method.aggregate(jacobian, losses[k % len(losses)])
        optimizer.step()
        smallest = min(smallest, float(method.task_weights.min()))
    return method.loss_weights, smallest


def test_first_step_is_equal_weighting_and_weights_keep_sum_t() -> None:
    jacobian = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    method = build_method("gradnorm", 2)
    direction = method.aggregate(jacobian, torch.tensor([1.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(direction, jacobian.sum(dim=0))
    torch.testing.assert_close(method.task_weights.sum(), torch.tensor(2.0, dtype=torch.float64))


def test_weights_stay_positive_and_reach_the_papers_equilibrium() -> None:
    # constant gradients of norms 50 : 1 and equal loss ratios (r = 1): the equilibrium of
    # L_grad is w₁·50 = w₂·1 with w₁ + w₂ = 2, i.e. w = (2/51, 100/51); on the way no weight may
    # cross zero (where the shared step would ascend that task's loss)
    jacobian = torch.tensor([[50.0, 0.0], [0.0, 1.0]])
    weights, smallest = train_weights(jacobian, [torch.ones(2)], steps=800)
    assert smallest > 0
    torch.testing.assert_close(weights, torch.tensor([2 / 51, 100 / 51]), rtol=1e-2, atol=0)
    torch.testing.assert_close(weights.sum(), torch.tensor(2.0))


def test_a_slower_task_reaches_a_larger_share() -> None:
    # equal gradient norms; task 1's loss stays at its start while task 0's halved: r = (2/3, 4/3),
    # so task 1's target Ḡ·r₁^α is the larger and its weight grows
    jacobian = torch.eye(2)
    losses = [torch.tensor([1.0, 1.0])] + [torch.tensor([0.5, 1.0])] * 99
    weights, smallest = train_weights(jacobian, losses, steps=300)
    assert smallest > 0
    assert float(weights[1]) > 2 * float(weights[0])


def test_the_run_optimizer_moves_the_logits_through_the_training_step() -> None:
    # ξ is a parameter of the run's optimizer; its gradient, set by aggregate, must survive the
    # training step: the task with the larger gradient (scale 10) loses weight
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Linear(1, 8), nn.Tanh())
    heads = {name: nn.Linear(8, 1) for name in ("near", "far")}
    network = MultiTaskNetwork(backbone, heads)
    tasks = [ScaledDepthTask("near", 10.0), ScaledDepthTask("far", 1.0)]
    method = build_method("gradnorm", 2)
    optimizer = torch.optim.Adam([*network.parameters(), *method.parameters()], lr=0.05)
    step = TrainingStep(network, method, tasks, optimizer, jacobian_mode="loop")
    generator = torch.Generator().manual_seed(1)
    for _ in range(5):
        inputs = torch.rand(16, 1, generator=generator)
        step(inputs, {"near": inputs[:, 0], "far": inputs[:, 0]})
    weights = method.loss_weights
    assert float(weights[0]) < 1.0 < float(weights[1])
    torch.testing.assert_close(weights.sum(), torch.tensor(2.0))


def test_reset_and_validation() -> None:
    method = build_method("gradnorm", 2)
    optimizer = torch.optim.SGD(method.parameters(), lr=1.0)
    method.aggregate(torch.eye(2), torch.ones(2))
    method.aggregate(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.ones(2))
    optimizer.step()
    assert not torch.equal(method.loss_weights, torch.ones(2))
    method.reset()
    assert method.initial_losses is None
    torch.testing.assert_close(method.loss_weights, torch.ones(2))
    with pytest.raises(ValueError, match=r"^alpha must be non-negative, but got -1\.0\.$"):
        build_method("gradnorm", 2, alpha=-1.0)

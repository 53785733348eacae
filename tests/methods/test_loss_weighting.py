"""Loss-level methods: UW-O, RLW, DWA and FAMO, each against its formula."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from mtlx.methods import build_method


def shared_gradient(method_name: str, scales: torch.Tensor) -> torch.Tensor:
    """∇θ of the method's objective for two losses of one parameter vector, losses scaled."""
    theta = torch.tensor([0.3, -1.2, 0.7], requires_grad=True)
    losses = torch.stack([(theta**2).sum() + 1.0, (theta - 1).abs().sum()]) * scales
    objective = build_method(method_name, 2).combine(losses)
    (gradient,) = torch.autograd.grad(objective, theta)
    return gradient


@pytest.mark.parametrize("scales", [(10.0, 0.1), (1e-3, 1e4), (2.0, 2.0)])
def test_uw_o_gradient_is_invariant_to_loss_scales(scales: tuple[float, float]) -> None:
    reference = shared_gradient("uw-o", torch.ones(2))
    torch.testing.assert_close(shared_gradient("uw-o", torch.tensor(scales)), reference)
    # while EW's is not
    assert not torch.allclose(shared_gradient("ew", torch.tensor(scales)), reference)


def test_uw_o_weights_are_the_inverse_losses() -> None:
    method = build_method("uw-o", 3)
    losses = torch.tensor([0.5, 2.0, 8.0], requires_grad=True)
    objective = method.combine(losses)
    torch.testing.assert_close(method.task_weights, 1 / losses.detach())
    torch.testing.assert_close(objective, torch.tensor(3.0))
    (gradient,) = torch.autograd.grad(objective, losses)
    torch.testing.assert_close(gradient, 1 / losses.detach())


def test_rlw_draws_fresh_softmax_normal_weights() -> None:
    method = build_method("rlw", 4)
    losses = torch.tensor([1.0, 2.0, 3.0, 4.0])
    torch.manual_seed(0)
    method.combine(losses)
    first = method.task_weights.clone()
    torch.manual_seed(0)
    expected = torch.softmax(torch.randn(4), dim=0)
    torch.testing.assert_close(first, expected)
    torch.testing.assert_close(first.sum(), torch.tensor(1.0))
    method.combine(losses)
    assert not torch.allclose(method.task_weights, first)


def test_dwa_follows_the_epoch_average_loss_ratios() -> None:
    method = build_method("dwa", 2)  # τ = 2
    epochs = [
        [torch.tensor([4.0, 2.0]), torch.tensor([2.0, 2.0])],  # averages (3, 2)
        [torch.tensor([1.0, 3.0]), torch.tensor([2.0, 1.0])],  # averages (1.5, 2)
    ]
    for batches in epochs:  # the first two epochs: equal weights
        for losses in batches:
            method.combine(losses)
            torch.testing.assert_close(method.task_weights, torch.ones(2))
        method.end_epoch()
    method.combine(torch.tensor([1.0, 1.0]))
    r = torch.tensor([1.5 / 3.0, 2.0 / 2.0])
    expected = 2 * torch.exp(r / 2) / torch.exp(r / 2).sum()
    torch.testing.assert_close(method.task_weights, expected)
    # by hand: w₁ = 2e^{0.25}/(e^{0.25} + e^{0.5})
    assert float(method.task_weights[0]) == pytest.approx(
        2 * math.exp(0.25) / (math.exp(0.25) + math.exp(0.5))
    )
    method.reset()
    method.combine(torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(method.task_weights, torch.ones(2))


def test_dwa_temperature_is_validated() -> None:
    with pytest.raises(ValueError, match=r"^temperature must be positive, but got 0\.0\.$"):
        build_method("dwa", 2, temperature=0.0)


def test_famo_objective_gradient_has_weights_summing_to_one() -> None:
    method = build_method("famo", 3)
    losses = torch.tensor([0.5, 1.0, 4.0], requires_grad=True)
    objective = method.combine(losses)
    (gradient,) = torch.autograd.grad(objective, losses)
    # uniform z at the first step: weights (1/L)/Σ(1/L)
    expected = (1 / losses.detach()) / (1 / losses.detach()).sum()
    torch.testing.assert_close(gradient, expected, rtol=1e-6, atol=0)
    torch.testing.assert_close(method.task_weights, gradient, rtol=1e-6, atol=0)


def test_famo_logits_follow_the_log_loss_decreases() -> None:
    lr, decay = 0.025, 1e-3
    method = build_method("famo", 2, logit_lr=lr, logit_decay=decay)
    method.combine(torch.tensor([1.0, 1.0]))
    # task 0 improved by a factor e, task 1 not at all
    method.combine(torch.tensor([math.exp(-1.0), 1.0]))
    delta = torch.tensor([1.0, 0.0])  # log-loss decreases (ε = 1e-8 is negligible here)
    z = torch.full((2,), 0.5)
    gradient = z * (delta - z @ delta)  # + decay·ξ with ξ = 0
    # first Adam step: m̂ = g, v̂ = g², so ξ = −lr·g/(|g| + ε)
    expected_logits = -lr * gradient / (gradient.abs() + 1e-8)
    torch.testing.assert_close(method.logits, expected_logits, rtol=1e-5, atol=1e-7)
    # the task that improved less gets more weight
    z_now = torch.softmax(method.logits, dim=0)
    assert z_now[1] > z_now[0]


def test_famo_reset_forgets_everything() -> None:
    method = build_method("famo", 2)
    method.combine(torch.tensor([1.0, 2.0]))
    method.combine(torch.tensor([0.5, 2.0]))
    method.reset()
    assert method.logits is None and method.previous_losses is None and method.adam_steps == 0


def test_famo_hyperparameters_are_validated() -> None:
    with pytest.raises(ValueError, match=r"^logit_lr must be positive, but got 0\.0\.$"):
        build_method("famo", 2, logit_lr=0.0)
    with pytest.raises(ValueError, match=r"^logit_decay must be non-negative, but got -1\.0\.$"):
        build_method("famo", 2, logit_decay=-1.0)


def test_famo_logits_follow_the_official_update_over_many_steps() -> None:
    # the official code: d = ∂softmax(ξ)/∂ξ applied to δ by autograd, then Adam(lr, weight_decay=γ)
    generator = torch.Generator().manual_seed(3)
    losses = [torch.rand(3, generator=generator) + 0.1 for _ in range(12)]
    method = build_method("famo", 3)
    logits = torch.zeros(3, requires_grad=True)
    official = torch.optim.Adam([logits], lr=0.025, weight_decay=1e-3)
    method.combine(losses[0])
    for before, after in itertools.pairwise(losses):
        method.combine(after)
        delta = torch.log(before + 1e-8) - torch.log(after + 1e-8)
        (d,) = torch.autograd.grad(torch.softmax(logits, -1), logits, grad_outputs=delta)
        official.zero_grad()
        logits.grad = d
        official.step()
        torch.testing.assert_close(method.logits, logits.detach(), rtol=1e-6, atol=1e-7)

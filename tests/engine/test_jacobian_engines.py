"""The three per-task gradient engines compute the same thing, and the step uses them alike."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mtlx.engine.jacobian import (
    JacobianEngine,
    per_task_gradients,
    resolve_jacobian_mode,
)
from mtlx.engine.step import TrainingStep
from mtlx.methods import build_method
from mtlx.models import MultiTaskNetwork
from mtlx.optim import build_optimizer
from mtlx.tasks import ClassificationTask

TASKS = [ClassificationTask(f"t{i}", 3) for i in range(3)]


def tiny_network(seed: int = 0) -> MultiTaskNetwork:
    torch.manual_seed(seed)
    encoder = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 6), nn.Tanh())
    return MultiTaskNetwork(encoder, {task.name: nn.Linear(6, 3) for task in TASKS})


def batch(seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(16, 5, generator=generator)
    targets = {t.name: torch.randint(0, 3, (16,), generator=generator) for t in TASKS}
    return inputs, targets


def losses_of(network: MultiTaskNetwork) -> torch.Tensor:
    inputs, targets = batch()
    predictions = network(inputs)
    return torch.stack([t.loss(predictions[t.name], targets[t.name]) for t in TASKS])


def test_engines_agree_with_an_explicit_per_task_jacobian() -> None:
    network = tiny_network()
    shared = list(network.shared_parameters())
    expected = torch.stack(
        [
            torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, shared, retain_graph=True)])
            for loss in losses_of(network)
        ]
    )
    for mode in ("loop", "batched"):
        gradients = per_task_gradients(list(losses_of(network)), shared, mode=mode)
        torch.testing.assert_close(gradients.jacobian, expected, msg=mode)


@pytest.mark.parametrize("method_name", ["mgda", "imtl", "mgda-ub", "pcgrad"])
def test_a_step_is_the_same_under_every_engine(method_name: str) -> None:
    """Same update of shared parameters, heads and method parameters (IMTL's scales)."""
    results = []
    for mode in ("loop", "batched"):
        network = tiny_network()
        method = build_method(method_name, len(TASKS))
        groups = [{"params": list(network.parameters())}]
        if method.parameters():
            groups.append({"params": method.parameters(), "weight_decay": 0.0})
        optimizer = build_optimizer("sgd", groups, lr=0.1, weight_decay=0.0, momentum=0.0)
        step = TrainingStep(network, method, TASKS, optimizer, jacobian_mode=mode)
        torch.manual_seed(3)  # PCGrad draws its task orders
        step(*batch())
        results.append([p.detach().clone() for p in [*network.parameters(), *method.parameters()]])
    for other in results[1:]:
        for reference, value in zip(results[0], other, strict=True):
            torch.testing.assert_close(value, reference)


def test_auto_picks_the_measured_engine() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_jacobian_mode("auto", cpu, 40) == "loop"
    assert resolve_jacobian_mode("auto", cuda, 3) == "loop"
    assert resolve_jacobian_mode("auto", cuda, 40) == "loop"
    assert resolve_jacobian_mode("batched", cpu, 2) == "batched"
    with pytest.raises(ValueError, match="auto, loop, batched"):
        resolve_jacobian_mode("vmap", cpu, 2)


def test_each_task_gets_its_own_private_gradients_from_both_engines() -> None:
    """Private tensors (heads) of task t get the gradient of loss t only, not the others'."""
    network = tiny_network()
    shared = list(network.shared_parameters())
    private = [list(network.task_parameters(t.name)) for t in TASKS]
    for mode in ("loop", "batched"):
        losses = list(losses_of(network))
        expected = [
            torch.autograd.grad(loss, own, retain_graph=True)
            for loss, own in zip(losses, private, strict=True)
        ]
        gradients = per_task_gradients(losses, shared, private, mode=mode)
        assert len(gradients.private) == len(TASKS)
        for got, want in zip(gradients.private, expected, strict=True):
            for g, w in zip(got, want, strict=True):
                torch.testing.assert_close(g, w, msg=mode)


class _ItemInBackward(torch.autograd.Function):
    """Identity whose backward reads a host scalar: it has no vmap rule."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.clone()

    @staticmethod
    def backward(ctx, gradient: torch.Tensor) -> torch.Tensor:
        return gradient * (1.0 if gradient.sum().item() >= -1e30 else 0.0)


def test_batched_engine_falls_back_to_the_loop_once_and_says_so(caplog) -> None:
    network = tiny_network()
    shared = list(network.shared_parameters())
    inputs, targets = batch()

    def losses() -> list[torch.Tensor]:
        representation = _ItemInBackward.apply(network.encoder(inputs))
        predictions = network.decode(representation)
        return [t.loss(predictions[t.name], targets[t.name]) for t in TASKS]

    expected = per_task_gradients(losses(), shared, mode="loop").jacobian
    engine = JacobianEngine("batched", torch.device("cpu"), len(TASKS))
    with caplog.at_level("WARNING", logger="mtlx.engine.jacobian"):
        first = engine(losses(), shared)
        second = engine(losses(), shared)
    assert engine.mode == "loop"
    torch.testing.assert_close(first.jacobian, expected)
    torch.testing.assert_close(second.jacobian, expected)
    warnings = [r for r in caplog.records if "using the loop engine" in r.getMessage()]
    assert len(warnings) == 1


def test_batched_engine_that_works_keeps_batching() -> None:
    network = tiny_network()
    shared = list(network.shared_parameters())
    engine = JacobianEngine("batched", torch.device("cpu"), len(TASKS))
    for _ in range(2):
        engine(list(losses_of(network)), shared)
    assert engine.mode == "batched"


@pytest.mark.parametrize("method_name", ["adatask", "mtl-io"])
def test_methods_owning_the_shared_update_say_the_shared_part_gets_no_weight_decay(
    method_name: str, caplog
) -> None:
    network = tiny_network()
    method = build_method(method_name, len(TASKS))
    optimizer = build_optimizer("adam", network.parameters(), lr=0.1, weight_decay=1e-5)
    shared = {id(p) for p in network.shared_parameters()}
    with caplog.at_level("WARNING", logger="mtlx.engine.step"):
        TrainingStep(network, method, TASKS, optimizer)
    assert any("no weight decay" in r.getMessage() for r in caplog.records)
    kept = [p for group in optimizer.param_groups for p in group["params"]]
    assert kept and not any(id(p) in shared for p in kept)

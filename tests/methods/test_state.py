"""Every method's state: a method restored mid-run from ``state_dict()`` continues exactly as the
original (bitwise, on the CPU), also through ``torch.save`` / ``torch.load(weights_only=True)``."""

from __future__ import annotations

import io
from typing import Any

import pytest
import torch
from torch import Tensor

from mtlx.methods import METHODS, GradientAggregator, LossWeighting, Method, build_method

NUM_TASKS = 3
STATELESS = {"aligned-mtl", "cagrad", "ew", "graddrop", "imtl-g", "mgda", "mgda-ub", "pcgrad"}
STATELESS |= {"rlw", "uw-o"}  # their randomness is torch's global generator, the run's to keep


class Run:
    """A method and the run's optimizer on the method's own parameters (UW's, IMTL's, GradNorm's),
    stepped on seeded losses and Jacobians; ``end_epoch`` every other step (DWA's averages)."""

    def __init__(self, method: Method) -> None:
        self.method = method
        parameters = method.parameters()
        self.optimizer = torch.optim.SGD(parameters, lr=0.1) if parameters else None
        self.steps = 0

    def step(self, generator: torch.Generator) -> Tensor:
        method = self.method
        losses = torch.rand(NUM_TASKS, generator=generator) + 0.5
        if self.optimizer is not None:
            self.optimizer.zero_grad()
        if isinstance(method, LossWeighting):
            leaf = losses.clone().requires_grad_(True)
            objective = method.combine(leaf)
            objective.backward()
            output = objective.detach()
        else:
            assert isinstance(method, GradientAggregator)
            # the gradients of IMTL's scales come through its transformed losses
            transformed = sum(method.transform_loss(t, loss) for t, loss in enumerate(losses))
            if isinstance(transformed, Tensor) and transformed.requires_grad:
                transformed.backward()
            jacobian = torch.randn(NUM_TASKS, 11, generator=generator)
            output = method.aggregate(jacobian, losses)
        if self.optimizer is not None:
            self.optimizer.step()
        self.steps += 1
        if self.steps % 2 == 0:
            method.end_epoch()
        return output


def continue_run(run: Run, seed: int, steps: int = 4) -> list[Tensor]:
    """Outputs and task weights of ``steps`` more steps from fixed inputs and global RNG state."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    outputs = []
    for _ in range(steps):
        outputs.append(run.step(generator))
        if run.method.task_weights is not None:
            outputs.append(run.method.task_weights)
    return outputs


def assert_plain(value: Any, where: str = "state") -> None:
    """Tensors, numbers, strings, ``None``, lists of them, and dicts with string keys only."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), f"{where} has a non-string key {key!r}"
            assert_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_plain(item, f"{where}[{index}]")
    else:
        assert value is None or isinstance(value, (Tensor, int, float, str)), (where, value)


def same(left: Any, right: Any) -> bool:
    """Equal states: the same keys and items, tensors equal element by element."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, Tensor) and isinstance(right, Tensor):
        return torch.equal(left, right)
    return type(left) is type(right) and left == right


def round_trip(state: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def restored(name: str, state: dict[str, Any], run: Run) -> Run:
    """A freshly built method loaded with ``state``, with the run's optimizer's state copied."""
    method = build_method(name, NUM_TASKS)
    method.load_state_dict(state)
    copy = Run(method)
    copy.steps = run.steps
    if run.optimizer is not None and copy.optimizer is not None:
        copy.optimizer.load_state_dict(run.optimizer.state_dict())
    return copy


@pytest.mark.parametrize("name", METHODS.names())
def test_a_restored_method_continues_exactly_as_the_original(name: str) -> None:
    original = Run(build_method(name, NUM_TASKS))
    continue_run(original, seed=1, steps=3)
    state = original.method.state_dict()
    assert_plain(state)
    if name in STATELESS:
        assert state == {}
    else:
        assert not same(state, build_method(name, NUM_TASKS).state_dict())
    saved = round_trip(state)
    from_memory = restored(name, state, original)
    from_disk = restored(name, saved, original)
    expected = continue_run(original, seed=2)  # the original first: the state is a snapshot
    for copy in (from_memory, from_disk):
        outputs = continue_run(copy, seed=2)
        assert len(outputs) == len(expected)
        for output, reference in zip(outputs, expected, strict=True):
            assert torch.equal(output, reference), name
        assert copy.method.events == original.method.events


def test_events_are_part_of_the_state() -> None:
    method = build_method("nash-mtl", 2)
    method.aggregate(torch.zeros(2, 4), torch.ones(2))
    state = round_trip(method.state_dict())
    assert state["events"] == {"zero_step": 1}
    fresh = build_method("nash-mtl", 2)
    fresh.load_state_dict(state)
    assert fresh.events == {"zero_step": 1}
    fresh.reset()
    assert fresh.state_dict() == {"steps": 0, "bargaining_weights": None}

"""Training-step time of every method relative to EW, on synthetic batches of real shapes.

Three settings: MultiLeNet with T = 2, SegNet with the NYUv2 tasks (T = 3), ResNet-18 with
CelebA's 40 attributes (T = 40). Besides the methods, references:

- ``per-task-sum``: a full training step whose "method" just sums the per-task gradients —
  forward, the T backward passes, writing the gradients, the optimizer step: the floor every
  parameter-level method pays, so ``× floor`` is its solver and aggregation overhead;
- ``jacobian-<engine>``: forward + the Jacobian alone by each engine (loop, batched);
- ``libmtl-loop``: the same gradients as LibMTL computes them (``loss_t.backward(retain_graph)``
  then every shared parameter's ``.grad`` copied into a flat vector, one parameter at a time).

Times are medians over ``steps`` steps after ``warmup`` steps, synchronising the device around
each step. Host synchronisations inside one step are counted with CUDA's sync debug mode.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mtlx.engine.jacobian import per_task_gradients, resolve_jacobian_mode
from mtlx.engine.step import TrainingStep
from mtlx.methods import METHODS, GradientAggregator, Method, build_method
from mtlx.models import MultiTaskNetwork, build_network
from mtlx.optim import build_optimizer
from mtlx.tasks import (
    BinaryAttributeTask,
    ClassificationTask,
    DepthTask,
    NormalTask,
    SegmentationTask,
    Task,
)

CELEBA_ATTRIBUTES = 40


@dataclass(frozen=True)
class BenchSetting:
    name: str
    network: str
    tasks: tuple[Task, ...]
    input_shape: tuple[int, int, int]
    batch_size: int


def settings(
    dense_size: tuple[int, int] = (288, 384), dense_batch: int = 8, celeba_batch: int = 512
) -> dict[str, BenchSetting]:
    """The three settings; the dense resolution and batch sizes can be shrunk for a CPU."""
    return {
        "multilenet": BenchSetting(
            "multilenet",
            "multilenet",
            (ClassificationTask("left", 10), ClassificationTask("right", 10)),
            (1, 28, 28),
            256,
        ),
        "segnet": BenchSetting(
            "segnet",
            "segnet",
            (SegmentationTask(13), DepthTask(), NormalTask()),
            (3, *dense_size),
            dense_batch,
        ),
        "resnet18": BenchSetting(
            "resnet18",
            "resnet18",
            tuple(BinaryAttributeTask(f"attr{i:02d}") for i in range(CELEBA_ATTRIBUTES)),
            (3, 64, 64),
            celeba_batch,
        ),
    }


def synthetic_target(
    task: Task, batch: int, height: int, width: int, generator: torch.Generator
) -> Tensor:
    """A target of the task's real shape and value range."""
    if isinstance(task, SegmentationTask):
        return torch.randint(-1, task.num_classes, (batch, height, width), generator=generator)
    if isinstance(task, DepthTask):
        return torch.rand(batch, 1, height, width, generator=generator) * 10
    if isinstance(task, NormalTask):
        normals = torch.randn(batch, 3, height, width, generator=generator)
        return normals / normals.norm(dim=1, keepdim=True)
    if isinstance(task, BinaryAttributeTask):
        return torch.randint(0, 2, (batch,), generator=generator).float()
    if isinstance(task, ClassificationTask):
        return torch.randint(0, task.output_size, (batch,), generator=generator)
    raise TypeError(f"no synthetic target for {type(task).__name__}")


def synthetic_batch(
    setting: BenchSetting, device: torch.device
) -> tuple[Tensor, dict[str, Tensor]]:
    generator = torch.Generator().manual_seed(0)
    channels, height, width = setting.input_shape
    inputs = torch.rand(setting.batch_size, channels, height, width, generator=generator)
    targets = {
        task.name: synthetic_target(task, setting.batch_size, height, width, generator)
        for task in setting.tasks
    }
    return inputs.to(device), {name: t.to(device) for name, t in targets.items()}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_medians(
    candidates: dict[str, Callable[[], object]], device: torch.device, steps: int, warmup: int
) -> dict[str, float]:
    """Median seconds per step of each candidate, timed in turns (A B C A B C …) so a drift of
    the machine's speed affects every candidate alike."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for round_index in range(warmup + steps):
        for name, step in candidates.items():
            synchronize(device)
            start = time.perf_counter()
            step()
            synchronize(device)
            if round_index >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def count_host_syncs(step: Callable[[], object], device: torch.device) -> int | None:
    """Synchronising CUDA calls in one step (CUDA's sync debug mode warns on each); None on CPU."""
    if device.type != "cuda":
        return None
    synchronize(device)
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            step()
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    return sum("synchroniz" in str(w.message) for w in caught)


class PerTaskSum(GradientAggregator):
    """The benchmark's floor: the sum of the per-task gradients (EW through the Jacobian)."""

    name = "per-task-sum"

    def aggregate(self, jacobian: Tensor, losses: Tensor) -> Tensor:
        return jacobian.sum(dim=0)


def build(
    setting: BenchSetting, method: str | Method, device: torch.device, jacobian_mode: str
) -> TrainingStep:
    torch.manual_seed(0)
    network = build_network(setting.network, setting.tasks, setting.input_shape).to(device)
    if isinstance(method, str):
        method = build_method(method, len(setting.tasks))
    method.to(str(device))
    groups = [{"params": list(network.parameters())}]
    if method.parameters():
        groups.append({"params": method.parameters(), "weight_decay": 0.0})
    optimizer = build_optimizer("adam", groups, lr=1e-4, weight_decay=0.0)
    return TrainingStep(network, method, setting.tasks, optimizer, jacobian_mode=jacobian_mode)


def jacobian_only(network: MultiTaskNetwork, tasks: Sequence[Task], batch, mode: str) -> Tensor:
    inputs, targets = batch
    predictions = network(inputs)
    losses = [t.loss(predictions[t.name], targets[t.name]) for t in tasks]
    shared = [p for p in network.shared_parameters() if p.requires_grad]
    return per_task_gradients(losses, shared, mode=mode).jacobian


def libmtl_style_loop(network: MultiTaskNetwork, tasks: Sequence[Task], batch) -> Tensor:
    """LibMTL's ``_compute_grad(mode='backward')``: per-task backward, per-parameter copies."""
    inputs, targets = batch
    network.zero_grad(set_to_none=False)
    predictions = network(inputs)
    losses = [t.loss(predictions[t.name], targets[t.name]) for t in tasks]
    shared = [p for p in network.shared_parameters() if p.requires_grad]
    grads = torch.zeros(len(tasks), sum(p.numel() for p in shared), device=inputs.device)
    for index, loss in enumerate(losses):
        loss.backward(retain_graph=index < len(losses) - 1)
        offset = 0
        for parameter in shared:
            size = parameter.numel()
            if parameter.grad is not None:
                grads[index, offset : offset + size] = parameter.grad.data.view(-1)
                parameter.grad.zero_()
            offset += size
    return grads


@dataclass(frozen=True)
class BenchRow:
    setting: str
    tasks: int
    name: str
    seconds: float
    vs_ew: float
    vs_floor: float | None  # parameter-level methods: time / per-task-sum time
    host_syncs: int | None


def bench_setting(
    setting: BenchSetting,
    methods: Sequence[str],
    device: str,
    steps: int = 10,
    warmup: int = 3,
    jacobian_mode: str = "auto",
) -> list[BenchRow]:
    """Median step time of ``methods`` and of the references in one setting."""
    torch_device = torch.device(device)
    mode = resolve_jacobian_mode(jacobian_mode, torch_device, len(setting.tasks))
    batch = synthetic_batch(setting, torch_device)
    reference = build(setting, "ew", torch_device, mode)
    floor = build(setting, PerTaskSum(len(setting.tasks)), torch_device, mode)
    candidates: dict[str, Callable[[], object]] = {
        "ew": lambda: reference(*batch),
        "per-task-sum": lambda: floor(*batch),
        **{
            f"jacobian-{engine}": lambda engine=engine: jacobian_only(
                reference.network, setting.tasks, batch, engine
            )
            for engine in ("loop", "batched")
        },
        "libmtl-loop": lambda: libmtl_style_loop(reference.network, setting.tasks, batch),
    }
    for name in methods:
        if name != "ew":
            step = build(setting, name, torch_device, mode)
            candidates[name] = lambda step=step: step(*batch)
    medians = interleaved_medians(candidates, torch_device, steps, warmup)
    timings = {
        name: (medians[name], count_host_syncs(step, torch_device))
        for name, step in candidates.items()
    }
    ew_seconds = timings["ew"][0]
    floor_seconds = timings["per-task-sum"][0]
    rows = []
    for name, (seconds, syncs) in timings.items():
        method = METHODS.get(name) if name in METHODS else None
        parameter_level = method is not None and method.source.value == "shared_parameters"
        rows.append(
            BenchRow(
                setting.name,
                len(setting.tasks),
                name,
                seconds,
                seconds / ew_seconds,
                seconds / floor_seconds if parameter_level else None,
                syncs,
            )
        )
    return rows

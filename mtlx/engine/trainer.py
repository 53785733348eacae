"""One training run: data → network → method → optimizer → per-epoch evaluation → model selection.

The trainer knows nothing of the database: it hands every epoch's metrics to ``on_epoch`` and
returns which epoch the selection rule picked. Model selection only ever reads the validation split.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from mtlx.data import DatasetSplits
from mtlx.engine.step import TrainingStep
from mtlx.methods import Method, build_method
from mtlx.models import MultiTaskNetwork, build_network
from mtlx.optim import build_optimizer
from mtlx.spec import STL_METHOD, RunConfig
from mtlx.tasks import Task

Metrics = dict[str, float]


@dataclass(frozen=True)
class SelectionRule:
    """How the epoch to report is chosen: the lowest ``score`` of the validation metrics."""

    name: str  # "val_delta_m" or "val_loss"
    score: Callable[[Mapping[str, float]], float]


@dataclass
class EpochResult:
    epoch: int  # 1-based
    metrics: dict[str, Metrics]  # split ("train", "val", "test") → metric → value
    score: float  # the selection rule's value on validation (lower is better)


@dataclass(frozen=True)
class TrainingOutcome:
    selected_epoch: int
    selection_rule: str
    epochs_completed: int
    diverged_at: int | None  # first epoch with a non-finite training loss, if any


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too


def validation_loss_rule(tasks: Sequence[Task]) -> SelectionRule:
    """Sum of the unweighted validation task losses — the rule when no baseline exists yet."""
    names = [f"{task.name}.loss" for task in tasks]
    return SelectionRule("val_loss", lambda metrics: sum(metrics[name] for name in names))


def make_loader(
    dataset: Dataset, batch_size: int, shuffle: bool, seed: int, num_workers: int, device: str
) -> DataLoader:
    collate = getattr(dataset, "collate", None)  # in-memory datasets hand out whole batches
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=torch.Generator().manual_seed(seed) if shuffle else None,
        num_workers=num_workers,
        pin_memory=device.startswith("cuda"),
        persistent_workers=num_workers > 0,
        **({"collate_fn": collate} if collate is not None else {}),
    )


def to_device(
    batch: tuple[Tensor, Mapping[str, Tensor]], device: torch.device
) -> tuple[Tensor, dict[str, Tensor]]:
    inputs, targets = batch
    return inputs.to(device, non_blocking=True), {
        task: target.to(device, non_blocking=True) for task, target in targets.items()
    }


@torch.no_grad()
def evaluate(
    network: MultiTaskNetwork, tasks: Sequence[Task], loader: DataLoader, device: torch.device
) -> Metrics:
    """Every task's metrics over the whole split, plus ``<task>.loss`` (mean over samples)."""
    network.eval()
    meters = {task.name: task.meter() for task in tasks}
    loss_sums = torch.zeros(len(tasks), device=device)
    samples = 0
    for batch in loader:
        inputs, targets = to_device(batch, device)
        predictions = network(inputs)
        for index, task in enumerate(tasks):
            meters[task.name].update(predictions[task.name], targets[task.name])
            loss_sums[index] += task.loss(predictions[task.name], targets[task.name]) * len(inputs)
        samples += len(inputs)
    metrics: Metrics = {}
    for task in tasks:
        metrics.update(meters[task.name].compute())
    for task, loss_sum in zip(tasks, (loss_sums / samples).tolist(), strict=True):
        metrics[f"{task.name}.loss"] = loss_sum
    return metrics


def build_run_method(config: RunConfig, num_tasks: int) -> Method:
    """A single-task baseline trains its one loss as is, which is what EW does for T = 1."""
    name = config.method["name"]
    if name == STL_METHOD:
        return build_method("ew", num_tasks)
    hyperparameters = {key: value for key, value in config.method.items() if key != "name"}
    return build_method(name, num_tasks, **hyperparameters)


def train(
    config: RunConfig,
    data: DatasetSplits,
    device: str,
    selection: SelectionRule | None = None,
    on_epoch: Callable[[EpochResult], None] = lambda result: None,
    jacobian_mode: str = "auto",
    num_workers: int = 0,
) -> TrainingOutcome:
    """Train ``config`` on ``data`` and evaluate validation and test after every epoch."""
    seed_everything(config.seed)
    torch_device = torch.device(device)
    tasks = [data.task(name) for name in config.tasks]
    network_options = {k: v for k, v in config.network.items() if k != "name"}
    network = build_network(config.network["name"], tasks, data.input_shape, **network_options)
    network.to(torch_device)
    method = build_run_method(config, len(tasks)).to(device)
    training = config.training
    optimizer_options = {k: v for k, v in config.optimizer.items() if k not in ("name", "lr")}
    param_groups = [{"params": list(network.parameters())}]
    if method.parameters():
        param_groups.append({"params": method.parameters(), "weight_decay": 0.0})
    optimizer = build_optimizer(
        config.optimizer["name"],
        param_groups,
        lr=config.optimizer["lr"],
        weight_decay=training["weight_decay"],
        **optimizer_options,
    )
    decay = training["lr_decay"]
    scheduler = (
        torch.optim.lr_scheduler.StepLR(optimizer, step_size=decay["every"], gamma=decay["factor"])
        if decay
        else None
    )
    step = TrainingStep(network, method, tasks, optimizer, jacobian_mode=jacobian_mode)
    selection = selection or validation_loss_rule(tasks)
    loaders = {
        "train": make_loader(
            data.train, training["batch_size"], True, config.seed, num_workers, device
        ),
        "val": make_loader(data.val, training["eval_batch_size"], False, 0, num_workers, device),
        "test": make_loader(data.test, training["eval_batch_size"], False, 0, num_workers, device),
    }

    best_epoch, best_score, diverged_at = 0, math.inf, None
    epochs_completed = 0
    for epoch in range(1, training["epochs"] + 1):
        train_metrics = train_epoch(step, method, tasks, loaders["train"], torch_device)
        if scheduler is not None:
            scheduler.step()
        metrics = {
            "train": train_metrics,
            "val": evaluate(network, tasks, loaders["val"], torch_device),
            "test": evaluate(network, tasks, loaders["test"], torch_device),
        }
        score = selection.score(metrics["val"])
        metrics["val"]["selection_score"] = score
        epochs_completed = epoch
        on_epoch(EpochResult(epoch, metrics, score))
        if best_epoch == 0 or (math.isfinite(score) and score < best_score):
            best_epoch, best_score = epoch, score if math.isfinite(score) else math.inf
        if not all(math.isfinite(train_metrics[f"{t.name}.loss"]) for t in tasks):
            diverged_at = epoch  # nothing after a non-finite loss is worth training
            break
    return TrainingOutcome(best_epoch, selection.name, epochs_completed, diverged_at)


def train_epoch(
    step: TrainingStep,
    method: Method,
    tasks: Sequence[Task],
    loader: DataLoader,
    device: torch.device,
) -> Metrics:
    """One pass over the training split; means of the task losses and weights, read once."""
    step.network.train()
    loss_sums = torch.zeros(len(tasks), device=device)
    weight_sums = torch.zeros(len(tasks), device=device)
    weighted_steps = 0
    steps = 0
    for batch in loader:
        inputs, targets = to_device(batch, device)
        loss_sums += step(inputs, targets)
        steps += 1
        if method.task_weights is not None:
            weight_sums += method.task_weights
            weighted_steps += 1
    method.end_epoch()
    metrics = {
        f"{task.name}.loss": value
        for task, value in zip(tasks, (loss_sums / max(steps, 1)).tolist(), strict=True)
    }
    if weighted_steps:
        weights = (weight_sums / weighted_steps).tolist()
        metrics.update({f"weight.{task.name}": w for task, w in zip(tasks, weights, strict=True)})
    return metrics

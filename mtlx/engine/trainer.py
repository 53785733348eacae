"""One training run: data → network → method → optimizer → per-epoch evaluation → model selection.

:class:`TrainingRun` holds everything a run is made of and everything that changes while it
trains — weights, optimizer and schedule, the method's state, every random generator, the data
order, how far the current epoch got, the selection so far — and hands it all out as one
``state_dict()``, so that a run stopped at any step boundary continues exactly (bitwise on the CPU)
from a checkpoint. It knows nothing of the database or of files: it trains an epoch at a time,
checks ``should_stop`` between steps, and returns what each epoch measured. Model selection only
ever reads the validation split.

Random draws: the global generators (Python, NumPy, torch, CUDA: dropout, RLW, PCGrad's orders)
are part of the state; the data order comes from a generator of its own; augmentation draws from
a seed per sample and epoch (:class:`~mtlx.data.base.SeededSample`), so it does not depend on
which loader worker reads a sample; no loader touches the global generators.
"""

from __future__ import annotations

import math
import random
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from mtlx.data import DatasetSplits
from mtlx.data.base import SeededSample
from mtlx.engine.step import TrainingStep
from mtlx.methods import Method, build_method
from mtlx.methods.solvers import NonFiniteInputError, NoSolutionError
from mtlx.models import MultiTaskNetwork, build_network
from mtlx.optim import build_optimizer
from mtlx.spec import STL_METHOD, RunConfig
from mtlx.tasks import Task

Metrics = dict[str, float]
CHECKPOINT_FORMAT = 1


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
    seconds: float = 0.0  # wall time of the epoch in this process (not part of the metrics)


@dataclass(frozen=True)
class TrainingOutcome:
    selected_epoch: int
    selection_rule: str
    epochs_completed: int
    diverged_at: int | None  # first epoch with a non-finite training loss, if any
    note: str | None = None  # what a finished run reports (divergence, zero steps, …)


@dataclass(frozen=True)
class StepEvent:
    """What a step observer sees after each optimisation step."""

    epoch: int  # 1-based, the epoch in progress
    step: int  # 1-based within the epoch
    inputs: Tensor
    targets: Mapping[str, Tensor]
    losses: Tensor  # detached T-vector
    network: MultiTaskNetwork
    tasks: Sequence[Task]


class StepObserver(Protocol):
    """A probe that watches training without changing it (the gradient-similarity study)."""

    def after_step(self, event: StepEvent) -> None: ...

    def end_epoch(self, epoch: int) -> Mapping[str, float]:
        """Metrics of the epoch that ends, recorded in the ``train`` split."""
        ...


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too


def validation_loss_rule(tasks: Sequence[Task]) -> SelectionRule:
    """Sum of the unweighted validation task losses — the single-task baselines' rule (the seed
    paper, A3.2: "stopped early based on the validation loss") and the multi-task rule until a
    baseline exists."""
    names = [f"{task.name}.loss" for task in tasks]
    return SelectionRule("val_loss", lambda metrics: sum(metrics[name] for name in names))


def sample_seed(run_seed: int, epoch: int, position: int) -> int:
    """The seed of one sample's random draws in one epoch (a fixed mix, identical everywhere)."""
    mixed = (run_seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + position) & (2**63 - 1)
    mixed ^= mixed >> 31
    return (mixed * 0x94D049BB133111EB) & (2**63 - 1)


class EpochOrder(Sampler):
    """The samples of one epoch in a fixed order, from position ``start`` (a resumed epoch)."""

    def __init__(self, order: Tensor, start: int, seeds: tuple[int, int] | None) -> None:
        self.order = order
        self.start = start
        self.seeds = seeds  # (run seed, epoch) for datasets with random augmentation

    def __len__(self) -> int:
        return len(self.order) - self.start

    def __iter__(self) -> Iterator[int | SeededSample]:
        positions = self.order[self.start :].tolist()
        if self.seeds is None:
            return iter(positions)
        seed, epoch = self.seeds
        return iter(SeededSample(p, sample_seed(seed, epoch, p)) for p in positions)


def make_loader(
    dataset: Dataset,
    batch_size: int,
    num_workers: int,
    device: str,
    sampler: Sampler | None = None,
    base_seed: int = 0,
) -> DataLoader:
    """A loader that never draws from the global generators (its own ``generator`` seeds the
    worker processes); in-memory datasets hand out whole batches through their ``collate``."""
    collate = getattr(dataset, "collate", None)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=False,
        generator=torch.Generator().manual_seed(base_seed),
        num_workers=num_workers,
        pin_memory=device.startswith("cuda"),
        **({"collate_fn": collate} if collate is not None else {}),
    )


def to_device(
    batch: tuple[Tensor, Mapping[str, Tensor]], device: torch.device
) -> tuple[Tensor, dict[str, Tensor]]:
    inputs, targets = batch
    return inputs.to(device, non_blocking=True), {
        task: target.to(device, non_blocking=True) for task, target in targets.items()
    }


class StopRequestedError(Exception):
    """Evaluation stopped because ``should_stop`` said so (a signal, a cancel)."""


@torch.no_grad()
def evaluate(
    network: MultiTaskNetwork,
    tasks: Sequence[Task],
    loader: DataLoader,
    device: torch.device,
    should_stop: Callable[[], bool] = lambda: False,
) -> Metrics:
    """Every task's metrics over the whole split, plus ``<task>.loss`` (mean over samples)."""
    network.eval()
    meters = {task.name: task.meter() for task in tasks}
    loss_sums = torch.zeros(len(tasks), device=device)
    samples = 0
    for batch in loader:
        if should_stop():
            raise StopRequestedError
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


@dataclass
class _EpochProgress:
    """How far the epoch in progress got: its data order, steps taken, running sums."""

    order: Tensor
    steps: int
    loss_sums: Tensor
    weight_sums: Tensor
    weighted_steps: int
    stopped_early: str | None = None  # why the epoch's remaining steps were skipped


class TrainingRun:
    """A run being trained: build it, optionally ``load_state_dict``, call ``train_epoch`` until
    ``finished``; ``state_dict()`` at any point between steps is a checkpoint."""

    def __init__(
        self,
        config: RunConfig,
        data: DatasetSplits,
        device: str,
        selection: SelectionRule | None = None,
        jacobian_mode: str = "auto",
        num_workers: int = 0,
        observers: Sequence[StepObserver] = (),
    ) -> None:
        seed_everything(config.seed)
        self.config = config
        self.data = data
        self.device_name = device
        self.device = torch.device(device)
        self.num_workers = num_workers
        self.observers = list(observers)
        self.tasks = [data.task(name) for name in config.tasks]
        network_options = {k: v for k, v in config.network.items() if k != "name"}
        self.network = build_network(
            config.network["name"], self.tasks, data.input_shape, **network_options
        ).to(self.device)
        self.method = build_run_method(config, len(self.tasks)).to(device)
        training = config.training
        optimizer_options = {k: v for k, v in config.optimizer.items() if k not in ("name", "lr")}
        param_groups = [{"params": list(self.network.parameters())}]
        if self.method.parameters():
            param_groups.append({"params": self.method.parameters(), "weight_decay": 0.0})
        self.optimizer = build_optimizer(
            config.optimizer["name"],
            param_groups,
            lr=config.optimizer["lr"],
            weight_decay=training["weight_decay"],
            **optimizer_options,
        )
        decay = training["lr_decay"]
        self.scheduler = (
            torch.optim.lr_scheduler.StepLR(
                self.optimizer, step_size=decay["every"], gamma=decay["factor"]
            )
            if decay
            else None
        )
        self.step = TrainingStep(
            self.network, self.method, self.tasks, self.optimizer, jacobian_mode=jacobian_mode
        )
        self.selection = selection or validation_loss_rule(self.tasks)
        self.batch_size = training["batch_size"]
        self.epochs = training["epochs"]
        self.order_generator = torch.Generator().manual_seed(config.seed)
        self.eval_loaders = {
            split: make_loader(
                dataset, training["eval_batch_size"], num_workers, device, base_seed=0
            )
            for split, dataset in (("val", data.val), ("test", data.test))
        }
        self.epoch = 0  # epochs completed (trained, evaluated, selected on)
        self.best_epoch = 0
        self.best_score = math.inf
        self.diverged_at: int | None = None
        self.notes: list[str] = []
        self.event_totals: Counter[str] = Counter()  # the method's events over the whole run
        self.progress: _EpochProgress | None = None

    # ---- training ----------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.epoch >= self.epochs or self.diverged_at is not None

    def outcome(self) -> TrainingOutcome:
        events = [
            f"{count} {name.replace('_', ' ')}s"
            for name, count in sorted(self.event_totals.items())
        ]
        return TrainingOutcome(
            selected_epoch=self.best_epoch,
            selection_rule=self.selection.name,
            epochs_completed=self.epoch,
            diverged_at=self.diverged_at,
            note="; ".join([*self.notes, *events]) or None,
        )

    def _begin_epoch(self) -> _EpochProgress:
        size = len(self.data.train)
        order = torch.randperm(size, generator=self.order_generator)
        tasks = len(self.tasks)
        return _EpochProgress(
            order=order,
            steps=0,
            loss_sums=torch.zeros(tasks, device=self.device),
            weight_sums=torch.zeros(tasks, device=self.device),
            weighted_steps=0,
        )

    def _train_loader(self, progress: _EpochProgress) -> DataLoader:
        epoch = self.epoch + 1
        randomized = bool(getattr(self.data.train, "randomized", False))
        sampler = EpochOrder(
            progress.order,
            progress.steps * self.batch_size,
            (self.config.seed, epoch) if randomized else None,
        )
        return make_loader(
            self.data.train,
            self.batch_size,
            self.num_workers,
            self.device_name,
            sampler=sampler,
            base_seed=sample_seed(self.config.seed, epoch, -1),
        )

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.data.train) / self.batch_size)

    def train_epoch(self, should_stop: Callable[[], bool] = lambda: False) -> EpochResult | None:
        """Train and evaluate the next epoch; None when ``should_stop`` stopped it between steps
        (the state then holds exactly how far it got)."""
        if self.finished:
            raise RuntimeError("the run has finished; there is no epoch left to train")
        started = time.perf_counter()
        if self.progress is None:
            self.progress = self._begin_epoch()
        progress = self.progress
        epoch = self.epoch + 1
        if progress.steps < self.steps_per_epoch() and progress.stopped_early is None:
            self.network.train()
            for batch in self._train_loader(progress):
                if should_stop():
                    return None
                inputs, targets = to_device(batch, self.device)
                try:
                    losses = self.step(inputs, targets)
                except NonFiniteInputError as error:
                    progress.stopped_early = f"diverged ({error})"
                    break
                except NoSolutionError as error:
                    progress.stopped_early = f"stopped ({error})"
                    break
                progress.loss_sums += losses
                weights = self.method.task_weights
                if weights is not None:
                    progress.weight_sums += weights
                    progress.weighted_steps += 1
                progress.steps += 1
                for observer in self.observers:
                    observer.after_step(
                        StepEvent(
                            epoch,
                            progress.steps,
                            inputs,
                            targets,
                            losses,
                            self.network,
                            self.tasks,
                        )
                    )
        if should_stop():
            return None
        try:
            val = evaluate(
                self.network, self.tasks, self.eval_loaders["val"], self.device, should_stop
            )
            test = evaluate(
                self.network, self.tasks, self.eval_loaders["test"], self.device, should_stop
            )
        except StopRequestedError:
            return None
        return self._end_epoch(epoch, progress, val, test, time.perf_counter() - started)

    def _end_epoch(
        self, epoch: int, progress: _EpochProgress, val: Metrics, test: Metrics, seconds: float
    ) -> EpochResult:
        self.method.end_epoch()
        if self.scheduler is not None:
            with warnings.catch_warnings():
                # resumed after the epoch's last step, this process has not called
                # optimizer.step() itself, which the scheduler would warn about
                warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step()`")
                self.scheduler.step()
        steps = max(progress.steps, 1)
        train = {
            f"{task.name}.loss": value
            for task, value in zip(self.tasks, (progress.loss_sums / steps).tolist(), strict=True)
        }
        if progress.weighted_steps:
            weights = (progress.weight_sums / progress.weighted_steps).tolist()
            train.update(
                {f"weight.{task.name}": w for task, w in zip(self.tasks, weights, strict=True)}
            )
        for name, count in sorted(self.method.events.items()):
            train[f"events.{name}"] = float(count)
        self.event_totals.update(self.method.events)
        self.method.events.clear()
        for observer in self.observers:
            train.update(observer.end_epoch(epoch))
        score = self.selection.score(val)
        val = {**val, "selection_score": score}
        if self.best_epoch == 0 or (math.isfinite(score) and score < self.best_score):
            self.best_epoch, self.best_score = epoch, score if math.isfinite(score) else math.inf
        self.epoch = epoch
        self.progress = None
        non_finite = not all(math.isfinite(train[f"{t.name}.loss"]) for t in self.tasks)
        if progress.stopped_early is not None or non_finite:
            self.diverged_at = epoch  # nothing after a non-finite loss is worth training
            reason = progress.stopped_early or "diverged (non-finite loss)"
            self.notes.append(f"training {reason} in epoch {epoch}; stopped there")
        return EpochResult(epoch, {"train": train, "val": val, "test": test}, score, seconds)

    @property
    def is_new_best(self) -> bool:
        """Whether the epoch just completed is the selected one so far."""
        return self.epoch > 0 and self.best_epoch == self.epoch

    # ---- state -------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: a plain dict for ``torch.save``."""
        progress = None
        if self.progress is not None:
            progress = {
                "order": self.progress.order,
                "steps": self.progress.steps,
                "loss_sums": self.progress.loss_sums.cpu(),
                "weight_sums": self.progress.weight_sums.cpu(),
                "weighted_steps": self.progress.weighted_steps,
                "stopped_early": self.progress.stopped_early,
            }
        return {
            "format": CHECKPOINT_FORMAT,
            "run_key": self.config.run_key,
            "epoch": self.epoch,
            "progress": progress,
            "model": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "method": self.method.state_dict(),
            "method_events": dict(self.method.events),
            "selection": {
                "rule": self.selection.name,
                "best_epoch": self.best_epoch,
                "best_score": self.best_score,
                "diverged_at": self.diverged_at,
                "notes": list(self.notes),
                "event_totals": dict(self.event_totals),
            },
            "order_generator": self.order_generator.get_state(),
            "rng": capture_rng_states(self.device),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(
                f"checkpoint format {state.get('format')!r} is not {CHECKPOINT_FORMAT}"
            )
        if state["run_key"] != self.config.run_key:
            raise ValueError(
                f"the checkpoint belongs to run {state['run_key']}, not {self.config.run_key}"
            )
        self.network.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.method.load_state_dict(_on_device(state["method"], self.device))
        self.method.events.clear()
        self.method.events.update(state["method_events"])
        selection = state["selection"]
        self.best_epoch = int(selection["best_epoch"])
        self.best_score = float(selection["best_score"])
        self.diverged_at = selection["diverged_at"]
        self.notes = list(selection["notes"])
        self.event_totals = Counter(selection["event_totals"])
        self.epoch = int(state["epoch"])
        progress = state["progress"]
        self.progress = None
        if progress is not None:
            self.progress = _EpochProgress(
                order=progress["order"],
                steps=int(progress["steps"]),
                loss_sums=progress["loss_sums"].to(self.device),
                weight_sums=progress["weight_sums"].to(self.device),
                weighted_steps=int(progress["weighted_steps"]),
                stopped_early=progress["stopped_early"],
            )
        self.order_generator.set_state(state["order_generator"])
        restore_rng_states(state["rng"], self.device)


def _on_device(state: Any, device: torch.device) -> Any:
    """A state tree (checkpoints load on the CPU) with its tensors moved to the run's device."""
    if isinstance(state, Tensor):
        return state.to(device)
    if isinstance(state, dict):
        return {key: _on_device(value, device) for key, value in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(_on_device(value, device) for value in state)
    return state


def capture_rng_states(device: torch.device) -> dict[str, Any]:
    """The global generators' states as plain values (``weights_only``-loadable)."""
    numpy_state = np.random.get_state()
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(np.asarray(numpy_state[1], dtype=np.int64)),
            "position": int(numpy_state[2]),
            "has_gauss": int(numpy_state[3]),
            "cached_gaussian": float(numpy_state[4]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
    }
    return states


def restore_rng_states(states: Mapping[str, Any], device: torch.device) -> None:
    python = states["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    numpy = states["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy["keys"].numpy().astype(np.uint32),
            numpy["position"],
            numpy["has_gauss"],
            numpy["cached_gaussian"],
        )
    )
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def train(
    config: RunConfig,
    data: DatasetSplits,
    device: str,
    selection: SelectionRule | None = None,
    on_epoch: Callable[[EpochResult], None] = lambda result: None,
    jacobian_mode: str = "auto",
    num_workers: int = 0,
) -> TrainingOutcome:
    """Train ``config`` on ``data`` from start to end in one go (no checkpoints)."""
    run = TrainingRun(config, data, device, selection, jacobian_mode, num_workers)
    while not run.finished:
        result = run.train_epoch()
        assert result is not None  # nothing asks it to stop
        on_epoch(result)
    return run.outcome()

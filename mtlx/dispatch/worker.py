"""Executing one planned run: claim it in the store, train, record every epoch, close it.

A run that raises is recorded FAILED with its traceback tail and the caller goes on; an interrupted
run is recorded KILLED. A heartbeat thread keeps the run's row fresh while it trains, so a worker
that dies leaves a run that the next sweep recognises as stale and retries.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from mtlx.analysis.delta_m import delta_m
from mtlx.data import DatasetSplits, build_dataset
from mtlx.dispatch.plan import RunOutcome, RunPlan
from mtlx.dispatch.progress import NullReporter, Reporter
from mtlx.engine.trainer import EpochResult, SelectionRule, train, validation_loss_rule
from mtlx.provenance import provenance
from mtlx.spec import RunConfig, stable_hash
from mtlx.store.runs import RunStore
from mtlx.store.schema import RunStatus
from mtlx.tasks import Task

HEARTBEAT_SECONDS = 30.0


@dataclass
class RunContext:
    """What every run of a sweep in this process shares: the store, the device, loaded data."""

    store: RunStore
    device: str
    data_root: Path | None = None
    jacobian_mode: str = "auto"
    num_workers: int = 0
    reporter: Reporter = field(default_factory=NullReporter)
    _datasets: dict[str, DatasetSplits] = field(default_factory=dict)

    def dataset(self, config: RunConfig) -> DatasetSplits:
        """Datasets are built once per process and shared by every run that asks for them."""
        key = stable_hash(config.dataset)
        if key not in self._datasets:
            options = {k: v for k, v in config.dataset.items() if k != "name"}
            self._datasets[key] = build_dataset(config.dataset["name"], self.data_root, **options)
        return self._datasets[key]


def selection_rule(config: RunConfig, tasks: list[Task], store: RunStore) -> SelectionRule:
    """Validation ΔM against the stored single-task baseline when one exists, else val loss.

    A single-task run selects on its task's primary validation metric.
    """
    if config.kind == "stl":
        (task,) = tasks
        metric = task.primary_metric
        higher = next(m.higher_is_better for m in task.metrics if m.name == metric)
        sign = -1.0 if higher else 1.0
        return SelectionRule(f"val_{metric}", lambda metrics: sign * metrics[metric])
    directions = {m.name: m.higher_is_better for task in tasks for m in task.metrics}
    baseline = store.baseline_values(config.baseline_key, "val")
    if all(name in baseline for name in directions):
        return SelectionRule(
            "val_delta_m",
            lambda metrics: delta_m({k: metrics[k] for k in directions}, baseline, directions),
        )
    return validation_loss_rule(tasks)


def describe_metrics(tasks: list[Task]) -> dict[str, dict[str, object]]:
    return {
        task.name: {
            "primary": task.primary_metric,
            "metrics": {metric.name: metric.higher_is_better for metric in task.metrics},
        }
        for task in tasks
    }


class Heartbeat:
    """Refreshes a run's heartbeat every ``interval`` seconds on a daemon thread."""

    def __init__(self, store: RunStore, run_id: int, interval: float = HEARTBEAT_SECONDS) -> None:
        self.store, self.run_id, self.interval = store, run_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="mtlx-heartbeat")

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self.store.heartbeat(self.run_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def execute(plan: RunPlan, context: RunContext) -> RunOutcome:
    """Train ``plan`` unless it is finished or running elsewhere; record everything on the way."""
    store, config = context.store, plan.config
    claim = store.claim(config, plan.experiment, provenance(context.device))
    if claim.run_id is None:
        return RunOutcome(plan.run_key, "SKIPPED", claim.reason)
    run_id = claim.run_id
    context.reporter.run_started(plan, claim.reason)

    def on_epoch(result: EpochResult) -> None:
        store.record_epoch(run_id, result.epoch, result.metrics)
        context.reporter.epoch_finished(plan, result)

    try:
        with Heartbeat(store, run_id):
            data = context.dataset(config)
            tasks = [data.task(name) for name in config.tasks]
            store.set_data(run_id, data.provenance, describe_metrics(tasks))
            outcome = train(
                config,
                data,
                context.device,
                selection=selection_rule(config, tasks, store),
                on_epoch=on_epoch,
                jacobian_mode=context.jacobian_mode,
                num_workers=context.num_workers,
            )
        note = (
            f"training diverged (non-finite loss) in epoch {outcome.diverged_at}; stopped there"
            if outcome.diverged_at
            else None
        )
        store.finish(run_id, outcome.selected_epoch, outcome.selection_rule, note)
        result = RunOutcome(plan.run_key, RunStatus.FINISHED.value, claim.reason, note)
    except KeyboardInterrupt:
        store.fail(run_id, "interrupted (KeyboardInterrupt)", RunStatus.KILLED)
        context.reporter.run_finished(plan, RunOutcome(plan.run_key, RunStatus.KILLED.value))
        raise
    except Exception:  # a failing run is recorded and the sweep goes on
        error = traceback.format_exc()
        store.fail(run_id, error)
        result = RunOutcome(plan.run_key, RunStatus.FAILED.value, claim.reason, error)
    context.reporter.run_finished(plan, result)
    return result

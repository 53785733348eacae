"""Synthetic results databases of the real shapes: finished runs written through the schema as
training writes them, for tests, benchmarks and laying out reports without training.

Each run's metrics come from a quality per (method, optimizer, lr) — best at a middle learning
rate — plus seed noise, around the seed paper's single-task values, so selection, ΔM and fronts
behave as on real sweeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import Engine, insert, select

from mtlx.spec import stable_hash
from mtlx.store.schema import Baseline, EpochMetric, Run
from mtlx.tasks.kinds import TaskKind

CREATED = datetime(2026, 1, 1)
# The seed paper's NYUv2 / SegNet single-task row (Table A6), for values of a realistic scale.
REFERENCE = {
    "miou": 0.392, "pix_acc": 0.646, "abs_err": 0.607, "rel_err": 0.258, "mean": 24.74,
    "median": 18.49, "within_11.25": 0.308, "within_22.5": 0.582, "within_30": 0.700, "acc": 0.88,
}  # fmt: skip


@dataclass(frozen=True)
class SyntheticSweep:
    """What to write: a dataset × network with its tasks and a grid of finished runs."""

    dataset: str
    network: str
    tasks: dict[str, TaskKind]
    methods: Sequence[str] = ("ew", "uw")
    optimizers: Sequence[str] = ("adam", "sgd")
    lrs: Sequence[float] = (1e-4, 1e-3, 1e-2)
    seeds: Sequence[int] = (0, 1, 2)
    training: dict = field(default_factory=lambda: {"epochs": 2, "batch_size": 8})
    baseline: bool = True
    random_seed: int = 0

    @property
    def baseline_key(self) -> str:
        return stable_hash(
            {"dataset": {"name": self.dataset}, "network": {"name": self.network},
             "training": self.training}
        )  # fmt: skip

    def directions(self) -> dict[str, bool]:
        return {
            kind.name(task): kind.higher_is_better
            for task, task_kind in self.tasks.items()
            for kind in task_kind.metric_kinds
        }


def _value(suffix: str, higher: bool, quality: np.ndarray) -> np.ndarray:
    """A metric whose value improves by ``quality`` (relative) in its direction."""
    base = REFERENCE.get(suffix, 0.5)
    value = base * (1 + quality) if higher else base * (1 - quality)
    return np.clip(value, 1e-6, 1.0) if base <= 1.0 and higher else np.maximum(value, 1e-6)


def write_sweep(engine: Engine, sweep: SyntheticSweep) -> int:
    """Write the sweep's runs (FINISHED, selected epoch 1 of ``training.epochs``), their val and
    test metrics at every epoch, and — with ``baseline`` — single-task runs and the baseline.
    Returns the number of multi-task runs written."""
    rng = np.random.default_rng(sweep.random_seed)
    directions = sweep.directions()
    with engine.begin() as connection:
        start = connection.scalar(select(Run.id).order_by(Run.id.desc()).limit(1)) or 0
        grid = [
            (m, o, lr, s)
            for m in sweep.methods
            for o in sweep.optimizers
            for lr in sweep.lrs
            for s in sweep.seeds
        ]
        best = np.log10(np.sqrt(min(sweep.lrs) * max(sweep.lrs)))
        offsets = {(m, o): rng.normal(0, 0.04, len(sweep.tasks)) for m in sweep.methods
                   for o in sweep.optimizers}  # fmt: skip
        runs, metrics = [], []
        epochs = int(sweep.training.get("epochs", 1))
        task_metrics = {
            task: {"primary": kind.primary_metric(task),
                   "metrics": {k.name(task): k.higher_is_better for k in kind.metric_kinds}}
            for task, kind in sweep.tasks.items()
        }  # fmt: skip
        for index, (method, optimizer, lr, seed) in enumerate(grid, start=start + 1):
            config = {
                "dataset": {"name": sweep.dataset}, "network": {"name": sweep.network},
                "tasks": list(sweep.tasks), "method": {"name": method},
                "optimizer": {"name": optimizer, "lr": lr}, "training": sweep.training,
                "seed": seed,
            }  # fmt: skip
            runs.append(_run(index, config, "mtl", sweep, task_metrics, method, optimizer, lr,
                             seed, epochs))  # fmt: skip
            distance = abs(np.log10(lr) - best)
            for epoch in range(1, epochs + 1):
                for split in ("val", "test"):
                    quality = (
                        offsets[(method, optimizer)]
                        - 0.08 * distance
                        - 0.02 * (epochs - epoch)
                        + rng.normal(0, 0.02, len(sweep.tasks))
                    )
                    for task_index, task in enumerate(sweep.tasks):
                        for kind in sweep.tasks[task].metric_kinds:
                            value = _value(kind.suffix, kind.higher_is_better,
                                           quality[task_index:task_index + 1])[0]  # fmt: skip
                            metrics.append(_metric(index, epoch, split, kind.name(task), value))
                        metrics.append(_metric(index, epoch, split, f"{task}.loss",
                                               1.0 - quality[task_index]))  # fmt: skip
        connection.execute(insert(Run), runs)
        connection.execute(insert(EpochMetric), metrics)
        if sweep.baseline:
            _write_baseline(connection, sweep, directions, task_metrics, start + len(grid) + 1)
    return len(grid)


def _run(index, config, kind, sweep, task_metrics, method, optimizer, lr, seed, epochs):  # type: ignore[no-untyped-def]
    return {
        "id": index, "run_key": stable_hash(config), "kind": kind, "experiment": sweep.dataset,
        "dataset": sweep.dataset, "network": sweep.network,
        "tasks": ",".join(config["tasks"]), "method": method, "optimizer": optimizer,
        "lr": lr, "seed": seed, "baseline_key": sweep.baseline_key, "config": config,
        "status": "FINISHED", "attempt": 1, "created_at": CREATED, "started_at": CREATED,
        "heartbeat_at": CREATED, "finished_at": CREATED, "duration_s": 1.0,
        "epochs_completed": epochs, "selected_epoch": epochs,
        "selection_rule": "val_delta_m" if sweep.baseline else "val_loss", "error": None,
        "host": "synthetic", "device": "cpu", "python_version": "3", "torch_version": "-",
        "mtlx_version": "-", "git_commit": None, "data_provenance": {},
        "task_metrics": {t: task_metrics[t] for t in config["tasks"]},
    }  # fmt: skip


def _metric(run_id: int, epoch: int, split: str, name: str, value: float) -> dict:
    return {"run_id": run_id, "epoch": epoch, "split": split, "metric": name, "value": value}


def _write_baseline(connection, sweep, directions, task_metrics, first_id) -> None:  # type: ignore[no-untyped-def]
    rows, runs = [], []
    index = first_id
    for task, kind in sweep.tasks.items():
        for lr in sweep.lrs:
            config = {
                "dataset": {"name": sweep.dataset}, "network": {"name": sweep.network},
                "tasks": [task], "method": {"name": "stl"},
                "optimizer": {"name": "adam", "lr": lr}, "training": sweep.training, "seed": 0,
            }  # fmt: skip
            run = _run(index, config, "stl", sweep, task_metrics, "stl", "adam", lr, 0, 1)
            run["selection_rule"] = f"val_{kind.primary_metric(task)}"
            runs.append(run)
            index += 1
        chosen = sorted(sweep.lrs)[len(sweep.lrs) // 2]
        for split in ("val", "test"):
            for metric_kind in kind.metric_kinds:
                rows.append(
                    {
                        "baseline_key": sweep.baseline_key, "dataset": sweep.dataset,
                        "network": sweep.network, "task": task, "split": split,
                        "metric": metric_kind.name(task),
                        "value": float(_value(metric_kind.suffix, metric_kind.higher_is_better,
                                              np.array([0.0]))[0]),
                        "std": 0.001, "seeds": len(sweep.seeds), "lr": chosen,
                        "source": "stl-baseline", "source_run_keys": [], "created_at": CREATED,
                    }
                )  # fmt: skip
    connection.execute(insert(Run), runs)
    connection.execute(insert(Baseline), rows)

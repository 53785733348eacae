"""Single-task baselines: the reference every ΔM is measured against.

Protocol (Elich et al., appendix A3.2): the same network with a single head, trained with Adam over
the learning-rate grid and several seeds, "stopped early based on the validation loss": each run's
epoch is the one with the lowest validation loss, and per task the learning rate with the lowest
seed-mean validation loss (at those epochs) is kept. The baseline of every metric is the seed mean
(± std) of those runs at their selected epochs — on validation (for model selection) and on test
(for reporting).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mtlx.analysis import select_best_lr
from mtlx.dispatch.plan import RunPlan
from mtlx.errors import UserError
from mtlx.spec import STL_METHOD, ExperimentSpec
from mtlx.store.runs import RunStore

BASELINE_SOURCE = "stl-baseline"


def stl_plans(
    spec: ExperimentSpec,
    tasks: Sequence[str],
    optimizer: str,
    lrs: str | Sequence[float],
    seeds: Sequence[int],
) -> list[RunPlan]:
    """One single-task run per task × learning rate × seed."""
    return [
        RunPlan(config, spec.name, spec.checkpoint_every)
        for task in tasks
        for config in spec.expand([task], [STL_METHOD], [optimizer], lrs, seeds)
    ]


class MissingRunsError(UserError, RuntimeError):
    """No finished single-task run to derive a baseline from."""


def derive_baselines(store: RunStore, baseline_key: str, tasks: Sequence[str]) -> pd.DataFrame:
    """Select each task's best single-task learning rate and store its metrics as the baseline.

    Returns the stored rows (task, split, metric, value, std, seeds, lr).
    """
    finished = store.selected_metrics(kind="stl", baseline_key=baseline_key)
    described = store.task_metrics(kind="stl", baseline_key=baseline_key)
    rows: list[dict[str, object]] = []
    for task in tasks:
        runs = finished[finished["tasks"] == task] if not finished.empty else finished
        if runs.empty or task not in described:
            raise MissingRunsError(
                f"no finished single-task run of task {task!r} (baseline key {baseline_key}); "
                "train them with `mtlx stl-baseline`"
            )
        directions: dict[str, bool] = dict(described[task]["metrics"])  # type: ignore[arg-type]
        validation = runs[runs["split"] == "val"]
        chosen = select_best_lr(
            validation, f"{task}.loss", lower_is_better=True, group_by=("tasks",)
        )
        chosen_keys = sorted(chosen["run_key"])
        lr = float(chosen["lr"].iloc[0])
        for split in ("val", "test"):
            split_rows = runs[(runs["split"] == split) & runs["run_key"].isin(chosen_keys)]
            for metric in directions:
                values = split_rows[metric].astype(float)
                rows.append(
                    {
                        "baseline_key": baseline_key,
                        "dataset": str(runs["dataset"].iloc[0]),
                        "network": str(runs["network"].iloc[0]),
                        "task": task,
                        "split": split,
                        "metric": metric,
                        "value": float(values.mean()),
                        "std": float(values.std(ddof=1)) if len(values) > 1 else None,
                        "seeds": len(values),
                        "lr": lr,
                        "source": BASELINE_SOURCE,
                        "source_run_keys": chosen_keys,
                    }
                )
    store.save_baselines(rows)
    return pd.DataFrame(rows)

"""Pareto fronts and the seed paper's PO counts (Table 2 by optimizer, Table A2 by method ×
optimizer) over one setup's runs.

Objectives are either every test metric (``metrics``, each with its direction) or one per task
(``tasks``): the task's ΔM, the mean of its direction-normalised metrics relative to the
single-task baseline, ``100/K_t · Σ_{k∈t} s_k (M_k − B_k)/B_k``, lower is better. With NYUv2's
nine raw metrics almost every run is non-dominated; the three task objectives ask whether a run
is better for some task, which is what a reader of Table 2 wants to know.

**PO (full)**: a run on the front of the whole population. **PO w.r.t. G**: a run dominated by
no run of group G (``vs``), or, without ``vs``, by no run of any other group — the paper's "PO
w.r.t. SGD" for the Adam runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mtlx.analysis.comparison import DELTA_M, TRAINED, Baseline, Comparison
from mtlx.analysis.pareto import dominated_by, pareto_mask
from mtlx.analysis.summaries import SelectedRuns, imported_with_delta_m, select_runs
from mtlx.errors import UserError

OBJECTIVES = ("metrics", "tasks")
GROUPINGS: dict[str, tuple[str, ...]] = {
    "optimizer": ("optimizer",),
    "method": ("method",),
    "method-optimizer": ("method", "optimizer"),
}
GROUP = "group"  # the points' column naming their group (``adam``, ``ew+adam``)


class ParetoOptionError(UserError, ValueError):
    """An objective, grouping or ``--vs`` group that this analysis cannot use."""


def task_delta_m_name(task: str) -> str:
    return f"{DELTA_M}.{task}"


def objective_columns(comparison: Comparison, kind: str) -> dict[str, bool]:
    """Objective column → higher is better, for ``kind`` ``metrics`` or ``tasks``."""
    if kind == "metrics":
        return dict(comparison.directions)
    if kind == "tasks":
        if not comparison.has_baseline and not comparison.imported_baselines:
            raise ParetoOptionError(
                f"--objectives tasks needs a baseline: {comparison.missing_baseline_message()}"
            )
        return {task_delta_m_name(task): False for task in comparison.tasks}
    raise ParetoOptionError(f"--objectives must be one of {', '.join(OBJECTIVES)}, got {kind!r}")


def task_delta_m(
    frame: pd.DataFrame, baseline: Baseline, directions: dict[str, bool], tasks: Sequence[str]
) -> pd.DataFrame:
    """One ``delta_m.<task>`` column per task: ``100/K_t Σ_{k∈t} s_k (M_k − B_k)/B_k``."""
    columns = {}
    for task in tasks:
        names = [name for name in directions if name.split(".", 1)[0] == task]
        signs = np.array([-1.0 if directions[name] else 1.0 for name in names])
        base = np.array([baseline.test[name] for name in names])
        values = frame[names].to_numpy(float)
        columns[task_delta_m_name(task)] = 100.0 * (signs * (values - base) / base).mean(axis=1)
    return pd.DataFrame(columns, index=frame.index)


@dataclass
class ParetoResult:
    """``points``: the population (source, method, optimizer, lr, seed, metrics, ΔM, task ΔMs)
    with ``group``, ``pareto_optimal`` and ``po_vs``; ``counts``: per group ``runs``,
    ``po_full`` and ``po_vs`` (missing for the ``vs`` group itself)."""

    comparison: Comparison
    points: pd.DataFrame
    counts: pd.DataFrame
    objectives: dict[str, bool]
    by: str
    vs: str | None
    population: str
    left_out: int  # runs without a finite value for every objective


def population(
    comparison: Comparison,
    all_lrs: bool = False,
    seed_mean: bool = False,
    selected: SelectedRuns | None = None,
) -> tuple[pd.DataFrame, str]:
    """The points: each trained run (every seed) at its selected learning rate — or every
    finished run with ``all_lrs`` — and each imported result; ``seed_mean`` averages the seeds
    of each (source, method, optimizer, lr) into one point."""
    if all_lrs:
        trained = comparison.with_delta_m(comparison.test, "test")
        described = "every learning rate"
    else:
        trained = (selected or select_runs(comparison)).runs
        described = "each method × optimizer at its selected learning rate"
    parts = [trained.assign(source=TRAINED)] if not trained.empty else []
    if comparison.has_baseline and not trained.empty:
        assert comparison.baseline is not None
        parts[0] = parts[0].join(
            task_delta_m(trained, comparison.baseline, comparison.directions, comparison.tasks)
        )
    if not comparison.imported.empty:
        imported = imported_with_delta_m(comparison)
        for source, rows in imported.groupby("source", sort=False):
            baseline = comparison.imported_baselines.get(str(source))
            if baseline is not None and baseline.covers(comparison.metrics):
                imported.loc[rows.index, list(_task_columns(comparison))] = task_delta_m(
                    rows, baseline, comparison.directions, comparison.tasks
                ).to_numpy()
        parts.append(imported)
    columns = ["source", "run_key", "method", "optimizer", "lr", "seed", *comparison.metrics]
    columns.append(DELTA_M)
    columns += list(_task_columns(comparison))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    frame = frame.reindex(columns=columns)
    frame["seeds"] = 1
    if seed_mean and not frame.empty:
        keys = ["source", "method", "optimizer", "lr"]
        values = [c for c in columns if c not in (*keys, "seed", "run_key")]
        grouped = frame.groupby(keys, sort=True, dropna=False)
        frame = grouped[values].mean().join(grouped.size().rename("seeds")).reset_index()
        frame["seed"] = np.nan
        frame["run_key"] = None
        frame = frame.reindex(columns=[*columns, "seeds"])
        described += ", seeds averaged"
    return frame, described


def _task_columns(comparison: Comparison) -> list[str]:
    return [task_delta_m_name(task) for task in comparison.tasks]


def group_labels(frame: pd.DataFrame, by: str) -> pd.Series:
    """Each point's group: ``adam``; ``ew``; ``ew+adam`` for method-optimizer."""
    if by not in GROUPINGS:
        raise ParetoOptionError(f"--by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    columns = GROUPINGS[by]
    labels = frame[columns[0]].astype(str)
    for column in columns[1:]:
        labels = labels + "+" + frame[column].astype(str)
    return labels


def pareto_analysis(
    comparison: Comparison,
    objectives: str = "metrics",
    by: str = "optimizer",
    vs: str | None = None,
    all_lrs: bool = False,
    seed_mean: bool = False,
    selected: SelectedRuns | None = None,
) -> ParetoResult:
    """The front and the PO counts of one setup (see the module docstring)."""
    columns = objective_columns(comparison, objectives)
    points, described = population(comparison, all_lrs, seed_mean, selected)
    complete = points.dropna(subset=list(columns)).reset_index(drop=True)
    complete[GROUP] = group_labels(complete, by)
    if vs is not None and vs not in set(complete[GROUP]):
        raise ParetoOptionError(
            f"--vs {vs!r} is not a group of {comparison.label} by {by}; groups: "
            f"{', '.join(sorted(set(complete[GROUP]))) or 'none'}"
        )
    values = complete[list(columns)].to_numpy(float)
    directions = list(columns.values())
    complete["pareto_optimal"] = pareto_mask(values, directions) if len(values) else []
    po_vs = pd.Series(pd.NA, index=complete.index, dtype="boolean")
    labels = complete[GROUP].to_numpy()
    for group in sorted(set(labels)):
        if group == vs:
            continue
        members = labels == group
        rivals = labels == vs if vs is not None else ~members
        po_vs[members] = ~dominated_by(values[members], values[rivals], directions)
    complete["po_vs"] = po_vs
    grouped = complete.groupby(GROUP, sort=True)
    counts = pd.DataFrame(
        {
            "runs": grouped.size(),
            "po_full": grouped["pareto_optimal"].sum().astype(int),
            "po_vs": grouped["po_vs"].sum(min_count=1).astype("Int64"),
        }
    ).reset_index()
    if vs is not None:
        counts.loc[counts[GROUP] == vs, "po_vs"] = pd.NA
    return ParetoResult(
        comparison=comparison,
        points=complete,
        counts=counts,
        objectives=columns,
        by=by,
        vs=vs,
        population=described,
        left_out=len(points) - len(complete),
    )

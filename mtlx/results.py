"""From the database to the protocol's tables: lr selection, ΔM, Pareto fronts, PO counts.

A *setup* is what runs must share to be compared: dataset, network and training schedule (the
``baseline_key``). Within a setup, each (method, optimizer) is represented by the runs — all seeds
— of its learning rate with the best seed-mean validation score: validation ΔM against the
single-task baseline when one is stored, else the sum of the validation task losses. Test metrics
are only ever reported, never used to choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtlx.analysis import (
    delta_m_column,
    learning_rates_on_the_edge,
    pareto_mask,
    pareto_optimal_counts,
    seed_summary,
    select_best_lr,
)
from mtlx.errors import UserError
from mtlx.report import Column, ReportTable
from mtlx.store.runs import RunStore

DELTA_M = "delta_m"
VAL_LOSS = "val_loss"
IDENTITY = ["run_key", "method", "optimizer", "lr", "seed", "selection_rule"]


class NoResultsError(UserError, LookupError):
    """No finished run matches what was asked for."""


@dataclass
class Setup:
    """The finished multi-task runs of one dataset × network × training schedule."""

    dataset: str
    network: str
    baseline_key: str
    tasks: list[str]
    directions: dict[str, bool]  # every task metric → higher is better
    val: pd.DataFrame  # one row per run: identity columns + metrics
    test: pd.DataFrame
    baseline_val: dict[str, float] = field(default_factory=dict)
    baseline_test: dict[str, float] = field(default_factory=dict)
    baseline_rows: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def has_baseline(self) -> bool:
        return all(m in self.baseline_val and m in self.baseline_test for m in self.directions)

    @property
    def label(self) -> str:
        return f"{self.dataset} / {self.network}"

    def missing_baseline_message(self) -> str:
        missing = [m for m in self.directions if m not in self.baseline_test]
        return (
            f"no single-task baseline for {self.label} (baseline key {self.baseline_key}; "
            f"missing: {', '.join(missing)}): ΔM needs one — run `mtlx stl-baseline {self.dataset}`"
        )


def load_setups(store: RunStore, dataset: str, network: str | None = None) -> list[Setup]:
    """Every setup with finished multi-task runs of ``dataset`` (optionally one network)."""
    frame = store.selected_metrics(kind="mtl", dataset=dataset, network=network)
    if frame.empty:
        where = f"dataset {dataset!r}" + (f", network {network!r}" if network else "")
        raise NoResultsError(f"no finished multi-task runs for {where} in this database")
    setups = []
    for (net, key), runs in frame.groupby(["network", "baseline_key"], sort=True):
        described = store.task_metrics(kind="mtl", baseline_key=key)
        tasks = str(runs["tasks"].iloc[0]).split(",")
        directions = {
            metric: bool(higher)
            for task in tasks
            for metric, higher in described[task]["metrics"].items()  # type: ignore[union-attr]
        }
        columns = [*IDENTITY, *directions, *(f"{t}.loss" for t in tasks)]
        split = {
            name: runs[runs["split"] == name].reindex(columns=columns).reset_index(drop=True)
            for name in ("val", "test")
        }
        setups.append(
            Setup(
                dataset=dataset,
                network=str(net),
                baseline_key=str(key),
                tasks=tasks,
                directions=directions,
                val=split["val"],
                test=split["test"],
                baseline_val=store.baseline_values(str(key), "val"),
                baseline_test=store.baseline_values(str(key), "test"),
                baseline_rows=store.baselines_frame(baseline_key=str(key)),
            )
        )
    return setups


def scored(setup: Setup, split: str) -> pd.DataFrame:
    """The split's runs with ``delta_m`` (if a baseline exists) and ``val_loss`` columns."""
    frame = (setup.val if split == "val" else setup.test).copy()
    baseline = setup.baseline_val if split == "val" else setup.baseline_test
    if setup.has_baseline:
        frame[DELTA_M] = delta_m_column(frame, baseline, setup.directions)
    frame[VAL_LOSS] = frame[[f"{t}.loss" for t in setup.tasks]].sum(axis=1, min_count=1)
    return frame


def selected_runs(setup: Setup) -> tuple[pd.DataFrame, str]:
    """Test rows of the runs at each (method, optimizer)'s best validation learning rate."""
    validation = scored(setup, "val")
    score = DELTA_M if setup.has_baseline else VAL_LOSS
    chosen = select_best_lr(validation, score, lower_is_better=True)
    test = scored(setup, "test")
    return test[test["run_key"].isin(chosen["run_key"])].reset_index(drop=True), score


def selection_note(setup: Setup, score: str, runs: pd.DataFrame) -> list[str]:
    rule = "validation ΔM" if score == DELTA_M else "validation loss (no single-task baseline yet)"
    notes = [f"learning rate chosen per method × optimizer by {rule}; test metrics reported"]
    if setup.has_baseline:
        old = int((runs["selection_rule"] != "val_delta_m").sum())
        if old:
            notes.append(
                f"{old} run(s) picked their epoch by validation loss (trained before the baseline "
                "existed)"
            )
    else:
        notes.append(setup.missing_baseline_message())
    for group, lr, edge in learning_rates_on_the_edge(setup.val, runs):
        notes.append(
            f"{group['method']} × {group['optimizer']}: the chosen lr {lr:g} is the {edge} of its "
            "grid; the best may lie outside it — extend the grid"
        )
    return notes


def table_columns(setup: Setup, last_text_column: str) -> list[Column]:
    """method, optimizer, lr, ``last_text_column``, every metric, and ΔM when it exists."""
    columns = [
        Column("method", "method"),
        Column("optimizer", "optimizer"),
        Column("lr", "lr"),
        Column(last_text_column, last_text_column),
        *(Column(m, m, higher_is_better=higher) for m, higher in setup.directions.items()),
    ]
    if setup.has_baseline:
        columns.append(Column(DELTA_M, "ΔM %", higher_is_better=False, precision=2))
    return columns


def delta_m_table(setup: Setup) -> ReportTable:
    """Per method × optimizer at its selected lr: test metrics and ΔM, mean ± std over seeds."""
    runs, score = selected_runs(setup)
    metrics = list(setup.directions)
    with_delta = [*metrics, DELTA_M] if setup.has_baseline else metrics
    summary = seed_summary(runs, ["method", "optimizer", "lr"], with_delta)
    if setup.has_baseline:
        summary = summary.sort_values(DELTA_M, kind="stable")
    columns = table_columns(setup, "seeds")
    rows = []
    if setup.has_baseline:
        rows.append(baseline_row(setup))
    for record in summary.to_dict("records"):
        row: dict[str, object] = {
            "method": record["method"],
            "optimizer": record["optimizer"],
            "lr": f"{record['lr']:g}",
            "seeds": int(record["seeds"]),
        }
        for name in with_delta:
            row[name] = (record[name], record[f"{name}.std"])
        rows.append(row)
    return ReportTable(
        title=(
            f"ΔM vs single-task baselines — {setup.label}"
            if setup.has_baseline
            else f"test metrics (no single-task baseline yet) — {setup.label}"
        ),
        columns=columns,
        rows=rows,
        notes=[*selection_note(setup, score, runs), f"setup {setup.baseline_key}"],
        reference_rows=1 if setup.has_baseline else 0,
    )


def baseline_row(setup: Setup) -> dict[str, object]:
    test = setup.baseline_rows[setup.baseline_rows["split"] == "test"].set_index("metric")
    lrs = sorted({f"{lr:g}" for lr in test["lr"].dropna()})
    row: dict[str, object] = {
        "method": "single-task",
        "optimizer": "adam",
        "lr": "/".join(lrs),
        "seeds": int(test["seeds"].min()),
        DELTA_M: 0.0,
    }
    for metric in setup.directions:
        std = test.at[metric, "std"]
        row[metric] = (float(test.at[metric, "value"]), np.nan if std is None else float(std))
    return row


def pareto_population(setup: Setup, all_lrs: bool) -> tuple[pd.DataFrame, str]:
    if all_lrs:
        return scored(setup, "test"), "all learning rates"
    runs, _ = selected_runs(setup)
    return runs, "each method × optimizer at its selected learning rate"


def pareto_front_table(setup: Setup, all_lrs: bool = False) -> ReportTable:
    """The runs (one per seed) on the Pareto front of the test metrics."""
    runs, population = pareto_population(setup, all_lrs)
    metrics = list(setup.directions)
    complete = runs.dropna(subset=metrics)
    on_front = pareto_mask(complete[metrics].to_numpy(float), list(setup.directions.values()))
    front = complete[on_front]
    if setup.has_baseline:
        front = front.sort_values(DELTA_M, kind="stable")
    columns = table_columns(setup, "seed")
    rows = [
        {
            "method": record["method"],
            "optimizer": record["optimizer"],
            "lr": f"{record['lr']:g}",
            "seed": int(record["seed"]),
            **{name: record[name] for name in metrics},
            **({DELTA_M: record[DELTA_M]} if setup.has_baseline else {}),
        }
        for record in front.to_dict("records")
    ]
    notes = [f"{len(front)} of {len(complete)} runs are Pareto-optimal (population: {population})"]
    if len(complete) < len(runs):
        notes.append(f"{len(runs) - len(complete)} run(s) without finite metrics left out")
    return ReportTable(
        title=f"Pareto front — {setup.label}", columns=columns, rows=rows, notes=notes
    )


def po_counts_table(setup: Setup, group_by: str, all_lrs: bool = False) -> ReportTable:
    """Pareto-optimal counts per group, as the seed paper's Table 2."""
    runs, population = pareto_population(setup, all_lrs)
    complete = runs.dropna(subset=list(setup.directions))
    counts = pareto_optimal_counts(complete, setup.directions, group_by)
    columns = [
        Column(group_by, group_by),
        Column("runs", "runs"),
        Column("po_full", "PO (full)"),
        Column("po_vs_rest", f"PO w.r.t. other {group_by}s"),
    ]
    rows = [
        {key: (int(v) if key != group_by else v) for key, v in record.items()}
        for record in counts.to_dict("records")
    ]
    return ReportTable(
        title=f"Pareto-optimal runs by {group_by} — {setup.label}",
        columns=columns,
        rows=rows,
        notes=[f"population: {population}"],
    )


def runs_table(frame: pd.DataFrame, columns: Sequence[str], title: str) -> ReportTable:
    """A plain listing of runs (``mtlx runs``)."""
    return ReportTable(
        title=title,
        columns=[Column(c, c) for c in columns],
        rows=[
            {c: ("" if pd.isna(v) else v) for c, v in r.items()}
            for r in frame[list(columns)].to_dict("records")
        ],
    )

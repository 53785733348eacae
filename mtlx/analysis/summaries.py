"""The protocol's numbers per setup: runs at the selected learning rate and their seed summaries.

Within a setup, each (method, optimizer) is represented by the runs — all seeds — of its learning
rate with the best seed-mean validation score: validation ΔM against the single-task baseline when
one is stored, else the sum of the validation task losses (Elich et al., appendix A3). Test
metrics are only ever reported, never used to choose. Imported results come with their learning
rate already chosen by their source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mtlx.analysis.comparison import DELTA_M, TRAINED, VAL_LOSS, Baseline, Comparison
from mtlx.analysis.delta_m import delta_m_column
from mtlx.analysis.selection import learning_rates_on_the_edge, select_best_lr
from mtlx.analysis.summary import seed_summary

GROUP = ["source", "method", "optimizer"]
METHOD_FIRST = "ew"  # the reference every method is compared with leads the table


@dataclass
class SelectedRuns:
    """Test rows of each (method, optimizer)'s runs at its selected learning rate.

    ``runs``: run_key, method, optimizer, lr, seed, selection_rule, the metrics, ``delta_m``.
    ``score`` is what chose the learning rate (``delta_m`` or ``val_loss``); ``edges`` the
    groups whose choice is the smallest or largest learning rate they tried; ``loss_selected``
    how many runs picked their epoch by validation loss although a baseline now exists.
    """

    runs: pd.DataFrame
    score: str
    edges: list[tuple[dict[str, object], float, str]]
    loss_selected: int


def select_runs(comparison: Comparison) -> SelectedRuns:
    """Each (method, optimizer)'s runs at its best seed-mean validation learning rate."""
    if not comparison.has_trained_runs:
        return SelectedRuns(comparison.val.assign(**{DELTA_M: np.nan}), DELTA_M, [], 0)
    validation = comparison.with_delta_m(comparison.val, "val")
    score = DELTA_M if comparison.has_baseline else VAL_LOSS
    chosen = select_best_lr(validation, score, lower_is_better=True)
    test = comparison.with_delta_m(comparison.test_of(chosen.index.tolist()), "test")
    runs = test[test.index.isin(chosen.index)].reset_index(drop=True)
    loss_selected = 0
    if comparison.has_baseline:
        loss_selected = int((runs["selection_rule"] != "val_delta_m").sum())
    edges = learning_rates_on_the_edge(comparison.val, runs)
    return SelectedRuns(runs, score, edges, loss_selected)


def imported_with_delta_m(comparison: Comparison) -> pd.DataFrame:
    """The imported rows with ``delta_m`` against the imported baseline of their own source
    (NaN when that source gave none): published numbers are compared with their own reference.
    """
    frame = comparison.imported.copy()
    frame[DELTA_M] = np.nan
    for source, rows in frame.groupby("source", sort=False):
        baseline = comparison.imported_baselines.get(str(source))
        if baseline is not None and baseline.covers(comparison.metrics):
            frame.loc[rows.index, DELTA_M] = delta_m_column(
                rows, baseline.test, comparison.directions
            )
    return frame


def method_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows ordered as the seed paper's tables: trained before imported, EW first, then methods
    alphabetically, optimizers alphabetically within a method."""
    key = pd.DataFrame(
        {
            "imported": frame["source"] != TRAINED,
            "source": frame["source"],
            "not_first": frame["method"].str.lower() != METHOD_FIRST,
            "method": frame["method"].str.lower(),
            "optimizer": frame["optimizer"].str.lower(),
        },
        index=frame.index,
    )
    order = key.sort_values(list(key.columns), kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def method_summary(comparison: Comparison, selected: SelectedRuns | None = None) -> pd.DataFrame:
    """One row per (source, method, optimizer): ``source`` (``trained`` or the import's),
    ``lr``, ``seeds``, every metric and ``delta_m`` as the seed mean with ``<name>.std``
    (sample std; NaN for one seed)."""
    selected = selected or select_runs(comparison)
    metrics = [*comparison.metrics, DELTA_M]
    parts = []
    if not selected.runs.empty:
        parts.append(selected.runs.assign(source=TRAINED))
    if not comparison.imported.empty:
        parts.append(imported_with_delta_m(comparison))
    if not parts:
        columns = [*GROUP, "lr", *(n for m in metrics for n in (m, f"{m}.std")), "seeds"]
        return pd.DataFrame(columns=columns)
    frame = pd.concat(parts, ignore_index=True)
    frame["lr"] = frame["lr"].astype(float)
    summary = seed_summary(frame, [*GROUP, "lr"], metrics)
    return method_order(summary)


def seed_counts(summary: pd.DataFrame) -> dict[int, list[str]]:
    """Seed count → the ``method × optimizer`` rows that have it (trained rows only)."""
    trained = summary[summary["source"] == TRAINED]
    counts: dict[int, list[str]] = {}
    for row in trained.itertuples():
        counts.setdefault(int(row.seeds), []).append(f"{row.method} × {row.optimizer}")
    return counts


@dataclass(frozen=True)
class BaselineRow:
    """The single-task row of a table: per metric (mean, std); per task lr and seeds."""

    values: dict[str, tuple[float, float | None]]
    task_lrs: dict[str, float | None]
    task_seeds: dict[str, int | None]
    source: str


def baseline_row(baseline: Baseline, metrics: Sequence[str]) -> BaselineRow:
    return BaselineRow(
        values={name: (baseline.test[name], baseline.test_std.get(name)) for name in metrics},
        task_lrs=dict(baseline.task_lrs),
        task_seeds=dict(baseline.task_seeds),
        source=baseline.source,
    )

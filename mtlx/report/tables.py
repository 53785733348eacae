"""Tables from the analysis frames: the seed paper's results tables (A4–A7), the Pareto front,
the PO counts of Table 2 and Table A2, one run's metrics and the single-task baselines.

Every title, header and note is written here; the numbers come from :mod:`mtlx.analysis`
unchanged and are formatted by the renderers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from mtlx.analysis.comparison import DELTA_M, TRAINED, Comparison
from mtlx.analysis.fronts import ParetoResult, task_delta_m_name
from mtlx.analysis.summaries import SelectedRuns, baseline_row, seed_counts
from mtlx.errors import UserError
from mtlx.report.table import MISSING, Column, ReportTable, format_lr
from mtlx.tasks.kinds import metric_kind, split_metric_name, task_title

SINGLE_TASK = "single-task"
SOURCE_MARKS = ("†", "‡", "§", "¶")
DELTA_M_TITLE = "ΔM (%)"


class MetricChoiceError(UserError, ValueError):
    """``--metrics`` names a metric or task the table does not have."""


@dataclass(frozen=True)
class TableOptions:
    """How a results table is printed: ``precision`` (digits after the point for every metric;
    None chooses per column), ``show_std``, and ``metrics`` (stable names or task names; None
    means all)."""

    precision: int | None = None
    show_std: bool = True
    metrics: tuple[str, ...] | None = None


def source_marks(sources: Sequence[str]) -> dict[str, str]:
    """A mark for each imported source, in order: †, ‡, §, ¶, then †5, †6…"""
    marks = {}
    for index, source in enumerate(dict.fromkeys(sources)):
        marks[source] = SOURCE_MARKS[index] if index < len(SOURCE_MARKS) else f"†{index + 1}"
    return marks


def chosen_metrics(comparison: Comparison, options: TableOptions) -> list[str]:
    """The metrics to show, in table order: all, or those ``--metrics`` names."""
    if options.metrics is None:
        return comparison.metrics
    chosen = []
    for name in options.metrics:
        matches = [
            metric
            for metric in comparison.metrics
            if metric == name or split_metric_name(metric)[0] == name
        ]
        if not matches:
            raise MetricChoiceError(
                f"--metrics: {name!r} is neither a metric nor a task of {comparison.label}; "
                f"metrics: {', '.join(comparison.metrics)}"
            )
        chosen += [metric for metric in matches if metric not in chosen]
    return [metric for metric in comparison.metrics if metric in chosen]


def metric_columns(
    comparison: Comparison, metrics: Sequence[str], precision: int | None
) -> list[Column]:
    """One column per metric, titled and grouped by its task as the task kinds declare."""
    columns = []
    for name in metrics:
        task = split_metric_name(name)[0]
        task_metrics = [m for m in comparison.metrics if split_metric_name(m)[0] == task]
        kind = metric_kind(name, comparison.directions[name])
        columns.append(
            Column(
                name,
                kind.title,
                higher_is_better=comparison.directions[name],
                precision=precision,
                group=task_title(task, task_metrics),
                percent=kind.percent,
            )
        )
    return columns


def table_label(comparison: Comparison, index: int, prefix: str = "tab:mtlx") -> str:
    label = f"{prefix}-{comparison.dataset}-{comparison.network}"
    return label if index == 0 else f"{label}-{index + 1}"


def results_table(
    comparison: Comparison,
    summary: pd.DataFrame,
    selected: SelectedRuns,
    options: TableOptions | None = None,
    marks: dict[str, str] | None = None,
    label: str | None = None,
) -> ReportTable:
    """The seed paper's Tables A4–A7: the single-task row, then one row per method × optimizer
    at its selected learning rate, test metrics and ΔM as mean ± std over seeds."""
    options = options or TableOptions()
    marks = marks or {}
    metrics = chosen_metrics(comparison, options)
    has_delta = bool(summary[DELTA_M].notna().any()) if not summary.empty else False
    columns = [Column("method", "Method"), Column("optimizer", "Optimizer"), Column("lr", "lr")]
    columns += metric_columns(comparison, metrics, options.precision)
    if has_delta or comparison.has_baseline:
        precision = 2 if options.precision is None else options.precision
        columns.append(Column(DELTA_M, DELTA_M_TITLE, higher_is_better=False, precision=precision))
    rows: list[dict[str, object]] = []
    notes: list[str] = []
    if comparison.has_baseline:
        assert comparison.baseline is not None
        reference = baseline_row(comparison.baseline, metrics)
        lrs = {lr for lr in reference.task_lrs.values()}
        rows.append(
            {
                "method": SINGLE_TASK,
                "optimizer": "adam",
                "lr": format_lr(next(iter(lrs))) if len(lrs) == 1 else "per task",
                **reference.values,
                DELTA_M: 0.0,
            }
        )
        if len(lrs) > 1:
            notes.append(
                "single-task learning rates: "
                + ", ".join(f"{t} {format_lr(lr)}" for t, lr in reference.task_lrs.items())
            )
    reference_rows = len(rows)
    breaks, sections = set(), set()
    previous = None
    for record in summary.to_dict("records"):
        imported = record["source"] != TRAINED
        if imported and (previous is None or previous[0] == TRAINED) and len(rows):
            sections.add(len(rows) - 1)
        elif previous is not None and previous[1] != record["method"] and len(rows):
            breaks.add(len(rows) - 1)
        previous = (record["source"], record["method"])
        method = str(record["method"])
        if imported:
            method += marks.get(str(record["source"]), "")
        row: dict[str, object] = {
            "method": method,
            "optimizer": record["optimizer"],
            "lr": format_lr(record["lr"]),
        }
        for name in [*metrics, DELTA_M]:
            row[name] = (record[name], record[f"{name}.std"])
        rows.append(row)
    notes = _results_notes(comparison, summary, selected, metrics, marks) + notes
    title = f"{comparison.label}: test metrics"
    title += " and ΔM vs single-task baselines" if comparison.has_baseline else ""
    return ReportTable(
        title=title,
        columns=columns,
        rows=rows,
        notes=notes,
        reference_rows=reference_rows,
        label=label,
        breaks=breaks,
        sections=sections,
    )


def _results_notes(
    comparison: Comparison,
    summary: pd.DataFrame,
    selected: SelectedRuns,
    metrics: Sequence[str],
    marks: dict[str, str],
) -> list[str]:
    notes = []
    if comparison.setup_key is not None:
        notes.append(f"setup: {comparison.setup}")
    counts = seed_counts(summary)
    if len(counts) == 1:
        (seeds,) = counts
        notes.append(f"mean ± std over {seeds} seed{'s' if seeds != 1 else ''}")
    elif counts:
        most = max(counts, key=lambda n: (len(counts[n]), n))
        uneven = "; ".join(
            f"{n} for {', '.join(rows)}" for n, rows in sorted(counts.items()) if n != most
        )
        notes.append(f"uneven seed counts: mean ± std over {most} seeds, but {uneven}")
    if comparison.has_trained_runs:
        rule = (
            "validation ΔM"
            if selected.score == DELTA_M
            else "validation loss (no single-task baseline yet)"
        )
        notes.append(f"learning rate chosen per method × optimizer by {rule}; test metrics shown")
    if selected.loss_selected:
        notes.append(
            f"{selected.loss_selected} run(s) picked their epoch by validation loss (trained "
            "before the baseline existed)"
        )
    if comparison.has_trained_runs and not comparison.has_baseline:
        notes.append(comparison.missing_baseline_message())
    for group, lr, edge in selected.edges:
        notes.append(
            f"{group['method']} × {group['optimizer']}: the chosen lr {format_lr(lr)} is the "
            f"{edge} of its grid; the best may lie outside it — extend the grid"
        )
    for task, lr, edge in comparison.baseline_edges:
        notes.append(
            f"single-task {task}: the chosen lr {format_lr(lr)} is the {edge} of its grid; "
            "the best may lie outside it — extend the grid"
        )
    percent = [
        metric_kind(m, comparison.directions[m]).title
        for m in metrics
        if metric_kind(m, comparison.directions[m]).percent
    ]
    if percent:
        notes.append(f"in %: {', '.join(dict.fromkeys(percent))}")
    imported = summary[summary["source"] != TRAINED] if not summary.empty else summary
    for source in dict.fromkeys(imported["source"]) if not imported.empty else []:
        has_delta = bool(imported.loc[imported["source"] == source, DELTA_M].notna().any())
        notes.append(
            f"{marks.get(str(source), '')} imported from {source}: its own learning rates and "
            + (
                "baseline"
                if has_delta
                else "no single-task baseline, so no ΔM (import one with --baseline)"
            )
        )
    return notes


def front_table(result: ParetoResult, marks: dict[str, str] | None = None) -> ReportTable:
    """The points on the Pareto front (one per seed, or per seed mean)."""
    comparison = result.comparison
    marks = marks or {}
    front = result.points[result.points["pareto_optimal"]]
    if DELTA_M in front and front[DELTA_M].notna().any():
        front = front.sort_values(DELTA_M, kind="stable")
    columns = [
        Column("method", "Method"),
        Column("optimizer", "Optimizer"),
        Column("lr", "lr"),
        Column("seed", "Seed" if "seeds" not in front or (front["seeds"] <= 1).all() else "Seeds"),
    ]
    if set(result.objectives) <= set(comparison.metrics):
        columns += metric_columns(comparison, list(result.objectives), None)
    else:
        columns += [
            Column(task_delta_m_name(t), f"ΔM {t} (%)", higher_is_better=False, precision=2)
            for t in comparison.tasks
        ]
    has_delta = DELTA_M in front and bool(front[DELTA_M].notna().any())
    if has_delta and DELTA_M not in result.objectives:
        columns.append(Column(DELTA_M, DELTA_M_TITLE, higher_is_better=False, precision=2))
    rows = []
    for record in front.to_dict("records"):
        method = str(record["method"])
        if record["source"] != TRAINED:
            method += marks.get(str(record["source"]), "")
        seed = record["seed"]
        row: dict[str, object] = {
            "method": method,
            "optimizer": record["optimizer"],
            "lr": format_lr(record["lr"]),
            "seed": (
                f"{int(record['seeds'])} (mean)"
                if record.get("seeds", 1) > 1
                else MISSING
                if seed is None or (isinstance(seed, float) and math.isnan(seed))
                else int(seed)
            ),
        }
        for column in columns[4:]:
            row[column.key] = record[column.key]
        rows.append(row)
    notes = [
        f"{len(front)} of {len(result.points)} runs {'is' if len(front) == 1 else 'are'} "
        "Pareto-optimal "
        f"(population: {result.population}; objectives: {_objectives_text(result)})"
    ]
    if result.left_out:
        notes.append(f"{result.left_out} run(s) without a finite value of every objective left out")
    return ReportTable(
        title=f"Pareto front — {comparison.label}",
        columns=columns,
        rows=rows,
        notes=notes,
        rank=False,
    )


def _objectives_text(result: ParetoResult) -> str:
    if set(result.objectives) <= set(result.comparison.metrics):
        return f"{len(result.objectives)} test metrics"
    return "one ΔM per task"


def _vs_title(result: ParetoResult, group: str) -> str:
    if result.vs is not None:
        return f"PO w.r.t. {result.vs}"
    others = sorted(set(result.counts["group"]) - {group})
    return f"PO w.r.t. {others[0]}" if len(others) == 1 else "PO w.r.t. others"


def counts_table(results: Sequence[ParetoResult]) -> ReportTable:
    """PO counts of several setups. By optimizer or method, the seed paper's Table 2: one row
    per setup, per group the runs, PO (full) and PO w.r.t. the other groups (or ``vs``). By
    method × optimizer, its Table A2: one row per setup × optimizer, one column per method with
    its PO (full) count, and their total."""
    by = results[0].by
    several = len({(r.comparison.dataset, r.comparison.network) for r in results}) < len(results)
    text = [Column("dataset", "Dataset"), Column("network", "Network")]
    if several:
        text.append(Column("setup", "Setup"))
    if by == "method-optimizer":
        return _counts_by_method_and_optimizer(results, text)
    groups = list(dict.fromkeys(g for r in results for g in r.counts["group"]))
    columns = list(text)
    for group in groups:
        columns += [
            Column(f"{group}/runs", "Runs", group=group, align="right"),
            Column(f"{group}/po_full", "PO (full)", group=group, align="right"),
            Column(f"{group}/po_vs", _vs_title(results[0], group), group=group, align="right"),
        ]
    rows = []
    for result in results:
        row = _setup_cells(result, several)
        counts = result.counts.set_index("group")
        for group in groups:
            for name in ("runs", "po_full", "po_vs"):
                value = counts[name].get(group) if group in counts.index else None
                row[f"{group}/{name}"] = None if value is None or pd.isna(value) else int(value)
        rows.append(row)
    return ReportTable(
        title=f"Pareto-optimal runs by {by}",
        columns=columns,
        rows=rows,
        notes=_counts_notes(results),
        rank=False,
    )


def _counts_by_method_and_optimizer(
    results: Sequence[ParetoResult], text: list[Column]
) -> ReportTable:
    methods = sorted({m for r in results for m in r.points["method"]}, key=_method_key)
    columns = [*text, Column("optimizer", "Optimizer")]
    columns += [Column(f"po/{m}", m, group="PO (full)", align="right") for m in methods]
    columns.append(Column("total", "Total", align="right"))
    rows = []
    for result in results:
        points = result.points
        for optimizer in sorted(set(points["optimizer"])):
            of_optimizer = points[points["optimizer"] == optimizer]
            row = {**_setup_cells(result, "setup" in {c.key for c in text}), "optimizer": optimizer}
            for method in methods:
                mine = of_optimizer[of_optimizer["method"] == method]
                row[f"po/{method}"] = int(mine["pareto_optimal"].sum()) if len(mine) else None
            row["total"] = int(of_optimizer["pareto_optimal"].sum())
            rows.append(row)
    return ReportTable(
        title="Pareto-optimal runs by method × optimizer",
        columns=columns,
        rows=rows,
        notes=_counts_notes(results),
        rank=False,
    )


def _method_key(method: str) -> tuple[bool, str]:
    return (method.lower() != "ew", method.lower())


def _setup_cells(result: ParetoResult, with_setup: bool) -> dict[str, object]:
    comparison = result.comparison
    cells: dict[str, object] = {"dataset": comparison.dataset, "network": comparison.network}
    if with_setup:
        cells["setup"] = comparison.setup
    return cells


def _counts_notes(results: Sequence[ParetoResult]) -> list[str]:
    first = results[0]
    notes = [
        f"population: {first.population}; objectives: {_objectives_text(first)}",
        "PO (full): on the front of all runs of the setup; PO w.r.t. G: dominated by no run of "
        + (f"group {first.vs}" if first.vs else "another group"),
    ]
    left_out = sum(r.left_out for r in results)
    if left_out:
        notes.append(f"{left_out} run(s) without a finite value of every objective left out")
    if any((r.points["source"] != TRAINED).any() for r in results):
        notes.append("imported results take part as points of their own groups")
    return notes


def runs_table(frame: pd.DataFrame, columns: Sequence[str], title: str) -> ReportTable:
    """A plain listing of runs (``mtlx runs``)."""
    return ReportTable(
        title=title,
        columns=[Column(c, c) for c in columns],
        rows=[
            {c: ("" if pd.isna(v) else v) for c, v in r.items()}
            for r in frame[list(columns)].to_dict("records")
        ],
        rank=False,
    )


def _mean_std_text(mean: float, std: float | None) -> str:
    """``mean ± std`` with two decimals, or three significant digits for small values."""
    digits = 2
    if mean != 0 and math.isfinite(mean):
        digits = min(6, max(2, 2 - math.floor(math.log10(abs(mean)))))
    text = f"{mean:.{digits}f}"
    return text if std is None or math.isnan(std) else f"{text} ± {std:.{digits}f}"


def run_metrics_table(
    title: str, metrics: pd.DataFrame, described: dict[str, dict[str, object]]
) -> ReportTable:
    """One run's validation and test metrics at its selected epoch (``mtlx train``), grouped
    and titled by task; ``metrics`` is :meth:`RunStore.selected_metrics` of the run."""
    directions = {
        name: bool(higher)
        for task in described.values()
        for name, higher in task["metrics"].items()  # type: ignore[union-attr]
    }
    columns = [Column("split", "Split")]
    for name, higher in directions.items():
        task = split_metric_name(name)[0]
        kind = metric_kind(name, higher)
        group = task_title(task, [n for n in directions if split_metric_name(n)[0] == task])
        columns.append(Column(name, kind.title, higher, group=group, percent=kind.percent))
    rows = [
        {"split": record["split"], **{name: record.get(name) for name in directions}}
        for record in metrics.to_dict("records")
        if record["split"] in ("val", "test")
    ]
    return ReportTable(title=title, columns=columns, rows=rows, rank=False)


def baselines_table(title: str, rows: pd.DataFrame) -> ReportTable:
    """The stored single-task baselines (``mtlx stl-baseline``): per task, split and metric its
    value ± std, in the unit the field prints it, with the task's learning rate and seeds."""
    table_rows = []
    for record in rows.to_dict("records"):
        kind = metric_kind(record["metric"], True)
        table_rows.append(
            {
                "task": record["task"],
                "split": record["split"],
                "metric": kind.title + (" (%)" if kind.percent else ""),
                "value": _mean_std_text(kind.display(record["value"]), record["std"] and
                                        kind.display(record["std"])),
                "lr": format_lr(record["lr"]),
                "seeds": record["seeds"],
            }
        )  # fmt: skip
    return ReportTable(
        title=title,
        columns=[
            Column("task", "Task"),
            Column("split", "Split"),
            Column("metric", "Metric"),
            Column("value", "Mean ± std", align="right"),
            Column("lr", "lr"),
            Column("seeds", "Seeds", align="right"),
        ],
        rows=table_rows,
        rank=False,
    )

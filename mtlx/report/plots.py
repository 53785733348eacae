"""Figures from the same analysis frames as the tables, with matplotlib.

This module imports matplotlib; only the commands that draw import it. Figures use the
Okabe–Ito palette (distinguishable with every common colour-vision deficiency) and a marker per
group besides its colour, print metrics in the unit the tables use (percent where the field
does), and mark imported results with their source's sign.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import ParamSpec

import matplotlib as mpl
import matplotlib.lines
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mtlx.analysis.comparison import DELTA_M, TRAINED, Comparison
from mtlx.analysis.fronts import GROUP, ParetoResult, task_delta_m_name
from mtlx.analysis.pareto import pareto_mask
from mtlx.errors import UserError
from mtlx.report.table import format_lr
from mtlx.tasks.kinds import metric_kind, split_metric_name, task_title

P = ParamSpec("P")

# Okabe & Ito (2008), ordered so that the first colours differ most in lightness as well
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h")
LINE_STYLES = ("-", "--", ":", "-.")
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
    "savefig.dpi": 200,
}


class PlotChoiceError(UserError, ValueError):
    """An axis, metric or run the plot cannot draw."""


def styled(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def with_style(draw: Callable[P, Figure]) -> Callable[P, Figure]:
    """Draw the figure under :data:`STYLE`, without touching matplotlib's global settings."""

    @functools.wraps(draw)
    def drawn(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with mpl.rc_context(STYLE):
            return draw(*args, **kwargs)

    return drawn


def save(figure: Figure, path: str) -> None:
    """PNG or PDF by the file's suffix; no timestamps, so the same data gives the same file."""
    with mpl.rc_context(STYLE):
        figure.savefig(
            path,
            metadata={"CreationDate": None} if str(path).endswith(".pdf") else {"Software": None},
        )


def group_styles(groups: Sequence[str]) -> dict[str, tuple[str, str]]:
    """A (colour, marker) per group, stable in the groups' sorted order."""
    return {
        group: (PALETTE[index % len(PALETTE)], MARKERS[index % len(MARKERS)])
        for index, group in enumerate(sorted(dict.fromkeys(groups)))
    }


# ---- axes ------------------------------------------------------------------------------------


def axis_label(comparison: Comparison, column: str) -> str:
    """``Segmentation mIoU (%) ↑``, ``ΔM depth (%) ↓``, ``ΔM (%) ↓``."""
    if column == DELTA_M:
        return "ΔM (%) ↓"
    for task in comparison.tasks:
        if column == task_delta_m_name(task):
            return f"ΔM {task_title(task, _task_metrics(comparison, task))} (%) ↓"
    kind = metric_kind(column, comparison.directions[column])
    task = split_metric_name(column)[0]
    title = task_title(task, _task_metrics(comparison, task))
    unit = " (%)" if kind.percent else ""
    return f"{title} {kind.title}{unit} {'↑' if kind.higher_is_better else '↓'}"


def _task_metrics(comparison: Comparison, task: str) -> list[str]:
    return [m for m in comparison.metrics if split_metric_name(m)[0] == task]


def displayed(comparison: Comparison, column: str, values: pd.Series) -> pd.Series:
    """``values`` of ``column`` in the unit the tables print (× 100 for percentages)."""
    if column in comparison.directions and metric_kind(column, True).percent:
        return values.astype(float) * 100.0
    return values.astype(float)


def resolve_axis(comparison: Comparison, name: str) -> str:
    """``--x`` / ``--y``: a metric (``seg.miou``), a task (its ΔM), or ``delta_m``."""
    if name in comparison.directions or name == DELTA_M:
        return name
    if name in comparison.tasks:
        return task_delta_m_name(name)
    raise PlotChoiceError(
        f"{name!r} is neither a metric nor a task of {comparison.label}; metrics: "
        f"{', '.join(comparison.metrics)}; tasks: {', '.join(comparison.tasks)}; or delta_m"
    )


def default_axes(comparison: Comparison) -> tuple[str, str]:
    """The first two tasks' ΔM when a baseline exists, else their primary metrics; a single
    task's first two metrics."""
    if len(comparison.tasks) >= 2:
        if comparison.has_baseline or comparison.imported_baselines:
            return tuple(task_delta_m_name(t) for t in comparison.tasks[:2])  # type: ignore[return-value]
        return tuple(_task_metrics(comparison, t)[0] for t in comparison.tasks[:2])  # type: ignore[return-value]
    metrics = comparison.metrics
    if len(metrics) < 2:
        raise PlotChoiceError(f"{comparison.label} has one metric: nothing to plot against it")
    return metrics[0], metrics[1]


# ---- figures ---------------------------------------------------------------------------------


@with_style
def pareto_plot(
    result: ParetoResult, x: str, y: str, marks: dict[str, str] | None = None
) -> Figure:
    """Two objectives of every point, coloured by group; the front of these two drawn as steps;
    points on the front of all objectives (PO full) outlined in black."""
    comparison, points = result.comparison, result.points
    points = points.dropna(subset=[x, y])
    if points.empty:
        raise PlotChoiceError(f"{comparison.label}: no run has both {x} and {y}")
    figure = styled(5.2, 4.0)
    axes = figure.add_subplot()
    styles = group_styles(points[GROUP])
    xs, ys = displayed(comparison, x, points[x]), displayed(comparison, y, points[y])
    for group, (colour, marker) in styles.items():
        mine = (points[GROUP] == group).to_numpy()
        trained = mine & (points["source"] == TRAINED).to_numpy()
        full = points["pareto_optimal"].to_numpy(bool)
        axes.scatter(
            xs[trained & ~full],
            ys[trained & ~full],
            c=colour,
            marker=marker,
            s=22,
            alpha=0.55,
            linewidths=0,
            label=group,
        )
        axes.scatter(
            xs[trained & full],
            ys[trained & full],
            c=colour,
            marker=marker,
            s=34,
            edgecolors="black",
            linewidths=0.9,
            label=None if (trained & ~full).any() else group,
        )
        imported = mine & ~trained
        if imported.any():
            signs = _signs(marks, points["source"][imported])
            draw_imported(axes, xs[imported], ys[imported], colour, signs, f"{group} (imported)")
    directions = [_higher(comparison, x), _higher(comparison, y)]
    pairs = np.c_[xs.to_numpy(), ys.to_numpy()]
    front = pairs[pareto_mask(pairs, directions)]
    front = front[np.argsort(front[:, 0])]
    axes.step(
        front[:, 0],
        front[:, 1],
        where="pre" if directions[0] else "post",
        color="0.35",
        linewidth=1.0,
        zorder=0,
        label="front (these two)",
    )
    axes.set_xlabel(axis_label(comparison, x))
    axes.set_ylabel(axis_label(comparison, y))
    title = (
        f"{comparison.label}: {len(points)} runs by {result.by}\n"
        f"outlined: Pareto-optimal on every objective\n{result.population}"
    )
    if (points["source"] != TRAINED).any():
        title += "\n" + _sources_line(marks or {}, points["source"][points["source"] != TRAINED])
    axes.set_title(title, loc="left", fontsize=8)
    axes.legend(frameon=False, loc="best")
    return figure


def draw_imported(
    axes,  # type: ignore[no-untyped-def]
    xs: Sequence[float],
    ys: Sequence[float],
    colour: str,
    signs: Sequence[str],
    label: str | None,
) -> None:
    """Imported results: black-edged stars in their group's colour, each with its source's sign
    (the tables' † ‡ …)."""
    axes.scatter(
        xs, ys, c=colour, marker="*", s=110, edgecolors="black", linewidths=0.6, label=label
    )
    for x, y, sign in zip(xs, ys, signs, strict=True):
        axes.annotate(sign, (x, y), xytext=(5, 4), textcoords="offset points", fontsize=9)


def _signs(marks: dict[str, str] | None, sources: Sequence[object]) -> list[str]:
    """Each imported result's sign, by its source."""
    return [(marks or {}).get(str(source), "") for source in sources]


def _imported_points(comparison: Comparison, column: str) -> pd.DataFrame:
    """The imported results with ``column`` (a metric, or ΔM against their own source's
    baseline), one row per (source, method, optimizer, lr): the seed mean as ``value``."""
    if comparison.imported.empty:
        return pd.DataFrame(columns=["source", "method", "optimizer", "lr", "value"])
    from mtlx.analysis.summaries import imported_with_delta_m

    rows = imported_with_delta_m(comparison)
    rows = rows.assign(
        value=displayed(comparison, column, rows[column]), lr=rows["lr"].astype(float)
    )
    keys = ["source", "method", "optimizer", "lr"]
    return rows.groupby(keys, sort=True, dropna=False)["value"].mean().reset_index()


def _higher(comparison: Comparison, column: str) -> bool:
    return bool(comparison.directions.get(column, False))


@with_style
def parallel_plot(result: ParetoResult) -> Figure:
    """Every metric on its own vertical axis, scaled so that up is better; one line per run,
    coloured by group; runs on the front of all metrics bold (the seed paper's Figure 2)."""
    comparison = result.comparison
    metrics = comparison.metrics
    points = result.points.dropna(subset=metrics)
    if points.empty:
        raise PlotChoiceError(f"{comparison.label}: no run has every metric")
    values = np.column_stack([displayed(comparison, m, points[m]).to_numpy() for m in metrics])
    low, high = values.min(axis=0), values.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    scaled = (values - low) / span
    better_up = np.array([comparison.directions[m] for m in metrics])
    scaled = np.where(better_up, scaled, 1.0 - scaled)
    figure = styled(max(5.0, 1.0 + 0.85 * len(metrics)), 3.8)
    axes = figure.add_subplot()
    styles = group_styles(points[GROUP])
    positions = np.arange(len(metrics))
    full = points["pareto_optimal"].to_numpy(bool)
    for bold in (False, True):  # the front last, on top
        for group, (colour, _) in styles.items():
            rows = np.flatnonzero((points[GROUP] == group).to_numpy() & (full == bold))
            for row in rows:
                axes.plot(
                    positions,
                    scaled[row],
                    color=colour,
                    linewidth=2.2 if bold else 0.8,
                    alpha=1.0 if bold else 0.35,
                    linestyle="--" if points["source"].iloc[row] != TRAINED else "-",
                )
    for position in range(len(metrics)):
        axes.axvline(position, color="0.6", linewidth=0.6)
        top, bottom = (high, low) if better_up[position] else (low, high)
        axes.annotate(
            f"{top[position]:.3g}",
            (position, 1.03),
            xytext=(0, 0),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
        )
        axes.annotate(
            f"{bottom[position]:.3g}",
            (position, -0.03),
            xytext=(0, 0),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7,
        )
    axes.set_xticks(
        positions, [axis_label(comparison, m).replace(" ", "\n", 1) for m in metrics], fontsize=7
    )
    axes.xaxis.set_ticks_position("top")
    axes.set_yticks([])
    axes.set_ylim(-0.12, 1.12)
    axes.grid(False)
    for spine in ("left", "bottom", "top", "right"):
        axes.spines[spine].set_visible(False)
    handles = [
        mpl.lines.Line2D([], [], color=colour, linewidth=2.2, label=group)
        for group, (colour, _) in styles.items()
    ]
    axes.legend(handles=handles, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.suptitle(
        f"{comparison.label}: up is better; bold = Pareto-optimal ({int(full.sum())} of "
        f"{len(points)})",
        x=0.01,
        ha="left",
        fontsize=10,
    )
    return figure


@with_style
def lr_plot(comparison: Comparison, column: str, marks: dict[str, str] | None = None) -> Figure:
    """``column`` (a metric or ΔM) against the learning rate, one panel per optimizer, one line
    per method: the seed mean with a band of ± one std; the selected learning rate ringed.
    Imported results are stars at their learning rate, marked with their source's sign."""
    test = comparison.with_delta_m(comparison.test, "test")
    imported = _imported_points(comparison, column)
    placed = imported.dropna(subset=["lr", "value"])
    if column == DELTA_M and not comparison.has_baseline and placed.empty:
        raise PlotChoiceError(comparison.missing_baseline_message())
    if test.empty and placed.empty:
        raise PlotChoiceError(f"{comparison.label}: no trained runs to plot")
    test = test.assign(value=displayed(comparison, column, test[column]))
    from mtlx.analysis.summaries import select_runs

    chosen = select_runs(comparison).runs.groupby(["method", "optimizer"])["lr"].first()
    optimizers = sorted(set(test["optimizer"]) | set(placed["optimizer"]))
    styles = group_styles([*test["method"], *placed["method"]])
    figure = styled(min(12.0, 1.2 + 3.4 * len(optimizers)), 3.4)
    panels = figure.subplots(1, len(optimizers), sharey=True, squeeze=False)[0]
    trained_methods = set(test["method"])
    for axes, optimizer in zip(panels, optimizers, strict=True):
        for method, points in placed[placed["optimizer"] == optimizer].groupby("method"):
            signs = _signs(marks, points["source"])
            # a method known only from imports is named in the legend by its star
            label = None if str(method) in trained_methods else f"{method} (imported)"
            draw_imported(axes, points["lr"], points["value"], styles[str(method)][0], signs, label)
        for method, (colour, marker) in styles.items():
            runs = test[(test["optimizer"] == optimizer) & (test["method"] == method)]
            if runs.empty:
                continue
            stats = runs.groupby("lr")["value"].agg(["mean", "std", "size"]).sort_index()
            axes.plot(
                stats.index,
                stats["mean"],
                color=colour,
                marker=marker,
                markersize=4,
                linewidth=1.4,
                label=method,
            )
            band = stats["std"].fillna(0.0)
            axes.fill_between(
                stats.index,
                stats["mean"] - band,
                stats["mean"] + band,
                color=colour,
                alpha=0.15,
                linewidth=0,
            )
            best = chosen.get((method, optimizer))
            if best is not None and best in stats.index:
                axes.plot(
                    [best],
                    [stats.at[best, "mean"]],
                    marker="o",
                    markersize=10,
                    markerfacecolor="none",
                    markeredgecolor=colour,
                )
        axes.set_xscale("log")
        axes.set_title(optimizer, loc="left")
        axes.set_xlabel("learning rate")
    panels[0].set_ylabel(axis_label(comparison, column))
    legend: dict[str, object] = {}
    for axes in panels:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    if not placed.empty:
        legend.setdefault("imported", _imported_handle())
    panels[-1].legend(list(legend.values()), list(legend), frameon=False, loc="best")
    title = f"{comparison.label}: mean ± std over seeds; ringed: selected on validation"
    if not placed.empty:
        title += "\n" + _sources_line(marks or {}, placed["source"])
    unplaced = len(imported) - len(placed)
    if unplaced:
        title += f"\n{unplaced} imported result(s) without a learning rate or {column}: not drawn"
    figure.suptitle(title, x=0.01, ha="left", fontsize=10)
    return figure


def _sources_line(marks: dict[str, str], sources: Sequence[object]) -> str:
    """What the signs of the imported results drawn stand for: ``imported: † Paper 2024; ‡ …``."""
    drawn = {str(source) for source in sources}
    named = [f"{marks.get(source, '')} {source}".strip() for source in marks if source in drawn]
    named += sorted(source for source in drawn if source not in marks)
    return "imported: " + "; ".join(named)


def _imported_handle() -> matplotlib.lines.Line2D:
    return matplotlib.lines.Line2D(
        [], [], marker="*", markersize=10, color="0.6", markeredgecolor="black", linestyle=""
    )


@with_style
def optimizers_plot(
    comparison: Comparison,
    summary: pd.DataFrame,
    column: str,
    marks: dict[str, str] | None = None,
) -> Figure:
    """``column`` (ΔM by default) per method, one bar per optimizer with ± one std over seeds,
    each at its selected learning rate (the seed paper's Figure A3); imported results (rows of
    ``summary`` from another source) are stars over their optimizer's place, with their sign."""
    rows = summary[summary["source"] == TRAINED]
    imported = summary[(summary["source"] != TRAINED) & summary[column].notna()]
    if (rows.empty or rows[column].isna().all()) and imported.empty:
        raise PlotChoiceError(
            comparison.missing_baseline_message()
            if column == DELTA_M and not comparison.has_baseline
            else f"{comparison.label}: no {column} to plot"
        )
    methods = list(dict.fromkeys([*rows["method"], *imported["method"]]))
    optimizers = sorted(set(rows["optimizer"]) | set(imported["optimizer"]))
    colours = group_styles(optimizers)
    width = 0.8 / len(optimizers)
    figure = styled(max(4.5, 1.5 + 0.75 * len(methods) * max(1, len(optimizers) / 2)), 3.4)
    axes = figure.add_subplot()
    hatches = ("", "//", "..", "xx", "\\\\")
    for index, optimizer in enumerate(optimizers):
        mine = rows[rows["optimizer"] == optimizer].set_index("method").reindex(methods)
        means = displayed(comparison, column, mine[column])
        stds = displayed(comparison, column, mine[f"{column}.std"]).fillna(0.0)
        offsets = np.arange(len(methods)) - 0.4 + width * (index + 0.5)
        axes.bar(
            offsets,
            means,
            width,
            yerr=stds,
            color=colours[optimizer][0],
            hatch=hatches[index % len(hatches)],
            edgecolor="white",
            linewidth=0.5,
            capsize=2,
            error_kw={"linewidth": 0.8},
            label=optimizer,
        )
        theirs = imported[imported["optimizer"] == optimizer]
        if not theirs.empty:
            places = [offsets[methods.index(method)] for method in theirs["method"]]
            signs = _signs(marks, theirs["source"])
            values = displayed(comparison, column, theirs[column])
            draw_imported(axes, places, values, colours[optimizer][0], signs, None)
    axes.axhline(0.0, color="0.3", linewidth=0.8)
    axes.set_xticks(np.arange(len(methods)), methods, rotation=30 if len(methods) > 6 else 0)
    axes.set_ylabel(axis_label(comparison, column))
    axes.grid(axis="x", visible=False)
    handles, labels = axes.get_legend_handles_labels()
    if not imported.empty:
        handles.append(_imported_handle())
        labels.append("imported")
    axes.legend(handles, labels, frameon=False, title="optimizer")
    title = f"{comparison.label}\neach at its selected learning rate, ± std over seeds"
    if not imported.empty:
        title += "\n" + _sources_line(marks or {}, imported["source"])
    axes.set_title(title, loc="left", fontsize=8)
    return figure


@with_style
def curves_plot(history: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    """Per-epoch losses (train solid, validation dashed) and metrics (validation solid, test
    dashed) of the given runs, one panel per task and kind; the selected epoch dotted."""
    tasks = list(dict.fromkeys(t for text in runs["tasks"] for t in str(text).split(",")))
    panels = []
    for task in tasks:
        panels.append((task, "loss", [("train", f"{task}.loss"), ("val", f"{task}.loss")]))
        names = sorted(
            {m for m in history["metric"] if m.startswith(f"{task}.") and m != f"{task}.loss"}
        )
        for name in names:
            panels.append((task, name, [("val", name), ("test", name)]))
    columns = min(3, len(panels))
    rows_count = -(-len(panels) // columns)
    figure = styled(3.3 * columns, 2.5 * rows_count)
    grid = figure.subplots(rows_count, columns, squeeze=False)
    styles = group_styles(runs["run_key"])
    for axes in grid.flat[len(panels) :]:
        axes.set_visible(False)
    for axes, (task, name, series) in zip(grid.flat, panels, strict=False):
        for run in runs.itertuples():
            colour = styles[run.run_key][0]
            mine = history[history["run_key"] == run.run_key]
            for style, (split, metric) in zip(LINE_STYLES, series, strict=False):
                line = mine[(mine["split"] == split) & (mine["metric"] == metric)]
                line = line.sort_values("epoch")
                values = line["value"].astype(float)
                kind = None if name == "loss" else metric_kind(metric, True)
                if kind is not None and kind.percent:
                    values = values * 100.0
                axes.plot(line["epoch"], values, color=colour, linestyle=style, linewidth=1.3)
            if run.selected_epoch is not None and not pd.isna(run.selected_epoch):
                axes.axvline(run.selected_epoch, color=colour, linestyle=":", linewidth=0.8)
        if name == "loss":
            axes.set_title(f"{task} loss (train —, val --)", loc="left")
        else:
            kind = metric_kind(name, True)
            unit = " (%)" if kind.percent else ""
            axes.set_title(f"{task} {kind.title}{unit} (val —, test --)", loc="left")
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    handles = [
        mpl.lines.Line2D([], [], color=styles[run.run_key][0], label=_run_label(run))
        for run in runs.itertuples()
    ]
    figure.legend(
        handles=handles, loc="outside lower center", ncols=min(3, len(handles)), frameon=False
    )
    return figure


def _run_label(run) -> str:  # type: ignore[no-untyped-def]
    return f"{run.run_key[:8]} {run.method} {run.optimizer} lr {format_lr(run.lr)} seed {run.seed}"

"""Whole outputs of ``mtlx report`` and ``mtlx pareto``: every setup's tables in one format.

A format is a writer registered here by name; ``--format`` lists exactly these names, and a new
format is one function plus one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from mtlx.analysis.comparison import Comparison
from mtlx.analysis.fronts import ParetoResult
from mtlx.analysis.summaries import SelectedRuns
from mtlx.report.latex import latex_document, render_latex
from mtlx.report.markdown import render_markdown
from mtlx.report.table import ReportTable
from mtlx.report.tables import (
    TableOptions,
    counts_table,
    front_table,
    results_table,
    source_marks,
    table_label,
)
from mtlx.report.tidy import pareto_frame, results_frame, to_csv, to_json


@dataclass
class ResultsReport:
    """The results of every selected setup: per comparison its selected runs and summary."""

    comparisons: list[Comparison]
    selected: list[SelectedRuns]
    summaries: list[pd.DataFrame]
    options: TableOptions = field(default_factory=TableOptions)
    landscape: bool = False
    standalone: bool = False

    def marks(self) -> dict[str, str]:
        sources = [s for c in self.comparisons for s in c.imported.get("source", [])]
        return source_marks(sources)

    def tables(self) -> list[ReportTable]:
        marks = self.marks()
        labels: dict[tuple[str, str], int] = {}
        tables = []
        for comparison, selected, summary in zip(
            self.comparisons, self.selected, self.summaries, strict=True
        ):
            key = (comparison.dataset, comparison.network)
            labels[key] = labels.get(key, -1) + 1
            label = table_label(comparison, labels[key])
            tables.append(results_table(comparison, summary, selected, self.options, marks, label))
        return tables

    def tidy(self) -> pd.DataFrame:
        return results_frame(list(zip(self.comparisons, self.summaries, strict=True)))


@dataclass
class ParetoReport:
    """The Pareto analyses of every selected setup, grouped the same way."""

    results: list[ParetoResult]
    landscape: bool = False
    standalone: bool = False

    def marks(self) -> dict[str, str]:
        sources = [s for r in self.results for s in r.points["source"] if s != "trained"]
        return source_marks(sources)

    def tables(self, with_fronts: bool = True) -> list[ReportTable]:
        tables = [counts_table(self.results)]
        tables[0].label = "tab:mtlx-pareto-counts"
        if with_fronts:
            tables += [front_table(result, self.marks()) for result in self.results]
        return tables

    def tidy(self) -> pd.DataFrame:
        return pareto_frame(self.results)


Report = ResultsReport | ParetoReport


def _latex(report: Report) -> str:
    show_std = report.options.show_std if isinstance(report, ResultsReport) else True
    tables = (
        report.tables(with_fronts=False) if isinstance(report, ParetoReport) else (report.tables())
    )
    body = "\n".join(render_latex(t, show_std, report.landscape) for t in tables)
    return latex_document(body, report.landscape) if report.standalone else body


def _markdown(report: Report) -> str:
    show_std = report.options.show_std if isinstance(report, ResultsReport) else True
    return "\n".join(render_markdown(table, show_std) for table in report.tables())


WRITERS: dict[str, Callable[[Report], str]] = {
    "latex": _latex,
    "markdown": _markdown,
    "csv": lambda report: to_csv(report.tidy()),
    "json": lambda report: to_json(report.tidy()),
}

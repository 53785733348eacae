"""Rendering results tables: terminal (rich), LaTeX, Markdown and CSV from one ReportTable."""

from collections.abc import Callable

from mtlx.report.csv_format import render_csv
from mtlx.report.latex import escape_latex, render_latex
from mtlx.report.markdown import render_markdown
from mtlx.report.table import Column, ReportTable, best_rows
from mtlx.report.terminal import render_terminal

# The text formats a report can be written in; the terminal renderer prints instead.
FORMATS: dict[str, Callable[[ReportTable], str]] = {
    "latex": render_latex,
    "markdown": render_markdown,
    "csv": render_csv,
}

__all__ = [
    "FORMATS",
    "Column",
    "ReportTable",
    "best_rows",
    "escape_latex",
    "render_csv",
    "render_latex",
    "render_markdown",
    "render_terminal",
]

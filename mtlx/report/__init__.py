"""Presentation: tables from the analysis frames, rendered to terminal, LaTeX, Markdown, tidy CSV
and JSON, and one HTML page. Plots (:mod:`mtlx.report.plots`) import matplotlib and are imported
only by the commands that draw."""

from mtlx.report.latex import escape_latex, latex_document, render_latex
from mtlx.report.markdown import render_markdown
from mtlx.report.table import Column, ReportTable, best_rows, format_lr, ranks
from mtlx.report.terminal import fit_to_width, render_terminal

__all__ = [
    "Column",
    "ReportTable",
    "best_rows",
    "escape_latex",
    "fit_to_width",
    "format_lr",
    "latex_document",
    "ranks",
    "render_latex",
    "render_markdown",
    "render_terminal",
]

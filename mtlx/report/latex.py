r"""The table as LaTeX that fits the page: booktabs rules, task groups over their metrics, the
best mean bold and the second underlined, the std small beside the mean.

A table never overflows: its ``tabular`` is scaled down to the line width when, and only when,
it is wider (``\resizebox`` on its natural ``\width``). A table that would need shrinking below
:data:`MIN_SCALE` to fit is split by task groups into several tables, each repeating the method
columns and ΔM; ``landscape=True`` puts each table on a landscape page instead
(``sidewaystable``), which fits about 1.6 times the width. The output depends on the table
alone: the same database gives the same bytes.
"""

from __future__ import annotations

import re

from mtlx.report.table import (
    CellText,
    ReportTable,
    format_text,
    metric_cells,
)

# LaTeX's ten special characters, plus < > | which the default OT1 font prints as other glyphs.
_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
# Symbols common in this field's titles (ΔM, ±, σ) that pdflatex's default UTF-8 support lacks;
# written with kernel commands only, so booktabs and graphicx stay the only packages needed.
_UNICODE = {
    "—": "---",
    "–": "--",
    "±": r"\ensuremath{\pm}",
    "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}",
    "•": r"\ensuremath{\bullet}",
    "°": r"\ensuremath{^\circ}",
    "↑": r"\ensuremath{\uparrow}",
    "↓": r"\ensuremath{\downarrow}",
    "→": r"\ensuremath{\rightarrow}",
    "≤": r"\ensuremath{\leq}",
    "≥": r"\ensuremath{\geq}",
    "≈": r"\ensuremath{\approx}",
    "†": r"\ensuremath{^\dagger}",
    "‡": r"\ensuremath{^\ddagger}",
    "§": r"\S{}",
    "¶": r"\P{}",
    "Δ": r"\ensuremath{\Delta}",
    "α": r"\ensuremath{\alpha}",
    "β": r"\ensuremath{\beta}",
    "γ": r"\ensuremath{\gamma}",
    "δ": r"\ensuremath{\delta}",
    "ε": r"\ensuremath{\epsilon}",
    "λ": r"\ensuremath{\lambda}",
    "μ": r"\ensuremath{\mu}",
    "σ": r"\ensuremath{\sigma}",
    "τ": r"\ensuremath{\tau}",
}

TEXT_WIDTH_PT = 345.0  # \textwidth of a plain 10 pt article
LANDSCAPE_WIDTH_PT = 550.0  # \textheight of the same page, the width of a sidewaystable
MIN_SCALE = 0.75  # below this a table is split rather than shrunk: 7.5 pt type is still legible
_CHAR_PT = 5.0  # a digit or an average letter at 10 pt
_SMALL_CHAR_PT = 3.6  # at \scriptsize, where the std is printed
_COLUMN_PADDING_PT = 12.0  # 2 \tabcolsep
_SHRINK_TO_FIT = r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%"
PACKAGES = ("booktabs", "graphicx")


def escape_latex(text: str) -> str:
    """``text`` safe to place in LaTeX text mode; it prints exactly as written."""
    return "".join(_SPECIAL.get(char, _UNICODE.get(char, char)) for char in text)


def render_latex(table: ReportTable, show_std: bool = True, landscape: bool = False) -> str:
    """One ``table`` float per part of ``table`` (one part unless it is split to fit)."""
    parts = split_to_fit(table, show_std, LANDSCAPE_WIDTH_PT if landscape else TEXT_WIDTH_PT)
    floats = []
    for number, part in enumerate(parts, start=1):
        caption = part.title
        label = table.label
        if len(parts) > 1:
            names = [g for g, _ in part.groups() if g is not None]
            caption = f"{table.title} ({number}/{len(parts)}: {', '.join(names)})"
            label = f"{table.label}-{number}" if table.label else None
        floats.append(_float(part, caption, label, show_std, landscape))
    return "\n".join(floats)


def latex_document(body: str, landscape: bool = False) -> str:
    """A complete document around ``body`` that ``pdflatex`` compiles as it is."""
    packages = [*PACKAGES, *(["rotating"] if landscape else [])]
    return "\n".join(
        [
            r"\documentclass{article}",
            *(rf"\usepackage{{{name}}}" for name in packages),
            r"\begin{document}",
            body.rstrip("\n"),
            r"\end{document}",
            "",
        ]
    )


def split_to_fit(table: ReportTable, show_std: bool, width_pt: float) -> list[ReportTable]:
    """``table`` as one table if it fits ``width_pt`` at a scale of at least :data:`MIN_SCALE`,
    else as several, each holding whole task groups beside the method columns and ΔM."""
    limit = width_pt / MIN_SCALE
    if estimated_width(table, show_std) <= limit or not table.has_groups:
        return [table]
    fixed = [c.key for c in table.columns if c.group is None]
    parts: list[list[str]] = []
    for group, columns in table.groups():
        if group is None:
            continue
        keys = [c.key for c in columns]
        if parts and estimated_width(table.with_columns([*fixed, *parts[-1], *keys]), show_std) <= (
            limit
        ):
            parts[-1] += keys
        else:
            parts.append(keys)
    return [table.with_columns([*fixed, *keys]) for keys in parts]


def estimated_width(table: ReportTable, show_std: bool = True) -> float:
    """The natural width of the ``tabular`` in points, from the characters of its cells (an
    estimate to choose a layout; the fit itself is guaranteed by the shrink-only resize)."""
    total = 0.0
    for group, columns in table.groups():
        widths = []
        for column in columns:
            header = len(column.title) + (2 if column.is_metric else 0)
            widest = header * _CHAR_PT
            if column.is_metric:
                for cell in metric_cells(table, column, show_std):
                    std = 0 if cell.std is None else (len(cell.std) + 2) * _SMALL_CHAR_PT
                    widest = max(widest, len(cell.mean) * _CHAR_PT + std)
            else:
                for index in range(len(table.rows)):
                    text = format_text(table.cell(index, column.key))
                    widest = max(widest, len(text) * _CHAR_PT)
            widths.append(widest + _COLUMN_PADDING_PT)
        spanned = sum(widths)
        if group is not None:
            spanned = max(spanned, len(group) * _CHAR_PT + _COLUMN_PADDING_PT)
        total += spanned
    return total


def _float(
    table: ReportTable, caption: str, label: str | None, show_std: bool, landscape: bool
) -> str:
    environment = "sidewaystable" if landscape else "table"
    spec = "".join("r" if c.right_aligned else "l" for c in table.columns)
    lines = [
        rf"% Requires \usepackage{{{','.join(PACKAGES)}}}"
        + (r" and \usepackage{rotating}" if landscape else ""),
        rf"\begin{{{environment}}}[htbp]",
        r"\centering",
        rf"\caption{{{escape_latex(caption)}}}",
    ]
    if label:
        lines.append(rf"\label{{{_label_text(label)}}}")
    lines += [_SHRINK_TO_FIT, rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    lines += _header(table)
    lines.append(r"\midrule")
    cells = {c.key: metric_cells(table, c, show_std) for c in table.columns if c.is_metric}
    for index in range(len(table.rows)):
        row = []
        for column in table.columns:
            if column.is_metric:
                row.append(_metric_cell(cells[column.key][index]))
            else:
                row.append(escape_latex(format_text(table.cell(index, column.key))))
        lines.append(" & ".join(row) + r" \\")
        if index == len(table.rows) - 1:
            continue
        if index == table.reference_rows - 1 or index in table.sections:
            lines.append(r"\midrule")
        elif index in table.breaks:
            lines.append(r"\addlinespace[2pt]")
    lines += [r"\bottomrule", r"\end{tabular}}"]
    if table.notes:
        lines += [r"\par\smallskip", r"{\footnotesize\raggedright"]
        lines += [escape_latex(note) + r"\par" for note in table.notes]
        lines.append("}")
    lines.append(rf"\end{{{environment}}}")
    return "\n".join(lines) + "\n"


def _header(table: ReportTable) -> list[str]:
    titles = []
    for column in table.columns:
        title = escape_latex(column.title)
        if column.is_metric:
            title += r" $\uparrow$" if column.higher_is_better else r" $\downarrow$"
        titles.append(title)
    if not table.has_groups:
        return [" & ".join(titles) + r" \\"]
    spans, rules, start = [], [], 1
    for group, columns in table.groups():
        if group is None:
            spans += [""] * len(columns)
        else:
            spans.append(rf"\multicolumn{{{len(columns)}}}{{c}}{{{escape_latex(group)}}}")
            rules.append(rf"\cmidrule(lr){{{start}-{start + len(columns) - 1}}}")
        start += len(columns)
    return [" & ".join(spans) + r" \\", " ".join(rules), " & ".join(titles) + r" \\"]


def _metric_cell(cell: CellText) -> str:
    if cell.mean.startswith("—"):
        return "---"
    mean = cell.mean.replace("-", "$-$") if cell.mean.startswith("-") else cell.mean
    if cell.best:
        mean = rf"\textbf{{{mean}}}"
    elif cell.second:
        mean = rf"\underline{{{mean}}}"
    if cell.std is None:
        return mean
    return mean + rf"{{\scriptsize${{}}\pm{{}}${cell.std}}}"


def _label_text(label: str) -> str:
    # \label takes no special characters: keep letters, digits and a few separators
    return re.sub(r"[^A-Za-z0-9:.\-]", "-", label)

"""The table as a LaTeX ``table`` environment with booktabs rules; best values in ``\\textbf``."""

from __future__ import annotations

from mtlx.report.table import ReportTable, best_rows, format_text, metric_text

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
# written with kernel commands only, so booktabs stays the one package needed.
_UNICODE = {
    "—": "---",
    "–": "--",
    "±": r"\ensuremath{\pm}",
    "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}",
    "°": r"\ensuremath{^\circ}",
    "↑": r"\ensuremath{\uparrow}",
    "↓": r"\ensuremath{\downarrow}",
    "→": r"\ensuremath{\rightarrow}",
    "≤": r"\ensuremath{\leq}",
    "≥": r"\ensuremath{\geq}",
    "≈": r"\ensuremath{\approx}",
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


def escape_latex(text: str) -> str:
    """``text`` safe to place in LaTeX text mode; it prints exactly as written."""
    return "".join(_SPECIAL.get(char, _UNICODE.get(char, char)) for char in text)


def render_latex(table: ReportTable) -> str:
    """A ``table`` environment: caption, ``tabular`` with ``\\toprule/\\midrule/\\bottomrule``,
    ``$\\uparrow$``/``$\\downarrow$`` in metric headers, ``mean $\\pm$ std`` cells, the best value
    of each metric column in ``\\textbf{}``, and the notes in small type below."""
    best = {c.key: best_rows(table, c.key) for c in table.columns if c.is_metric}
    spec = "".join("r" if c.is_metric else "l" for c in table.columns)
    headers = []
    for column in table.columns:
        header = escape_latex(column.title)
        if column.is_metric:
            header += r" $\uparrow$" if column.higher_is_better else r" $\downarrow$"
        headers.append(header)
    lines = [
        r"% Requires \usepackage{booktabs}",
        r"\begin{table}[htbp]",
        r"\centering",
        rf"\caption{{{escape_latex(table.title)}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(headers) + r" \\",
        r"\midrule",
    ]
    for index in range(len(table.rows)):
        cells = []
        for column in table.columns:
            value = table.cell(index, column.key)
            if column.is_metric:
                # Numbers need no escaping; only the separator and the dash are LaTeX-specific.
                text = metric_text(value, column.precision, separator=r" $\pm$ ", missing="---")
                cells.append(rf"\textbf{{{text}}}" if index in best[column.key] else text)
            else:
                cells.append(escape_latex(format_text(value)))
        lines.append(" & ".join(cells) + r" \\")
        if index == table.reference_rows - 1:
            lines.append(r"\midrule")
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [rf"{{\footnotesize {escape_latex(note)}\par}}" for note in table.notes]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"

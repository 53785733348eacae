"""One self-contained HTML page to share: every results table, the PO counts, and the plots as
embedded PNGs — no script, no stylesheet or image outside the file."""

from __future__ import annotations

import base64
import html
import io

from sqlalchemy import Engine

from mtlx.analysis.comparison import DELTA_M, Selection
from mtlx.analysis.fronts import pareto_analysis
from mtlx.report.documents import ParetoReport, ResultsReport
from mtlx.report.table import ReportTable, format_text, header_text, metric_cells

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 78em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { padding: 0.2em 0.6em; white-space: nowrap; }
thead th { border-bottom: 1px solid #888; } thead tr.groups th { border-bottom: 1px solid #bbb; }
tbody tr.rule td { border-bottom: 1px solid #888; }
tbody tr.break td { border-bottom: 1px dotted #bbb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td .std { color: #666; font-size: 0.85em; } .best { font-weight: bold; }
.second { text-decoration: underline; } ul.notes { font-size: 0.8em; color: #444; }
figure { margin: 1em 0; } figure img { max-width: min(100%, 52em); height: auto; }
"""


def table_html(table: ReportTable, show_std: bool = True) -> str:
    """``table`` as an HTML table with grouped headers, the notes as a list."""
    parts = [f"<h2>{html.escape(table.title)}</h2>", '<div class="scroll"><table>', "<thead>"]
    if table.has_groups:
        cells = []
        for group, columns in table.groups():
            span = f' colspan="{len(columns)}"' if len(columns) > 1 else ""
            cells.append(f"<th{span}>{html.escape(group or '')}</th>")
        parts.append(f'<tr class="groups">{"".join(cells)}</tr>')
    numeric = ' class="num"'
    headers = "".join(
        f"<th{numeric if c.right_aligned else ''}>"
        f"{html.escape(header_text(c.title, c.higher_is_better))}</th>"
        for c in table.columns
    )
    parts += [f"<tr>{headers}</tr>", "</thead>", "<tbody>"]
    metric = {c.key: metric_cells(table, c, show_std) for c in table.columns if c.is_metric}
    for index in range(len(table.rows)):
        cells = []
        for column in table.columns:
            if column.is_metric:
                cell = metric[column.key][index]
                mark = "best" if cell.best else "second" if cell.second else ""
                text = f'<span class="{mark}">{html.escape(cell.mean)}</span>'
                if cell.std is not None:
                    text += f' <span class="std">± {html.escape(cell.std)}</span>'
                cells.append(f'<td class="num">{text}</td>')
            else:
                align = ' class="num"' if column.right_aligned else ""
                cells.append(
                    f"<td{align}>{html.escape(format_text(table.cell(index, column.key)))}</td>"
                )
        rule = index == table.reference_rows - 1 or index in table.sections
        kind = ' class="rule"' if rule else ' class="break"' if index in table.breaks else ""
        parts.append(f"<tr{kind}>{''.join(cells)}</tr>")
    parts += ["</tbody>", "</table></div>"]
    if table.notes:
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in table.notes)
        parts.append(f'<ul class="notes">{notes}</ul>')
    return "\n".join(parts)


def _png(figure) -> str:  # type: ignore[no-untyped-def]
    from mtlx.report.plots import save

    buffer = io.BytesIO()
    save(figure, buffer)  # type: ignore[arg-type]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(figure, caption: str) -> str:  # type: ignore[no-untyped-def]
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{_png(figure)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def results_page(engine: Engine, report: ResultsReport, selection: Selection) -> str:
    """The page: per setup its results table, Pareto plot and optimizer comparison; then the
    PO counts by optimizer."""
    from mtlx.report.plots import PlotChoiceError, default_axes, optimizers_plot, pareto_plot

    sections = []
    results = []
    marks = report.marks()
    for table, comparison, summary in zip(
        report.tables(), report.comparisons, report.summaries, strict=True
    ):
        sections.append(table_html(table, report.options.show_std))
        try:
            x, y = default_axes(comparison)
            kind = "tasks" if x.startswith(f"{DELTA_M}.") else "metrics"
            result = pareto_analysis(comparison, kind)
            results.append(result)
            sections.append(
                _figure(pareto_plot(result, x, y, marks), f"Pareto front — {comparison.label}")
            )
            if comparison.has_baseline:
                sections.append(
                    _figure(
                        optimizers_plot(comparison, summary, DELTA_M, marks),
                        f"ΔM per method and optimizer — {comparison.label}",
                    )
                )
        except PlotChoiceError as error:
            sections.append(f"<p>{html.escape(str(error))}</p>")
    if results:
        counts = ParetoReport(results).tables(with_fronts=False)[0]
        sections.append(table_html(counts))
    title = f"mtlx results — {selection.describe()}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            f"<h1>{html.escape(title)}</h1>",
            *sections,
            "</body>",
            "</html>",
            "",
        ]
    )

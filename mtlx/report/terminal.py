"""The table on a terminal with rich: arrows in metric headers, best values bold, mean ± std."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mtlx.report.table import ReportTable, best_rows, format_text, header_text, metric_text


def render_terminal(table: ReportTable, console: Console) -> None:
    """Print ``table`` on ``console``. Colours and bold are left to rich, which drops them when the
    console is not a terminal, so piped output stays plain text."""
    # Text objects, never markup strings: a method name like "[ablation]" must print verbatim.
    rich_table = Table(title=Text(table.title))
    for column in table.columns:
        rich_table.add_column(
            Text(header_text(column.title, column.higher_is_better)),
            justify="right" if column.is_metric else "left",
        )
    best = {c.key: best_rows(table, c.key) for c in table.columns if c.is_metric}
    for index in range(len(table.rows)):
        cells = []
        for column in table.columns:
            value = table.cell(index, column.key)
            if column.is_metric:
                style = "bold" if index in best[column.key] else ""
                cells.append(Text(metric_text(value, column.precision), style=style))
            else:
                cells.append(Text(format_text(value)))
        rich_table.add_row(*cells, end_section=index == table.reference_rows - 1)
    console.print(rich_table)
    for note in table.notes:
        console.print(Text(note))

"""The table on a terminal with rich: grouped headers, best mean bold, second underlined.

A table wider than the console is split into several, each repeating the text columns (method,
optimizer, lr) and the ungrouped metrics (ΔM), with as many whole task groups as fit; a group
wider than the console on its own is split column by column. Cells are never cut: a number
either fits or its table is split.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mtlx.report.table import CellText, ReportTable, format_text, header_text, metric_cells


def render_terminal(table: ReportTable, console: Console, show_std: bool = True) -> None:
    """Print ``table`` on ``console``, split to fit its width. Bold and underline are left to
    rich, which drops them when the console is not a terminal, so piped output stays plain."""
    parts = fit_to_width(table, console.width, show_std)
    for number, part in enumerate(parts, start=1):
        title = part.title if len(parts) == 1 else f"{part.title} ({number}/{len(parts)})"
        console.print(_rich_table(part, show_std, title))
    for note in table.notes:
        console.print(Text(f"• {note}"), overflow="fold")


def fit_to_width(table: ReportTable, width: int, show_std: bool = True) -> list[ReportTable]:
    """``table`` as one or more tables of at most ``width`` columns of characters each."""
    if _width(table, show_std) <= width:
        return [table]
    fixed = [c.key for c in table.columns if c.group is None and not c.is_metric]
    shared = [c.key for c in table.columns if c.group is None and c.is_metric]
    units: list[list[str]] = []
    for group, columns in table.groups():
        if group is None:
            continue
        keys = [c.key for c in columns]
        if _width(table.with_columns([*fixed, *keys, *shared]), show_std) <= width:
            units.append(keys)
        else:
            units += [[key] for key in keys]
    if not units:
        return [table]
    parts: list[list[str]] = []
    for unit in units:
        if parts and _width(table.with_columns([*fixed, *parts[-1], *unit, *shared]), show_std) <= (
            width
        ):
            parts[-1] += unit
        else:
            parts.append(list(unit))
    return [table.with_columns([*fixed, *keys, *shared]) for keys in parts]


def _width(table: ReportTable, show_std: bool) -> int:
    """The printed width of ``table`` on an unbounded console."""
    console = Console(file=io.StringIO(), width=10_000, color_system=None)
    console.print(_rich_table(table, show_std, table.title))
    return max(len(line) for line in console.file.getvalue().splitlines())  # type: ignore[attr-defined]


def _rich_table(table: ReportTable, show_std: bool, title: str) -> Table:
    # Text objects, never markup strings: a method name like "[ablation]" must print verbatim.
    rich_table = Table(title=Text(title), title_justify="left")
    first_of_group = {columns[0].key for group, columns in table.groups() if group is not None}
    for column in table.columns:
        header = header_text(column.title, column.higher_is_better)
        if table.has_groups:
            above = column.group if column.key in first_of_group else ""
            header = f"{above or ''}\n{header}"
        rich_table.add_column(
            Text(header),
            justify="right" if column.right_aligned else "left",
            no_wrap=True,
            overflow="fold",
        )
    cells = {c.key: metric_cells(table, c, show_std) for c in table.columns if c.is_metric}
    for index in range(len(table.rows)):
        row = []
        for column in table.columns:
            if column.is_metric:
                row.append(_metric_text(cells[column.key][index]))
            else:
                row.append(Text(format_text(table.cell(index, column.key))))
        rule = index == table.reference_rows - 1 or index in table.sections
        rich_table.add_row(*row, end_section=rule or index in table.breaks)
    return rich_table


def _metric_text(cell: CellText) -> Text:
    style = "bold" if cell.best else "underline" if cell.second else ""
    text = Text(cell.mean, style=style)
    if cell.std is not None:
        text.append(f" ± {cell.std}")
    return text

"""The table as GitHub-flavoured Markdown: task and arrow in each metric header, the best mean in
**bold** and the second in *italics* (Markdown has no underline), notes as a list."""

from __future__ import annotations

from mtlx.report.table import ReportTable, format_text, header_text, metric_cells


def _escape(text: str) -> str:
    # A raw "|" would split the cell, a newline end the row; * _ ` would start emphasis or code.
    for char in ("\\", "|", "*", "_", "`"):
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def render_markdown(table: ReportTable, show_std: bool = True) -> str:
    """A title line, the table (text columns left-aligned, metrics right-aligned), the notes."""
    headers = []
    for column in table.columns:
        title = header_text(column.title, column.higher_is_better)
        headers.append(_escape(f"{column.group} {title}" if column.group else title))
    alignments = ["---:" if c.right_aligned else ":---" for c in table.columns]
    lines = [f"**{_escape(table.title)}**", "", _row(headers), _row(alignments)]
    cells = {c.key: metric_cells(table, c, show_std) for c in table.columns if c.is_metric}
    for index in range(len(table.rows)):
        row = []
        for column in table.columns:
            if column.is_metric:
                cell = cells[column.key][index]
                mean = (
                    f"**{cell.mean}**"
                    if cell.best
                    else f"*{cell.mean}*"
                    if cell.second
                    else (cell.mean)
                )
                row.append(mean if cell.std is None else f"{mean} ± {cell.std}")
            else:
                row.append(_escape(format_text(table.cell(index, column.key))))
        lines.append(_row(row))
    if table.notes:
        lines.append("")
        lines.extend(f"- {_escape(note)}" for note in table.notes)
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"

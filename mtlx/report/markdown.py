"""The table as GitHub-flavoured Markdown: arrows in metric headers, best values in **bold**."""

from __future__ import annotations

from mtlx.report.table import ReportTable, best_rows, format_text, header_text, metric_text


def _escape(text: str) -> str:
    # A raw "|" would split the cell; a newline would end the table row.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(table: ReportTable) -> str:
    """A title line, the table (text columns left-aligned, metrics right-aligned), then notes."""
    best = {c.key: best_rows(table, c.key) for c in table.columns if c.is_metric}
    headers = [_escape(header_text(c.title, c.higher_is_better)) for c in table.columns]
    alignments = ["---:" if c.is_metric else ":---" for c in table.columns]
    lines = [f"**{_escape(table.title)}**", "", _row(headers), _row(alignments)]
    for index in range(len(table.rows)):
        cells = []
        for column in table.columns:
            value = table.cell(index, column.key)
            if column.is_metric:
                text = _escape(metric_text(value, column.precision))
                cells.append(f"**{text}**" if index in best[column.key] else text)
            else:
                cells.append(_escape(format_text(value)))
        lines.append(_row(cells))
    if table.notes:
        lines.append("")
        lines.extend(_escape(note) for note in table.notes)
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"

"""The table as CSV for machines: keys as headers, full-precision floats, ``<key>.std`` beside
every metric. Named csv_format so that it does not shadow the standard library's csv."""

from __future__ import annotations

import csv
import io

from mtlx.report.table import ReportTable, is_missing, metric_parts


def render_csv(table: ReportTable) -> str:
    """One column per text column, two per metric (``<key>``, ``<key>.std``); missing is empty.

    Floats are written with ``repr`` precision, so reading the file back gives the same floats.
    The title and notes are presentation and are left out.
    """
    header: list[str] = []
    for column in table.columns:
        header += [column.key, f"{column.key}.std"] if column.is_metric else [column.key]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for index in range(len(table.rows)):
        cells: list[object] = []
        for column in table.columns:
            value = table.cell(index, column.key)
            if column.is_metric:
                mean, std = metric_parts(value)
                cells += [_number(mean), _number(std)]
            else:
                cells.append("" if is_missing(value) else value)
        writer.writerow(cells)
    return buffer.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)

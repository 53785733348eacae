"""A renderer-neutral results table: text columns, metric columns with a direction, and cells that
are a number, a (mean, std) pair over seeds, or missing."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

MISSING = "—"  # what a missing value prints as (LaTeX prints "---", the same em dash)


@dataclass(frozen=True)
class Column:
    """One column; ``higher_is_better`` None means a text column, True/False a metric column."""

    key: str
    title: str
    higher_is_better: bool | None = None
    precision: int = 4  # digits after the decimal point for metric cells

    def __post_init__(self) -> None:
        if self.precision < 0:
            raise ValueError(
                f"precision of column {self.key} must be non-negative, but got {self.precision}."
            )

    @property
    def is_metric(self) -> bool:
        return self.higher_is_better is not None


@dataclass
class ReportTable:
    """Rows are dicts keyed by column key. A metric cell is a float, a ``(mean, std)`` pair (std
    may be NaN: no ±), or None/NaN (missing)."""

    title: str
    columns: list[Column]
    rows: list[dict[str, object]]
    notes: list[str] = field(default_factory=list)
    # Leading rows that are references (the single-task baseline): shown first, set apart, and
    # never marked best — they are what the other rows are compared with.
    reference_rows: int = 0

    def __post_init__(self) -> None:
        keys = [column.key for column in self.columns]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"column keys must be unique, but {repeated} appear more than once.")

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(f"no column {key!r}; the table has {[c.key for c in self.columns]}.")

    def cell(self, row_index: int, key: str) -> object:
        """The cell of row ``row_index`` in column ``key``; a row lacking the key is an error."""
        row = self.rows[row_index]
        if key not in row:
            raise KeyError(f"row {row_index} has no value for column {key!r}; it has {list(row)}.")
        return row[key]

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        title: str,
        text_columns: Sequence[str],
        metric_columns: Mapping[str, bool],
        std_suffix: str = ".std",
        precision: int | Mapping[str, int] = 4,
        titles: Mapping[str, str] | None = None,
        notes: Sequence[str] = (),
    ) -> ReportTable:
        """A table from one row per group, pairing ``<metric>`` with ``<metric><std_suffix>``
        when that column exists (the shape :func:`mtlx.analysis.seed_summary` produces).

        ``metric_columns`` maps each metric to whether higher is better; ``titles`` overrides
        the header of a column (default: its key); ``precision`` is one number or one per metric.
        """
        missing = [name for name in [*text_columns, *metric_columns] if name not in frame.columns]
        if missing:
            raise ValueError(
                f"from_frame needs column(s) {', '.join(missing)}; frame has {list(frame.columns)}."
            )
        titles = dict(titles or {})
        columns = [Column(key, titles.get(key, key)) for key in text_columns]
        for key, higher in metric_columns.items():
            digits = precision if isinstance(precision, int) else precision.get(key, 4)
            columns.append(Column(key, titles.get(key, key), bool(higher), digits))
        rows: list[dict[str, object]] = []
        for record in frame.to_dict(orient="records"):
            row: dict[str, object] = {key: _text_value(record[key]) for key in text_columns}
            for key in metric_columns:
                mean = _float_or_none(record[key])
                std_key = f"{key}{std_suffix}"
                row[key] = (mean, _float_or_none(record[std_key])) if std_key in record else mean
            rows.append(row)
        return cls(title=title, columns=columns, rows=rows, notes=list(notes))


def _float_or_none(value: object) -> float | None:
    """A frame's metric cell as a plain float, None when missing."""
    if value is None or pd.isna(value):
        return None
    return float(value)  # numpy scalars become plain floats


def _text_value(value: object) -> object:
    """A frame's text cell as a plain python value, None when missing."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value  # numpy scalar → python


def metric_parts(cell: object) -> tuple[float | None, float | None]:
    """``(mean, std)`` of a metric cell, with None for a missing mean or std."""
    if isinstance(cell, tuple):
        if len(cell) != 2:
            raise ValueError(f"a metric cell pair must be (mean, std), but got {cell!r}.")
        mean, std = cell
    else:
        mean, std = cell, None
    return _number_or_none(mean), _number_or_none(std)


def _number_or_none(value: object) -> float | None:
    """A mean or std as a float, None when absent or NaN."""
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def format_number(value: float, precision: int) -> str:
    """``value`` with ``precision`` digits after the decimal point."""
    return f"{value:.{precision}f}"


def is_missing(cell: object) -> bool:
    """Whether a text cell holds nothing: None or a float NaN."""
    return cell is None or (isinstance(cell, float) and math.isnan(cell))


def format_text(cell: object) -> str:
    """A text cell as a string; None/NaN prints as :data:`MISSING`."""
    return MISSING if is_missing(cell) else str(cell)


def best_rows(table: ReportTable, column_key: str) -> set[int]:
    """Indexes of the rows holding the best mean of metric column ``column_key`` (ties: all).

    Means are compared as printed, rounded to the column's precision, so that two cells that
    read the same are both bold. Missing cells never win.
    """
    column = table.column(column_key)
    if not column.is_metric:
        raise ValueError(
            f"column {column_key!r} is a text column; best_rows needs a metric column."
        )
    shown: dict[int, float] = {}
    for index in range(table.reference_rows, len(table.rows)):
        mean, _ = metric_parts(table.cell(index, column_key))
        if mean is not None:
            shown[index] = round(mean, column.precision)
    if not shown:
        return set()
    best = max(shown.values()) if column.higher_is_better else min(shown.values())
    return {index for index, value in shown.items() if value == best}


def metric_text(
    cell: object, precision: int, separator: str = " ± ", missing: str = MISSING
) -> str:
    """``mean ± std``, or the mean alone when the std is missing, or ``missing``."""
    mean, std = metric_parts(cell)
    if mean is None:
        return missing
    if std is None:
        return format_number(mean, precision)
    return f"{format_number(mean, precision)}{separator}{format_number(std, precision)}"


def header_text(title: str, higher_is_better: bool | None) -> str:
    """The column title, with ↑ or ↓ after a metric's."""
    if higher_is_better is None:
        return title
    return f"{title} {'↑' if higher_is_better else '↓'}"

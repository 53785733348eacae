"""A renderer-neutral results table: text columns, metric columns with a direction, grouped
headers, and cells that are a number, a (mean, std) pair over seeds, or missing.

Numbers stay numbers here; each renderer formats them once, at the very end, with the helpers
below, so terminal, LaTeX, Markdown and HTML print the same digits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

MISSING = "—"  # what a missing value prints as (LaTeX prints "---", the same em dash)
MAX_AUTO_DECIMALS = 6


@dataclass(frozen=True)
class Column:
    """One column. ``higher_is_better`` None means a text column, True/False a metric column.

    ``precision``: digits after the decimal point; None chooses them from the column's values
    (:func:`decimals`). ``group``: the header spanning this column and its neighbours of the same
    group (a task's title). ``percent``: the values are fractions, printed × 100. ``align``:
    ``left`` or ``right``; by default text left, metrics right.
    """

    key: str
    title: str
    higher_is_better: bool | None = None
    precision: int | None = None
    group: str | None = None
    percent: bool = False
    align: str | None = None

    def __post_init__(self) -> None:
        if self.precision is not None and self.precision < 0:
            raise ValueError(
                f"precision of column {self.key} must be non-negative, but got {self.precision}."
            )
        if self.align not in (None, "left", "right"):
            raise ValueError(f"align of column {self.key} must be left or right, got {self.align}")

    @property
    def is_metric(self) -> bool:
        return self.higher_is_better is not None

    @property
    def right_aligned(self) -> bool:
        return self.align == "right" if self.align else self.is_metric


@dataclass
class ReportTable:
    """Rows are dicts keyed by column key. A metric cell is a float, a ``(mean, std)`` pair (std
    may be NaN: no ±), or None/NaN (missing).

    ``reference_rows``: leading rows that are references (the single-task baseline): shown
    first, set apart, never ranked. ``breaks``: rows after which a light separator goes (between
    methods); ``sections``: rows after which a full rule goes (before imported results).
    ``rank``: mark each metric column's best mean (bold) and second best (underlined).
    """

    title: str
    columns: list[Column]
    rows: list[dict[str, object]]
    notes: list[str] = field(default_factory=list)
    reference_rows: int = 0
    label: str | None = None
    breaks: set[int] = field(default_factory=set)
    sections: set[int] = field(default_factory=set)
    rank: bool = True

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

    def groups(self) -> list[tuple[str | None, list[Column]]]:
        """Runs of neighbouring columns sharing a group (None: ungrouped), in order."""
        runs: list[tuple[str | None, list[Column]]] = []
        for column in self.columns:
            if runs and runs[-1][0] == column.group and column.group is not None:
                runs[-1][1].append(column)
            else:
                runs.append((column.group, [column]))
        return runs

    @property
    def has_groups(self) -> bool:
        return any(column.group for column in self.columns)

    def with_columns(self, keys: Sequence[str], title: str | None = None) -> ReportTable:
        """The same table restricted to the columns ``keys`` (in the table's order)."""
        wanted = set(keys)
        return ReportTable(
            title=self.title if title is None else title,
            columns=[c for c in self.columns if c.key in wanted],
            rows=self.rows,
            notes=self.notes,
            reference_rows=self.reference_rows,
            label=self.label,
            breaks=self.breaks,
            sections=self.sections,
            rank=self.rank,
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        title: str,
        text_columns: Sequence[str],
        metric_columns: Mapping[str, bool],
        std_suffix: str = ".std",
        precision: int | Mapping[str, int] | None = 4,
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
            digits = precision if not isinstance(precision, Mapping) else precision.get(key, 4)
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


def displayed_parts(table: ReportTable, index: int, column: Column) -> tuple[float | None, ...]:
    """``(mean, std)`` of a metric cell in the unit it is printed in (× 100 for percentages)."""
    mean, std = metric_parts(table.cell(index, column.key))
    scale = 100.0 if column.percent else 1.0
    return (
        None if mean is None else mean * scale,
        None if std is None else std * scale,
    )


def decimals(table: ReportTable, column: Column) -> int:
    """Digits after the decimal point for a metric column: its ``precision`` if set, else at
    least two and three significant digits for the largest magnitude of the column (mIoU
    55.20, Abs Err 0.0196, Rel Err 109.84, as the field prints them)."""
    if column.precision is not None:
        return column.precision
    magnitudes = [
        abs(value)
        for index in range(len(table.rows))
        for value in displayed_parts(table, index, column)[:1]
        if value is not None and math.isfinite(value) and value != 0
    ]
    if not magnitudes:
        return 2
    return min(MAX_AUTO_DECIMALS, max(2, 2 - math.floor(math.log10(max(magnitudes)))))


def format_number(value: float, precision: int) -> str:
    """``value`` with ``precision`` digits after the decimal point."""
    return f"{value:.{precision}f}"


def format_lr(lr: object) -> str:
    """A learning rate as papers write it: ``1e-4``, ``5e-3``, ``0.1`` → ``1e-1``; ``1`` and
    up plainly; missing as :data:`MISSING`."""
    if lr is None or (isinstance(lr, float) and math.isnan(lr)):
        return MISSING
    value = float(lr)  # type: ignore[arg-type]
    if value <= 0 or value >= 1:
        return f"{value:g}"
    mantissa, exponent = f"{value:.3e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def is_missing(cell: object) -> bool:
    """Whether a text cell holds nothing: None or a float NaN."""
    return cell is None or (isinstance(cell, float) and math.isnan(cell))


def format_text(cell: object) -> str:
    """A text cell as a string; None/NaN prints as :data:`MISSING`."""
    return MISSING if is_missing(cell) else str(cell)


def ranks(table: ReportTable, column_key: str) -> tuple[set[int], set[int]]:
    """Rows holding the best and the second-best mean of a metric column (ties: all of them).

    Means are compared as printed, at the column's decimals, so cells that read the same share
    the mark. Reference rows and missing cells never rank; a second place is only marked when
    at least three rows compete (with two, second is simply last).
    """
    column = table.column(column_key)
    if not column.is_metric:
        raise ValueError(f"column {column_key!r} is a text column; ranks need a metric column.")
    if not table.rank:
        return set(), set()
    digits = decimals(table, column)
    shown: dict[int, float] = {}
    for index in range(table.reference_rows, len(table.rows)):
        mean = displayed_parts(table, index, column)[0]
        if mean is not None and math.isfinite(mean):
            shown[index] = round(mean, digits)
    values = sorted(set(shown.values()), reverse=bool(column.higher_is_better))
    if not values:
        return set(), set()
    best = {index for index, value in shown.items() if value == values[0]}
    second: set[int] = set()
    if len(values) > 1 and len(shown) >= 3:
        second = {index for index, value in shown.items() if value == values[1]}
    return best, second


def best_rows(table: ReportTable, column_key: str) -> set[int]:
    """Indexes of the rows holding the best mean of metric column ``column_key`` (ties: all)."""
    return ranks(table, column_key)[0]


def metric_text(
    cell: object, precision: int, separator: str = " ± ", missing: str = MISSING
) -> str:
    """``mean ± std``, or the mean alone when the std is missing, or ``missing`` (raw units)."""
    mean, std = metric_parts(cell)
    if mean is None:
        return missing
    if std is None:
        return format_number(mean, precision)
    return f"{format_number(mean, precision)}{separator}{format_number(std, precision)}"


@dataclass(frozen=True)
class CellText:
    """A metric cell ready to print: the mean and the std as text, and its rank mark."""

    mean: str
    std: str | None
    best: bool
    second: bool


def metric_cells(table: ReportTable, column: Column, show_std: bool = True) -> list[CellText]:
    """Every row's cell of a metric column, formatted once for every renderer."""
    digits = decimals(table, column)
    best, second = ranks(table, column.key)
    cells = []
    for index in range(len(table.rows)):
        mean, std = displayed_parts(table, index, column)
        cells.append(
            CellText(
                mean=MISSING if mean is None else format_number(mean, digits),
                std=None
                if std is None or mean is None or not show_std
                else format_number(std, digits),
                best=index in best,
                second=index in second,
            )
        )
    return cells


def header_text(title: str, higher_is_better: bool | None) -> str:
    """The column title, with ↑ or ↓ after a metric's."""
    if higher_is_better is None:
        return title
    return f"{title} {'↑' if higher_is_better else '↓'}"

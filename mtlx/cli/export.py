"""``mtlx export``: runs and their metrics as CSV or Parquet, for pandas, R or a spreadsheet.

Two shapes: the runs at their selected epoch (one row per finished run and split: identity,
provenance, one column per metric — the numbers every table of mtlx is computed from), and with
``--epochs`` every recorded epoch metric, long (one row per run × epoch × split × metric, any
status). Read back with ``pandas.read_csv`` / ``pandas.read_parquet``; JSON columns (``config``,
``worker``, ``data_provenance``) are JSON text; times are UTC.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from mtlx.cli.app import app
from mtlx.cli.options import DbOption, error_console, open_store, user_errors
from mtlx.errors import UserError

if TYPE_CHECKING:
    import pandas as pd


class ExportError(UserError, ValueError):
    """An export that cannot be written as asked."""


def write_csv(frames: Iterable[pd.DataFrame], target: Path | None) -> int:
    """The frames one after another as one CSV (one header); to stdout when ``target`` is None."""
    rows = 0
    with _destination(target, "w") as handle:
        for number, frame in enumerate(frames):
            frame.to_csv(handle, index=False, header=number == 0)
            rows += len(frame)
    return rows


def write_parquet(frames: Iterable[pd.DataFrame], target: Path | None) -> int:
    """The frames as the row groups of one Parquet file (the first frame's column types)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if target is None:
        raise ExportError("--format parquet writes a file: give it with --output FILE")
    rows = 0
    with _destination(target, "wb") as handle:
        writer = None
        for frame in frames:
            table = pa.Table.from_pandas(
                frame, schema=None if writer is None else writer.schema, preserve_index=False
            )
            if writer is None:
                writer = pq.ParquetWriter(handle, table.schema)
            writer.write_table(table)
            rows += len(frame)
        if writer is not None:
            writer.close()
    return rows


EXPORT_FORMATS: dict[str, Callable[[Iterable[pd.DataFrame], Path | None], int]] = {
    "csv": write_csv,
    "parquet": write_parquet,
}


@contextmanager
def _destination(target: Path | None, mode: str) -> Iterator[TextIO]:
    """Standard output, or ``target`` written whole or not at all (a temporary file beside it,
    renamed over it once complete)."""
    if target is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    if not target.parent.is_dir():
        raise ExportError(f"--output {target}: the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, mode, **({} if "b" in mode else {"newline": ""})) as handle:
            yield handle
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


@app.command()
@user_errors
def export(
    format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="The file to write. Default: standard output (CSV).",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[
        bool,
        typer.Option(
            "--epochs",
            help="Every recorded epoch metric (one row per run × epoch × split × metric) instead "
            "of the finished runs at their selected epoch.",
        ),
    ] = False,
    experiment: Annotated[
        str | None, typer.Option(help="Only this experiment (its name).", show_default=False)
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Only this dataset.", show_default=False)
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="Only this method.", show_default=False)
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="With --epochs: only runs in this state (RUNNING, FINISHED, FAILED, KILLED).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Write runs with their selected-epoch metrics, or every epoch's metrics, as CSV or
    Parquet."""
    from mtlx.store.monitoring import (
        ExportFilter,
        epoch_metric_chunks,
        parse_status,
        selected_epoch_frame,
    )

    if format not in EXPORT_FORMATS:
        raise ExportError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {format!r}")
    if status is not None and not epochs:
        raise ExportError(
            "--status needs --epochs: the selected-epoch export holds FINISHED runs only"
        )
    selection = ExportFilter(
        experiment, dataset, method, None if status is None else parse_status(status)
    )
    store = open_store(db)
    if epochs:
        frames: Iterable[pd.DataFrame] = epoch_metric_chunks(store, selection)
    else:
        frames = [selected_epoch_frame(store, selection)]
    rows = EXPORT_FORMATS[format](frames, output)
    if output is not None:
        error_console.print(f"wrote {rows:,} rows to {output}", highlight=False)

"""``mtlx import``: published or external results into the database, kept apart from runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mtlx.cli.app import app
from mtlx.cli.options import DbOption, console, user_errors


@app.command("import")
@user_errors
def import_results(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: dataset, network, method, optimizer, lr[, seed], then one column per "
            "metric by its stable name (fractions, e.g. seg.miou 0.552)."
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            help="Where the numbers come from, e.g. 'Elich et al. 2024, Table A6' (default: "
            "the file's name).",
            show_default=False,
        ),
    ] = None,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline",
            help="The rows are the single-task baseline of their dataset × network (lr may be "
            "empty).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Import published results to compare and report beside your own runs (shown only with
    --include-imported, marked with their source). A defective file is rejected whole, naming
    the row and column; importing the same file again adds nothing."""
    from mtlx.imports import ImportFileError, read_import_file
    from mtlx.store.database import open_database
    from mtlx.store.imports import save_import

    name = (source if source is not None else file.name).strip()
    if not name:
        raise ImportFileError("--source must not be empty")
    checked = read_import_file(file, baseline)
    outcome = save_import(open_database(db), checked, name, baseline)
    what = "single-task baseline result(s)" if baseline else "result(s)"
    console.print(
        f"{file}: {outcome.added} {what} imported from source {name!r}"
        + (f", {outcome.already_imported} already there" if outcome.already_imported else ""),
        highlight=False,
    )

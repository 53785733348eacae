"""Run and database commands: ``runs``, ``db upgrade``, ``db info``."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from mtlx.cli.app import app, db_app
from mtlx.cli.options import DbOption, console, open_store, user_errors


@app.command()
@user_errors
def runs(
    dataset: Annotated[
        str | None, typer.Option(help="Only this dataset.", show_default=False)
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="Only runs in this state: RUNNING, FINISHED, FAILED or KILLED (any case).",
            show_default=False,
        ),
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="Only this method.", show_default=False)
    ] = None,
    errors: Annotated[bool, typer.Option("--errors", help="Print the error of each run.")] = False,
    db: DbOption = None,
) -> None:
    """List recorded runs with their status, selection and provenance."""
    from mtlx.report import render_terminal
    from mtlx.report.tables import runs_table
    from mtlx.store.monitoring import parse_status

    chosen = None if status is None else parse_status(status).value
    frame = open_store(db).runs_frame(dataset=dataset, status=chosen, method=method)
    columns = [
        "run_key",
        "kind",
        "dataset",
        "tasks",
        "method",
        "optimizer",
        "lr",
        "seed",
        "status",
        "attempt",
        "selected_epoch",
        "epochs_completed",
        "device",
    ]
    render_terminal(runs_table(frame, columns, f"{len(frame)} run(s)"), console)
    if errors:
        for record in frame[frame["error"].notna()].to_dict("records"):
            console.rule(f"{record['run_key']} {record['status']}")
            console.print(record["error"], markup=False, highlight=False)


@db_app.command("upgrade")
@user_errors
def db_upgrade(db: DbOption = None) -> None:
    """Migrate the database to this mtlx's schema (the one command that changes a schema)."""
    from mtlx.store.database import database_url, describe, upgrade_database

    before, after = upgrade_database(db)
    where = describe(database_url(db))  # a file or host/database, never a password
    if before == after:
        console.print(f"{where}: already at schema {after} (the latest)", highlight=False)
    else:
        console.print(f"{where}: schema {before or 'empty'} → {after}", highlight=False)


@db_app.command("info")
@user_errors
def db_info(db: DbOption = None) -> None:
    """Where the database is, its schema revision, its runs by status and by dataset, and the
    size of its checkpoint folder."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from mtlx.cli.watch import format_size
    from mtlx.dispatch.runtime import default_checkpoint_root
    from mtlx.store.database import (
        current_revision,
        database_url,
        describe,
        head_revision,
        sqlite_path,
    )
    from mtlx.store.monitoring import database_counts, folder_size

    url = database_url(db)
    store = open_store(db)
    revision = current_revision(store.engine)
    counts = database_counts(store)
    table = Table(box=box.SIMPLE_HEAD, show_header=False, show_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("")
    path = sqlite_path(url)
    where = describe(url) if path is None else str(path.resolve())
    table.add_row("database", Text(f"{where} ({store.dialect.name})"))
    latest = head_revision()
    table.add_row(
        "schema", f"{revision}" + (" (the latest)" if revision == latest else f" (latest {latest})")
    )
    table.add_row("runs", f"{counts.runs:,} ({counts.epoch_rows:,} epoch metric rows)")
    for status, n in counts.by_status.items():
        table.add_row(f"  {status}", f"{n:,}")
    table.add_row("by dataset", "")
    for dataset, n in counts.by_dataset.items():
        table.add_row(Text(f"  {dataset}"), f"{n:,}")
    if store.dialect.name == "sqlite":
        root = default_checkpoint_root(url)
        size = folder_size(root)
        where = "$MTLX_CHECKPOINTS" if os.environ.get("MTLX_CHECKPOINTS") else "the default"
        table.add_row(
            "checkpoints",
            Text(
                f"{root} ({where}): "
                + (
                    "none yet"
                    if size is None
                    else f"{format_size(size.bytes)} in {size.files:,} file(s)"
                )
            ),
        )
    console.print(table)

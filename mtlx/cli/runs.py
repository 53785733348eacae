"""Run and database commands: ``runs``, ``db upgrade``, ``db info``."""

from __future__ import annotations

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
            help="Only runs in this state: RUNNING, FINISHED, FAILED or KILLED.", show_default=False
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

    frame = open_store(db).runs_frame(dataset=dataset, status=status, method=method)
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
    from mtlx.store.database import database_url, upgrade_database

    before, after = upgrade_database(db)
    console.print(f"{database_url(db)}: schema {before or 'empty'} → {after}", highlight=False)


@db_app.command("info")
@user_errors
def db_info(db: DbOption = None) -> None:
    """Schema revision and run counts by status."""
    from mtlx.store.database import current_revision, database_url, head_revision

    store = open_store(db)
    frame = store.runs_frame()
    counts = frame["status"].value_counts().to_dict() if not frame.empty else {}
    console.print(
        f"{database_url(db)}: schema {current_revision(store.engine)} (latest {head_revision()}); "
        f"runs: {counts or 'none'}",
        highlight=False,
    )

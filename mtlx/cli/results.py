"""Analysis commands: ``pareto`` and ``report``, from the database alone."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mtlx.cli.app import app
from mtlx.cli.options import DbOption, console, open_store, user_errors


@app.command()
@user_errors
def pareto(
    dataset: Annotated[str, typer.Option(help="Dataset whose runs to analyse.")],
    network: Annotated[
        str | None, typer.Option(help="Only this network.", show_default=False)
    ] = None,
    all_lrs: Annotated[
        bool,
        typer.Option(
            "--all-lrs",
            help="Every finished run, not only each method × optimizer's selected learning rate.",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Pareto front of the test metrics and Pareto-optimal counts by optimizer and by method."""
    from mtlx.report import render_terminal
    from mtlx.results import load_setups, pareto_front_table, po_counts_table

    for setup in load_setups(open_store(db), dataset, network):
        render_terminal(pareto_front_table(setup, all_lrs), console)
        for group in ("optimizer", "method"):
            render_terminal(po_counts_table(setup, group, all_lrs), console)


@app.command()
@user_errors
def report(
    dataset: Annotated[str, typer.Option(help="Dataset whose runs to report.")],
    network: Annotated[
        str | None, typer.Option(help="Only this network.", show_default=False)
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="terminal, latex, markdown or csv.")
    ] = "terminal",
    output: Annotated[
        Path | None,
        typer.Option(help="Write to this file instead of standard output.", show_default=False),
    ] = None,
    db: DbOption = None,
) -> None:
    """The ΔM table: each method × optimizer at its best validation lr, mean ± std over seeds."""
    from mtlx.report import FORMATS, render_terminal
    from mtlx.results import delta_m_table, load_setups

    if format != "terminal" and format not in FORMATS:
        raise ValueError(f"--format must be terminal, {', '.join(FORMATS)}; got {format!r}")
    tables = [delta_m_table(setup) for setup in load_setups(open_store(db), dataset, network)]
    if format == "terminal" and output is None:
        for table in tables:
            render_terminal(table, console)
        return
    if format == "terminal":
        raise ValueError("--output needs a text format: latex, markdown or csv")
    text = "\n".join(FORMATS[format](table) for table in tables)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        console.print(f"wrote {output}", highlight=False)

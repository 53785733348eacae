"""The ``mtlx`` Typer application and its command groups; commands live in sibling modules."""

from __future__ import annotations

import atexit
import gc
import logging
from typing import Annotated

import typer
from rich.logging import RichHandler

from mtlx import __version__
from mtlx.cli.options import console, error_console

app = typer.Typer(
    name="mtlx",
    help=(
        "Experiment runner and results database for multi-task optimization research: train and "
        "sweep methods × optimizers × learning rates × seeds, keep every run in a database, and "
        "derive ΔM tables, Pareto fronts and PO counts from it."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="The results database: schema migrations and status.", no_args_is_help=True
)
app.add_typer(db_app, name="db")

data_app = typer.Typer(
    help="Datasets on disk: check a folder, write a synthetic fixture.", no_args_is_help=True
)
app.add_typer(data_app, name="data")


bench_app = typer.Typer(help="Benchmarks of the training step.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


def version_callback(value: bool) -> None:
    if value:
        console.print(f"mtlx {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """mtlx: multi-task optimization experiments, recorded and analysed."""
    # At exit the process's memory goes back whole, so a last collection over every object of
    # pandas, SQLAlchemy and the loaded runs finds nothing worth finding (0.15 s of a read
    # command); frozen objects are left out of it. Their references still unwind as usual.
    atexit.register(gc.freeze)
    # mtlx's own warnings (an engine falling back, say) go to stderr, once, beside the progress
    logger = logging.getLogger("mtlx")
    if not logger.handlers:
        logger.addHandler(RichHandler(console=error_console, show_path=False, show_time=False))
        logger.setLevel(logging.INFO)

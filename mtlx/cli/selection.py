"""What ``report``, ``pareto`` and ``plot`` share: which results to read, and a console that
fits the terminal (or ``$COLUMNS``, also in a pipe)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mtlx.cli.options import console, split_names

PIPE_WIDTH = 200  # a pipe without $COLUMNS gets wide tables rather than split ones

DatasetOption = Annotated[
    str | None,
    typer.Option(help="Only this dataset (default: every dataset).", show_default=False),
]
NetworkOption = Annotated[str | None, typer.Option(help="Only this network.", show_default=False)]
MethodsOption = Annotated[
    str | None,
    typer.Option(help="Only these methods (comma-separated).", show_default=False),
]
OptimizersOption = Annotated[
    str | None,
    typer.Option(
        help="Only these optimizers (comma-separated), e.g. adam,sgd for the seed paper's Table 2.",
        show_default=False,
    ),
]
IncludeImportedOption = Annotated[
    bool,
    typer.Option(
        "--include-imported",
        help="Also show imported results (`mtlx import`), marked with their source.",
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(help="Write to this file instead of standard output.", show_default=False),
]


def selection(
    dataset: str | None,
    network: str | None,
    methods: str | None,
    optimizers: str | None,
    include_imported: bool,
):  # -> mtlx.analysis.comparison.Selection, imported lazily
    from mtlx.analysis.comparison import Selection

    chosen_methods = split_names(methods)
    chosen_optimizers = split_names(optimizers)
    for name, values in (("--methods", chosen_methods), ("--optimizers", chosen_optimizers)):
        if values is not None and not values:
            raise ValueError(f"{name} must name at least one, got {''!r}")
    return Selection(
        dataset=dataset,
        network=network,
        methods=tuple(chosen_methods) if chosen_methods is not None else None,
        optimizers=tuple(chosen_optimizers) if chosen_optimizers is not None else None,
        include_imported=include_imported,
    )


def table_console() -> Console:
    """The terminal's width; ``$COLUMNS`` when set, also in a pipe; else :data:`PIPE_WIDTH`."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return Console(width=int(columns))
    if sys.stdout.isatty():
        return Console()
    return Console(width=PIPE_WIDTH)


def write_text(text: str, output: Path | None) -> None:
    """``text`` to ``output``, or to standard output."""
    if output is None:
        sys.stdout.write(text)
        return
    output.write_bytes(text.encode("utf-8"))
    console.print(f"wrote {output}", highlight=False)

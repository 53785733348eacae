"""``mtlx toy``: the CAGrad toy task of the seed paper (Section 4.1.1, Tables 1 and A3)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from mtlx.cli.app import app
from mtlx.cli.options import DbOption, console, error_console, split_names, user_errors


def parse_lrs(text: str | None, option: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """A comma-separated list of learning rates, or ``default`` when not given."""
    names = split_names(text)
    if names is None:
        return default
    try:
        return tuple(float(name) for name in names)
    except ValueError:
        raise ValueError(f"{option} takes numbers separated by commas, but got {text!r}") from None


@app.command()
@user_errors
def toy(
    methods: Annotated[
        str, typer.Option(help="Methods, comma-separated: ew, pcgrad, cagrad, mgda.")
    ] = "ew,pcgrad,cagrad,mgda",
    optimizers: Annotated[
        str, typer.Option(help="Update rules, comma-separated: gd (plain), adam.")
    ] = "gd,adam",
    lrs: Annotated[
        str | None,
        typer.Option(
            help="Learning rates, comma-separated. Default: the paper's 10, 5, 1, 0.5, 0.1, "
            "0.05, 0.01, 0.005, 0.001.",
            show_default=False,
        ),
    ] = None,
    iterations: Annotated[
        int, typer.Option(help="Iterations at most (the paper: 100,000).", min=1)
    ] = 100_000,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print [{"optimizer", "method", "lr", "iterations"}] (iterations: int or null).',
        ),
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(help="Where to draw the trajectories (PNG).", show_default="toy.png"),
    ] = Path("toy.png"),
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Draw no trajectories.")] = False,
    plot_lrs: Annotated[
        str | None,
        typer.Option(
            help="Learning rates whose trajectories are drawn. Default: the paper's Figure 1, "
            "1, 0.05, 0.001.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """The CAGrad toy task: iterations to the global optimum by method × optimizer × lr.

    Two tasks on two parameters, as the CAGrad authors' public script defines them, from the
    start points (−8.5, 7.5), (−8.5, −5) and (9, 9); EW, PCGrad, CAGrad (c = 0.5) and MGDA from
    mtlx's method registry, plain gradient descent and Adam. Criterion: a cell is the first
    iteration t (0-based; the start point is t = 0) at which the mean loss ½(L₁ + L₂) < −15 (its
    global minimum is about −15.09), the maximum over the three start points, and – when some
    start point does not get there within the iterations. Cells that differ from the paper's
    Table A3 are marked †. The results go to the database (study "toy").
    """
    from mtlx.studies.toy import LEARNING_RATES, PLOT_LEARNING_RATES, ToyPlan

    plan = ToyPlan(
        methods=tuple(split_names(methods) or ()),
        optimizers=tuple(split_names(optimizers) or ()),
        lrs=parse_lrs(lrs, "--lrs", LEARNING_RATES),
        max_iterations=iterations,
    )
    drawn = (
        () if no_plot or plot is None else parse_lrs(plot_lrs, "--plot-lrs", PLOT_LEARNING_RATES)
    )
    if drawn and not any(lr in plan.lrs for lr in drawn):
        raise ValueError(
            f"--plot-lrs {', '.join(f'{lr:g}' for lr in drawn)}: none of them is among --lrs"
        )
    run_and_report(plan, drawn, None if no_plot else plot, json_output, db)


def run_and_report(
    plan, plot_lrs: tuple[float, ...], plot: Path | None, json_output: bool, db: str | None
) -> None:
    from mtlx.provenance import provenance
    from mtlx.store.database import open_database
    from mtlx.store.runs import utcnow
    from mtlx.store.studies import StudyStore
    from mtlx.studies.toy import (
        cells_json,
        plot_trajectories,
        render_table,
        run_toy,
        starts_frame,
        study_numbers,
        table_cells,
    )

    store = StudyStore(open_database(db))  # refuses a database at an older schema up front
    started = utcnow()
    with error_console.status("running the toy task…"):
        run = run_toy(plan, plot_lrs)
    starts = starts_frame(run)
    cells = table_cells(starts, plan.is_papers_setting)
    study_run = store.record(
        "toy", plan.as_dict(), provenance("cpu"), started, utcnow(), study_numbers(starts)
    )
    if plot is not None and plot_lrs:
        plot_trajectories(run, plot_lrs, plot)
    if json_output:
        sys.stdout.write(json.dumps(cells_json(cells), indent=1) + "\n")
    else:
        render_table(cells, plan, console)
    where = f"; trajectories in {plot}" if plot is not None and plot_lrs else ""
    error_console.print(f"toy: study run {study_run} stored{where}", highlight=False)

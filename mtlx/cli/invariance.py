"""``mtlx invariance``: loss-scale invariance of the seed paper (Section 4.1.3, appendix A1–A2)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from mtlx.cli.app import app
from mtlx.cli.options import DbOption, console, error_console, user_errors


@app.command()
@user_errors
def invariance(
    steps: Annotated[
        int, typer.Option(help="Training steps of every run (full batch).", min=1)
    ] = 100,
    lr: Annotated[float, typer.Option(help="Learning rate of every run.")] = 1e-3,
    adam_eps: Annotated[
        float, typer.Option(help="Adam's ε (the optimizer's and per-task Adam's).")
    ] = 1e-8,
    seed: Annotated[int, typer.Option(help="Data and initialisation seed.", min=0)] = 0,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print [{"method", "optimizer", "backbone", "part", '
            '"max_relative_update_difference"}].',
        ),
    ] = False,
    plot: Annotated[Path, typer.Option(help="Where to draw Figures A1–A2 (PNG).")] = Path(
        "invariance.png"
    ),
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Draw no figure.")] = False,
    db: DbOption = None,
) -> None:
    """Loss-scale invariance: the same runs with losses × 10 and × 0.1, update by update.

    The paper's toy network (scalar input; backbone of two 20-unit LeakyReLU layers; two heads of
    two layers; L1 loss on the same depth) trained by EW + SGD, EW + Adam, UW-O + SGD and EW +
    per-task Adam (AdaTask), with a frozen and with a free backbone, once on the plain losses and
    once with them scaled by 10 and 0.1. Reported per part (backbone, each head): the relative
    difference ‖Δθˢ − Δθ‖ / ‖Δθ‖ of the scaled run's update at the first step and its maximum
    over the steps. The paper's claims: SGD is not invariant; Adam's heads are (up to ε), its
    backbone is not; UW-O and per-task Adam are invariant everywhere (up to ε). The results go to
    the database (study "invariance").
    """
    from mtlx.provenance import provenance
    from mtlx.store.database import open_database
    from mtlx.store.runs import utcnow
    from mtlx.store.studies import StudyStore
    from mtlx.studies.invariance import (
        InvariancePlan,
        invariance_table,
        plot_series,
        render_table,
        run_invariance,
        study_numbers,
        table_json,
    )

    plan = InvariancePlan(steps=steps, lr=lr, seed=seed, adam_eps=adam_eps)
    store = StudyStore(open_database(db))  # refuses a database at an older schema up front
    started = utcnow()
    with error_console.status("training the invariance runs…"):
        run = run_invariance(plan)
    table = invariance_table(run.differences)
    study_run = store.record(
        "invariance", plan.as_dict(), provenance("cpu"), started, utcnow(), study_numbers(run)
    )
    if not no_plot:
        plot_series(run, plot)
    if json_output:
        sys.stdout.write(json.dumps(table_json(table), indent=1) + "\n")
    else:
        render_table(table, plan, console)
    where = "" if no_plot else f"; Figures A1–A2 in {plot}"
    error_console.print(f"invariance: study run {study_run} stored{where}", highlight=False)

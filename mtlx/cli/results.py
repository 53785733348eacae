"""Analysis commands: ``report`` and ``pareto``, from the database alone (no torch)."""

from __future__ import annotations

from typing import Annotated

import typer

from mtlx.cli.app import app
from mtlx.cli.options import DbOption, split_names, user_errors
from mtlx.cli.selection import (
    DatasetOption,
    IncludeImportedOption,
    MethodsOption,
    NetworkOption,
    OptimizersOption,
    OutputOption,
    selection,
    table_console,
    write_text,
)

REPORT_FORMATS = ("terminal", "latex", "markdown", "csv", "json", "html")
PARETO_FORMATS = ("terminal", "latex", "markdown", "csv", "json")

FormatOption = Annotated[str, typer.Option("--format", help=f"{', '.join(REPORT_FORMATS)}.")]
StandaloneOption = Annotated[
    bool,
    typer.Option(
        "--standalone", help="LaTeX: a complete document that pdflatex compiles as it is."
    ),
]
LandscapeOption = Annotated[
    bool, typer.Option("--landscape", help="LaTeX: each table on a landscape page.")
]


def _check_format(format: str, allowed: tuple[str, ...], output: object) -> None:
    if format not in allowed:
        raise ValueError(f"--format must be one of {', '.join(allowed)}; got {format!r}")
    if format == "terminal" and output is not None:
        raise ValueError(
            f"--output needs a file format: {', '.join(f for f in allowed if f != 'terminal')}"
        )


def _open_engine(db: str | None):  # -> sqlalchemy.Engine
    from mtlx.store.database import open_database

    return open_database(db, create=False)


@app.command()
@user_errors
def report(
    dataset: DatasetOption = None,
    network: NetworkOption = None,
    methods: MethodsOption = None,
    optimizers: OptimizersOption = None,
    include_imported: IncludeImportedOption = False,
    format: FormatOption = "terminal",
    output: OutputOption = None,
    metrics: Annotated[
        str | None,
        typer.Option(
            help="Only these metrics or tasks (comma-separated stable names, e.g. seg,depth or "
            "seg.miou).",
            show_default=False,
        ),
    ] = None,
    precision: Annotated[
        int | None,
        typer.Option(
            help="Digits after the point for every metric (default: as the field prints them).",
            min=0,
            max=8,
            show_default=False,
        ),
    ] = None,
    std: Annotated[bool, typer.Option("--std/--no-std", help="Print ± std beside means.")] = True,
    standalone: StandaloneOption = False,
    landscape: LandscapeOption = False,
    db: DbOption = None,
) -> None:
    """The seed paper's results tables (A4–A7): each method × optimizer at its learning rate
    selected on validation, test metrics and ΔM as mean ± std over seeds, single-task row first."""
    from mtlx.analysis.comparison import load_comparisons
    from mtlx.analysis.summaries import method_summary, select_runs
    from mtlx.report import render_terminal
    from mtlx.report.documents import WRITERS, ResultsReport
    from mtlx.report.tables import TableOptions

    _check_format(format, REPORT_FORMATS, output)
    chosen = selection(dataset, network, methods, optimizers, include_imported)
    engine = _open_engine(db)
    comparisons = load_comparisons(engine, chosen)
    selected = [select_runs(c) for c in comparisons]
    options = TableOptions(precision, std, tuple(split_names(metrics) or ()) or None)
    document = ResultsReport(
        comparisons,
        selected,
        [method_summary(c, s) for c, s in zip(comparisons, selected, strict=True)],
        options,
        landscape,
        standalone,
    )
    if format == "terminal":
        terminal = table_console()
        for table in document.tables():
            render_terminal(table, terminal, std)
        return
    if format == "html":
        from mtlx.report.html import results_page

        write_text(results_page(engine, document, chosen), output)
        return
    write_text(WRITERS[format](document), output)


@app.command()
@user_errors
def pareto(
    dataset: DatasetOption = None,
    network: NetworkOption = None,
    methods: MethodsOption = None,
    optimizers: OptimizersOption = None,
    include_imported: IncludeImportedOption = False,
    by: Annotated[
        str,
        typer.Option(help="Count per optimizer (Table 2), method, or method-optimizer (Table A2)."),
    ] = "optimizer",
    vs: Annotated[
        str | None,
        typer.Option(
            help="Count 'PO w.r.t.' this group (e.g. sgd) instead of all other groups.",
            show_default=False,
        ),
    ] = None,
    objectives: Annotated[
        str,
        typer.Option(
            help="metrics: every test metric is an objective; tasks: one per task, its ΔM "
            "against the single-task baseline (see README)."
        ),
    ] = "metrics",
    seed_mean: Annotated[
        bool, typer.Option("--seed-mean", help="One point per seed mean instead of per seed.")
    ] = False,
    all_lrs: Annotated[
        bool,
        typer.Option(
            "--all-lrs",
            help="Every finished run, not only each method × optimizer's selected learning rate.",
        ),
    ] = False,
    format: Annotated[str, typer.Option("--format", help=f"{', '.join(PARETO_FORMATS)}.")] = (
        "terminal"
    ),
    output: OutputOption = None,
    standalone: StandaloneOption = False,
    landscape: LandscapeOption = False,
    db: DbOption = None,
) -> None:
    """Pareto-optimal counts (the seed paper's Table 2 and Table A2) and the Pareto front.

    CSV and JSON hold one row per run of the population with its flags, so the counts are one
    groupby away."""
    from mtlx.analysis.comparison import load_comparisons
    from mtlx.analysis.fronts import pareto_analysis
    from mtlx.report import render_terminal
    from mtlx.report.documents import WRITERS, ParetoReport

    _check_format(format, PARETO_FORMATS, output)
    chosen = selection(dataset, network, methods, optimizers, include_imported)
    comparisons = load_comparisons(_open_engine(db), chosen)
    results = [pareto_analysis(c, objectives, by, vs, all_lrs, seed_mean) for c in comparisons]
    document = ParetoReport(results, landscape, standalone)
    if format == "terminal":
        terminal = table_console()
        for table in document.tables():
            render_terminal(table, terminal)
        return
    write_text(WRITERS[format](document), output)

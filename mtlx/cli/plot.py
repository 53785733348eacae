"""``mtlx plot …``: figures of the same analyses as the tables (PNG or PDF by the suffix)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mtlx.cli.app import app
from mtlx.cli.options import DbOption, console, user_errors
from mtlx.cli.selection import (
    DatasetOption,
    IncludeImportedOption,
    MethodsOption,
    NetworkOption,
    OptimizersOption,
    selection,
)

plot_app = typer.Typer(
    help="Figures: Pareto fronts, parallel coordinates, metric vs learning rate, optimizers "
    "compared per method, training curves.",
    no_args_is_help=True,
)
app.add_typer(plot_app, name="plot")

PlotOutput = Annotated[
    Path | None,
    typer.Option(
        help="The file to write, .png or .pdf (default: <plot>-<dataset>-<network>.png; one "
        "file per setup, numbered when several).",
        show_default=False,
    ),
]
ByOption = Annotated[str, typer.Option(help="Colour by optimizer, method or method-optimizer.")]
MetricOption = Annotated[str, typer.Option(help="A metric (seg.miou) or delta_m.")]


def _targets(output: Path | None, kind: str, comparisons: list) -> list[Path]:  # type: ignore[type-arg]
    if output is not None and output.suffix.lower() not in (".png", ".pdf"):
        raise ValueError(f"--output must end in .png or .pdf, got {output.name!r}")
    if output is not None and len(comparisons) == 1:
        return [output]
    paths = []
    for index, comparison in enumerate(comparisons, start=1):
        stem = f"{kind}-{comparison.dataset}-{comparison.network}"
        if (
            sum(
                (c.dataset, c.network) == (comparison.dataset, comparison.network)
                for c in comparisons
            )
            > 1
        ):
            stem += f"-{index}"
        if output is None:
            paths.append(Path(f"{stem}.png"))
        else:
            paths.append(output.with_name(f"{output.stem}-{stem.split('-', 1)[1]}{output.suffix}"))
    return paths


def _comparisons(dataset, network, methods, optimizers, include_imported, db):  # type: ignore[no-untyped-def]
    from mtlx.analysis.comparison import load_comparisons
    from mtlx.store.database import open_database

    chosen = selection(dataset, network, methods, optimizers, include_imported)
    return load_comparisons(open_database(db, create=False), chosen)


def _marks(comparison) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each imported source's sign, as the report's table of this setup prints it."""
    from mtlx.report.tables import source_marks

    return source_marks(list(comparison.imported.get("source", [])))


def _write(figures: list, paths: list[Path]) -> None:  # type: ignore[type-arg]
    from mtlx.report.plots import save

    for figure, path in zip(figures, paths, strict=True):
        save(figure, str(path))
        console.print(f"wrote {path}", highlight=False)


@plot_app.command("pareto")
@user_errors
def plot_pareto(
    dataset: DatasetOption = None,
    network: NetworkOption = None,
    methods: MethodsOption = None,
    optimizers: OptimizersOption = None,
    include_imported: IncludeImportedOption = False,
    x: Annotated[
        str | None,
        typer.Option(
            "--x", help="A metric (seg.miou), a task (its ΔM) or delta_m.", show_default=False
        ),
    ] = None,
    y: Annotated[str | None, typer.Option("--y", help="As --x.", show_default=False)] = None,
    by: ByOption = "optimizer",
    all_lrs: Annotated[
        bool, typer.Option("--all-lrs", help="Every finished run, not only the selected lrs.")
    ] = False,
    output: PlotOutput = None,
    db: DbOption = None,
) -> None:
    """Two objectives of every run, coloured by group, with their Pareto front (default: the
    first two tasks' ΔM, or their first metrics before a baseline exists)."""
    from mtlx.analysis.fronts import pareto_analysis
    from mtlx.report.plots import default_axes, pareto_plot, resolve_axis
    from mtlx.report.tables import source_marks

    comparisons = _comparisons(dataset, network, methods, optimizers, include_imported, db)
    figures = []
    for comparison in comparisons:
        default_x, default_y = default_axes(comparison)
        columns = (
            resolve_axis(comparison, x) if x else default_x,
            resolve_axis(comparison, y) if y else default_y,
        )
        kind = "tasks" if any(c.startswith("delta_m.") for c in columns) else "metrics"
        result = pareto_analysis(comparison, kind, by, None, all_lrs)
        marks = source_marks([s for s in result.points["source"] if s != "trained"])
        figures.append(pareto_plot(result, *columns, marks))
    _write(figures, _targets(output, "pareto", comparisons))


@plot_app.command("parallel")
@user_errors
def plot_parallel(
    dataset: DatasetOption = None,
    network: NetworkOption = None,
    methods: MethodsOption = None,
    optimizers: OptimizersOption = None,
    include_imported: IncludeImportedOption = False,
    by: ByOption = "optimizer",
    all_lrs: Annotated[
        bool, typer.Option("--all-lrs", help="Every finished run, not only the selected lrs.")
    ] = False,
    output: PlotOutput = None,
    db: DbOption = None,
) -> None:
    """Every test metric on its own axis, one line per run coloured by group, Pareto-optimal
    runs bold (the seed paper's Figure 2)."""
    from mtlx.analysis.fronts import pareto_analysis
    from mtlx.report.plots import parallel_plot

    comparisons = _comparisons(dataset, network, methods, optimizers, include_imported, db)
    figures = [parallel_plot(pareto_analysis(c, "metrics", by, None, all_lrs)) for c in comparisons]
    _write(figures, _targets(output, "parallel", comparisons))


@plot_app.command("lr")
@user_errors
def plot_lr(
    dataset: DatasetOption = None,
    network: NetworkOption = None,
    methods: MethodsOption = None,
    optimizers: OptimizersOption = None,
    include_imported: IncludeImportedOption = False,
    metric: MetricOption = "delta_m",
    output: PlotOutput = None,
    db: DbOption = None,
) -> None:
    """A metric or ΔM against the learning rate, per method and optimizer, with a seed band."""
    from mtlx.report.plots import lr_plot, resolve_axis

    comparisons = _comparisons(dataset, network, methods, optimizers, include_imported, db)
    figures = []
    for comparison in comparisons:
        column = resolve_axis(comparison, metric)
        if column.startswith("delta_m."):
            raise ValueError(f"--metric {metric!r}: give a metric or delta_m, not a task")
        figures.append(lr_plot(comparison, column, _marks(comparison)))
    _write(figures, _targets(output, "lr", comparisons))


@plot_app.command("optimizers")
@user_errors
def plot_optimizers(
    dataset: DatasetOption = None,
    network: NetworkOption = None,
    methods: MethodsOption = None,
    optimizers: OptimizersOption = None,
    include_imported: IncludeImportedOption = False,
    metric: MetricOption = "delta_m",
    output: PlotOutput = None,
    db: DbOption = None,
) -> None:
    """ΔM (or a metric) per method with one bar per optimizer, each at its selected learning
    rate, ± std over seeds (the seed paper's Figure A3)."""
    from mtlx.analysis.summaries import method_summary
    from mtlx.report.plots import optimizers_plot, resolve_axis

    comparisons = _comparisons(dataset, network, methods, optimizers, include_imported, db)
    figures = [
        optimizers_plot(c, method_summary(c), resolve_axis(c, metric), _marks(c))
        for c in comparisons
    ]
    _write(figures, _targets(output, "optimizers", comparisons))


@plot_app.command("curves")
@user_errors
def plot_curves(
    runs: Annotated[
        list[str], typer.Argument(help="Run keys, or unique prefixes of them (`mtlx runs`).")
    ],
    output: Annotated[Path, typer.Option(help="The file to write, .png or .pdf.")] = Path(
        "curves.png"
    ),
    db: DbOption = None,
) -> None:
    """Per-epoch losses and metrics of some runs; the selected epoch dotted."""
    from mtlx.report.plots import PlotChoiceError, curves_plot
    from mtlx.store.database import open_database
    from mtlx.store.queries import epoch_histories, runs_by_key_prefix

    if output.suffix.lower() not in (".png", ".pdf"):
        raise ValueError(f"--output must end in .png or .pdf, got {output.name!r}")
    engine = open_database(db, create=False)
    found = runs_by_key_prefix(engine, runs)
    for prefix in runs:
        matches = found[found["prefix"] == prefix]
        if matches.empty:
            raise PlotChoiceError(f"no run whose key starts with {prefix!r}")
        if len(matches) > 1:
            raise PlotChoiceError(
                f"{prefix!r} matches {len(matches)} runs ({', '.join(matches['run_key'][:5])}…): "
                "give more of the key"
            )
    chosen = found.drop_duplicates("run_key")
    history = epoch_histories(engine, chosen["run_key"].tolist())
    if history.empty:
        raise PlotChoiceError("the runs have no recorded epochs yet")
    _write([curves_plot(history, chosen)], [output])

"""The ``mtlx`` command line: a thin layer over spec → dispatch → store → results → report."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from mtlx import __version__
from mtlx.errors import UserError

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

# Piped output gets a wide page instead of rich's 80 columns, so tables never wrap mid-cell.
console = Console(width=None if sys.stdout.isatty() else 200)
error_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

# ---- shared options ---------------------------------------------------------------------------

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Results database: a SQLite path or any SQLAlchemy URL "
        "(postgresql://…). Default: $MTLX_DB, else ./results.sqlite.",
        show_default=False,
    ),
]
DeviceOption = Annotated[
    str | None,
    typer.Option(
        help="cpu, cuda or cuda:N. Default: cuda when available, else cpu.", show_default=False
    ),
]
DataRootOption = Annotated[
    Path | None,
    typer.Option(
        "--data-root", help="Where the dataset lives. Default: $MTLX_DATA.", show_default=False
    ),
]
EpochsOption = Annotated[
    int | None,
    typer.Option(
        help="Override training.epochs of the experiment file.", show_default=False, min=1
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override any experiment key, e.g. --set training.batch_size=128 "
        "(repeatable; values parsed as YAML).",
        show_default=False,
    ),
]
JacobianOption = Annotated[
    str, typer.Option(help="Per-task gradients: auto, loop or batched (see README).")
]
WorkersOption = Annotated[int, typer.Option(help="DataLoader worker processes.", min=0)]
ExperimentArgument = Annotated[
    str,
    typer.Argument(help="Experiment name (experiments/<name>.yaml) or a path to a YAML file."),
]


def user_errors(command: F) -> F:
    """Turn the errors a user can fix into one clear line and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (UserError, ValueError, FileNotFoundError) as error:
            error_console.print(f"[bold red]error:[/] {error}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def split_names(text: str | None) -> list[str] | None:
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


def load_experiment(experiment: str, epochs: int | None, overrides: Sequence[str] | None):
    from mtlx.spec import load_spec

    assignments = list(overrides or [])
    if epochs is not None:
        assignments.append(f"training.epochs={epochs}")
    spec = load_spec(experiment)
    return spec.with_overrides(assignments) if assignments else spec


def make_context(
    db: str | None, device: str | None, data_root: Path | None, jacobian: str, num_workers: int
):
    from mtlx.dispatch.progress import RichReporter
    from mtlx.dispatch.worker import RunContext
    from mtlx.engine.jacobian import JACOBIAN_MODES
    from mtlx.provenance import check_device, default_device
    from mtlx.store.database import open_database
    from mtlx.store.runs import RunStore

    if jacobian not in JACOBIAN_MODES:
        raise ValueError(f"--jacobian must be one of {', '.join(JACOBIAN_MODES)}, got {jacobian!r}")
    root = data_root or (Path(os.environ["MTLX_DATA"]) if "MTLX_DATA" in os.environ else None)
    return RunContext(
        store=RunStore(open_database(db)),
        device=check_device(device or default_device()),
        data_root=root,
        jacobian_mode=jacobian,
        num_workers=num_workers,
        reporter=RichReporter(console),
    )


def print_summary(summary) -> None:
    counts = summary.counts()
    parts = [f"{summary.planned} planned", f"{summary.already_finished} already finished"]
    parts += [f"{n} {status.lower()}" for status, n in sorted(counts.items())]
    console.print("sweep: " + ", ".join(parts), highlight=False)


def exit_status(summary) -> None:
    if summary.counts().get("FAILED"):
        error_console.print(
            "[bold red]some runs failed[/]: their tracebacks are in the database "
            "(`mtlx runs --status FAILED`); re-running the sweep retries them",
            highlight=False,
        )
        raise typer.Exit(1)


# ---- commands ---------------------------------------------------------------------------------


@app.command()
@user_errors
def train(
    experiment: ExperimentArgument,
    method: Annotated[
        str | None, typer.Option(help="MTO method (default: the file's).", show_default=False)
    ] = None,
    optimizer: Annotated[
        str | None, typer.Option(help="Optimizer (default: the file's).", show_default=False)
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="Learning rate (default: the file's).", show_default=False)
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Training seed (default: the file's).", show_default=False)
    ] = None,
    epochs: EpochsOption = None,
    overrides: SetOption = None,
    device: DeviceOption = None,
    db: DbOption = None,
    data_root: DataRootOption = None,
    jacobian: JacobianOption = "auto",
    num_workers: WorkersOption = 0,
) -> None:
    """Train one multi-task run and record it (skipped if already finished in the database)."""
    from mtlx.dispatch.sweep import run_sweep
    from mtlx.dispatch.worker import RunPlan

    spec = load_experiment(experiment, epochs, overrides)
    defaults = spec.defaults
    config = spec.run_config(
        spec.tasks,
        method or defaults["method"],
        optimizer or defaults["optimizer"],
        lr if lr is not None else defaults["lr"],
        seed if seed is not None else defaults["seed"],
    )
    context = make_context(db, device, data_root, jacobian, num_workers)
    summary = run_sweep([RunPlan(config, spec.name)], context)
    print_summary(summary)
    show_run(context.store, config.run_key)
    exit_status(summary)


def show_run(store, run_key: str) -> None:
    from mtlx.report import Column, ReportTable, render_terminal

    runs = store.runs_frame(run_key=run_key)
    if runs.empty:
        return
    run = runs.iloc[0]
    console.print(
        f"run {run_key}: {run['status']}, selected epoch {run['selected_epoch']} "
        f"({run['selection_rule']}) of {run['epochs_completed']}",
        highlight=False,
    )
    if run["status"] != "FINISHED":
        return
    metrics = store.selected_metrics(run_key=run_key)
    described = store.task_metrics(run_key=run_key)
    names = [m for task in described.values() for m in task["metrics"]]
    directions = {m: h for task in described.values() for m, h in task["metrics"].items()}
    table = ReportTable(
        title=f"{run['method']} {run['optimizer']} lr={run['lr']:g} seed={run['seed']}",
        columns=[
            Column("split", "split"),
            *[Column(m, m, higher_is_better=directions[m]) for m in names],
        ],
        rows=[
            {"split": r["split"], **{m: r[m] for m in names}}
            for r in metrics.to_dict("records")
            if r["split"] in ("val", "test")
        ],
    )
    render_terminal(table, console)


@app.command()
@user_errors
def sweep(
    experiment: ExperimentArgument,
    methods: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated methods, or 'all' for every registered one (default: the file's "
            "sweep.methods).",
            show_default=False,
        ),
    ] = None,
    optimizers: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated optimizers (default: the file's sweep.optimizers).",
            show_default=False,
        ),
    ] = None,
    lrs: Annotated[
        str | None,
        typer.Option(
            help="A learning-rate grid named in the file's lr_grids (e.g. 'grid'), or a "
            "comma-separated list (default: the file's sweep.lrs).",
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[
        str | None,
        typer.Option(
            help="A count (3 → seeds 0,1,2) or a comma-separated list (default: the file's "
            "sweep.seeds).",
            show_default=False,
        ),
    ] = None,
    epochs: EpochsOption = None,
    overrides: SetOption = None,
    device: DeviceOption = None,
    db: DbOption = None,
    data_root: DataRootOption = None,
    jacobian: JacobianOption = "auto",
    num_workers: WorkersOption = 0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the planned runs and exit.")
    ] = False,
) -> None:
    """Run the grid methods × optimizers × learning rates × seeds; finished runs are skipped."""
    from mtlx.dispatch.sweep import run_sweep
    from mtlx.dispatch.worker import RunPlan

    spec = load_experiment(experiment, epochs, overrides)
    grid = sweep_grid(spec, methods, optimizers, lrs, seeds)
    plans = [RunPlan(config, spec.name) for config in spec.expand(spec.tasks, *grid)]
    if dry_run:
        for plan in plans:
            console.print(f"{plan.run_key}  {plan.label()}", highlight=False)
        console.print(f"{len(plans)} runs planned", highlight=False)
        return
    context = make_context(db, device, data_root, jacobian, num_workers)
    summary = run_sweep(plans, context)
    print_summary(summary)
    exit_status(summary)


def sweep_grid(
    spec,
    methods: str | None,
    optimizers: str | None,
    lrs: str | None,
    seeds: str | None,
) -> tuple[list[str], list[str], Any, list[int]]:
    """The flags over the experiment file's ``sweep`` section over built-in defaults."""
    from mtlx.methods import METHODS
    from mtlx.spec import SpecError, parse_seeds

    section = spec.sweep
    chosen_methods = split_names(methods) or _as_list(section.get("methods", ["ew"]))
    if chosen_methods == ["all"]:
        chosen_methods = METHODS.names()
    for name in chosen_methods:
        METHODS.get(name)
    chosen_optimizers = split_names(optimizers) or _as_list(section.get("optimizers", ["adam"]))
    lr_choice: Any = lrs if lrs is not None else section.get("lrs", [spec.defaults["lr"]])
    if isinstance(lr_choice, str) and lr_choice not in spec.lr_grids:
        try:
            lr_choice = [float(x) for x in lr_choice.split(",") if x.strip()]
        except ValueError:
            known = ", ".join(sorted(spec.lr_grids)) or "none"
            raise SpecError(
                f"--lrs {lrs!r}: neither a grid of {spec.source} ({known}) nor a list of numbers"
            ) from None
    seed_choice = seeds if seeds is not None else _seed_text(section.get("seeds", 1))
    return chosen_methods, chosen_optimizers, lr_choice, parse_seeds(seed_choice)


def _seed_text(value: Any) -> str:
    return ",".join(str(s) for s in value) + "," if isinstance(value, list) else str(value)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@app.command("stl-baseline")
@user_errors
def stl_baseline(
    experiment: ExperimentArgument,
    tasks: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated tasks (default: all tasks of the experiment).", show_default=False
        ),
    ] = None,
    optimizer: Annotated[
        str | None,
        typer.Option(
            help="Optimizer (default: the file's stl.optimizer, else adam).", show_default=False
        ),
    ] = None,
    lrs: Annotated[
        str | None,
        typer.Option(
            help="A named grid or a comma-separated list (default: the file's stl.lrs).",
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[
        str | None,
        typer.Option(
            help="A count or a comma-separated list (default: the file's stl.seeds).",
            show_default=False,
        ),
    ] = None,
    epochs: EpochsOption = None,
    overrides: SetOption = None,
    device: DeviceOption = None,
    db: DbOption = None,
    data_root: DataRootOption = None,
    num_workers: WorkersOption = 0,
) -> None:
    """Train single-task baselines (one head, best lr on validation) and store them for ΔM."""
    from mtlx.baselines import derive_baselines, stl_plans
    from mtlx.dispatch.sweep import run_sweep
    from mtlx.report import Column, ReportTable, render_terminal
    from mtlx.spec import SpecError

    spec = load_experiment(experiment, epochs, overrides)
    chosen_tasks = split_names(tasks) or list(spec.tasks)
    for task in chosen_tasks:
        if task not in spec.tasks:
            raise SpecError(f"--tasks: {task!r} is not a task of {spec.source} ({spec.tasks})")
    section = spec.stl
    chosen_optimizer = optimizer or section.get("optimizer", "adam")
    _, _, lr_choice, seed_list = sweep_grid(
        spec,
        "ew",
        chosen_optimizer,
        lrs if lrs is not None else _stl_lrs(section),
        seeds if seeds is not None else _seed_text(section.get("seeds", 3)),
    )
    plans = stl_plans(spec, chosen_tasks, chosen_optimizer, lr_choice, seed_list)
    context = make_context(db, device, data_root, "auto", num_workers)
    summary = run_sweep(plans, context)
    print_summary(summary)
    rows = derive_baselines(context.store, plans[0].config.baseline_key, chosen_tasks)
    table = ReportTable(
        title=f"single-task baselines — {spec.dataset['name']} / {spec.network['name']}",
        columns=[
            Column("task", "task"),
            Column("split", "split"),
            Column("metric", "metric"),
            Column("value", "mean ± std", higher_is_better=None),
            Column("lr", "lr"),
            Column("seeds", "seeds"),
        ],
        rows=[
            {
                "task": r["task"],
                "split": r["split"],
                "metric": r["metric"],
                "value": _mean_std(r["value"], r["std"]),
                "lr": f"{r['lr']:g}",
                "seeds": r["seeds"],
            }
            for r in rows.to_dict("records")
        ],
    )
    render_terminal(table, console)
    exit_status(summary)


def _stl_lrs(section: dict[str, Any]) -> str:
    value = section.get("lrs", "grid")
    return value if isinstance(value, str) else ",".join(str(v) for v in value)


def _mean_std(value: float, std: float | None) -> str:
    return f"{value:.4f}" if std is None or std != std else f"{value:.4f} ± {std:.4f}"


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

    for setup in load_setups(_store(db), dataset, network):
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
    tables = [delta_m_table(setup) for setup in load_setups(_store(db), dataset, network)]
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
    from mtlx.results import runs_table

    frame = _store(db).runs_frame(dataset=dataset, status=status, method=method)
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


@app.command()
def methods() -> None:
    """List the registered MTO methods and their hyper-parameters with defaults."""
    from mtlx.methods import METHODS, method_hyperparameters

    for name in METHODS.names():
        cls = METHODS.get(name)
        hyper = method_hyperparameters(name)
        text = sys.modules[cls.__module__].__doc__ or cls.__doc__ or ""
        description = " ".join(text.strip().split("\n\n")[0].split())
        settings = ", ".join(f"{k}={v}" for k, v in hyper.items()) or "—"
        console.print(f"[bold]{name}[/]  {description}\n    {settings}", highlight=False)


data_app = typer.Typer(
    help="Datasets on disk: check a folder, write a synthetic fixture.", no_args_is_help=True
)
app.add_typer(data_app, name="data")


@data_app.command("check")
@user_errors
def data_check(
    dataset: Annotated[str, typer.Argument(help="nyuv2, cityscapes or celeba.")],
    path: Annotated[Path, typer.Argument(help="The dataset folder.")],
    full: Annotated[
        bool,
        typer.Option("--full", help="Read every file, not only the first and last of each folder."),
    ] = False,
) -> None:
    """Validate a dataset folder before training: files, shapes and value ranges."""
    from mtlx.data.check import check_dataset

    for line in check_dataset(dataset, path, full=full):
        console.print(line, highlight=False, markup=False)
    console.print(f"{path}: a valid {dataset} folder", highlight=False)


@data_app.command("fixture")
@user_errors
def data_fixture(
    dataset: Annotated[str, typer.Argument(help="nyuv2, cityscapes or celeba.")],
    out: Annotated[Path, typer.Option(help="Folder to write into.")],
    n: Annotated[int, typer.Option("--n", help="Samples per split (CelebA: in all).", min=1)] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic values.")] = 0,
    height: Annotated[
        int | None,
        typer.Option(
            help="Dense datasets: image height (default: the real one).", show_default=False
        ),
    ] = None,
    width: Annotated[
        int | None,
        typer.Option(
            help="Dense datasets: image width (default: the real one).", show_default=False
        ),
    ] = None,
) -> None:
    """Write a small synthetic dataset in exactly the real on-disk format (to try mtlx out)."""
    from mtlx.data.fixtures import write_fixture

    options = {k: v for k, v in (("height", height), ("width", width)) if v is not None}
    root = write_fixture(dataset, out, n, seed, **options)
    console.print(f"wrote a synthetic {dataset} dataset to {root}", highlight=False)


@app.command()
@user_errors
def models() -> None:
    """Registered networks and their parameter counts on the paper's datasets."""
    from mtlx.data.check import CELEBA_ATTRIBUTES
    from mtlx.data.nyuv2 import NUM_CLASSES as NYUV2_CLASSES
    from mtlx.models import NETWORKS
    from mtlx.models.summary import parameter_counts
    from mtlx.report import Column, ReportTable, render_terminal
    from mtlx.tasks import (
        BinaryAttributeTask,
        ClassificationTask,
        DepthTask,
        NormalTask,
        SegmentationTask,
    )

    nyuv2 = [SegmentationTask(NYUV2_CLASSES), DepthTask(), NormalTask()]
    cityscapes = [SegmentationTask(7), DepthTask()]
    setups = [
        (
            "multilenet",
            "multimnist",
            [ClassificationTask("left", 10), ClassificationTask("right", 10)],
            (1, 28, 28),
        ),
        ("segnet", "nyuv2", nyuv2, (3, 288, 384)),
        ("segnet", "cityscapes", cityscapes, (3, 128, 256)),
        ("deeplabv3", "nyuv2", nyuv2, (3, 288, 384)),
        ("deeplabv3", "cityscapes", cityscapes, (3, 128, 256)),
        ("resnet18", "celeba", [BinaryAttributeTask(a) for a in CELEBA_ATTRIBUTES], (3, 64, 64)),
    ]
    rows = []
    for network, dataset, tasks, shape in setups:
        counts = parameter_counts(network, tasks, shape)
        single = parameter_counts(network, tasks[:1], shape)["total"]
        heads = counts["heads"]
        rows.append(
            {
                "network": network,
                "dataset": dataset,
                "tasks": len(tasks),
                "shared": f"{counts['shared']:,}",
                "heads": f"{sum(heads.values()):,}",
                "total": f"{counts['total']:,}",
                "single": f"{single:,}",
            }
        )
    missing = sorted(set(NETWORKS.names()) - {row["network"] for row in rows})
    render_terminal(
        ReportTable(
            title="parameter counts (multi-task; single-task = the first task's network alone)",
            columns=[
                Column(k, t)
                for k, t in (
                    ("network", "network"),
                    ("dataset", "dataset"),
                    ("tasks", "T"),
                    ("shared", "shared"),
                    ("heads", "all heads"),
                    ("total", "total"),
                    ("single", "single-task"),
                )
            ],
            rows=rows,
            notes=[f"also registered: {', '.join(missing)}"] if missing else [],
        ),
        console,
    )


bench_app = typer.Typer(help="Benchmarks of the training step.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("methods")
@user_errors
def bench_methods(
    settings: Annotated[
        str,
        typer.Option(
            help="Comma-separated settings: multilenet (T=2), segnet (T=3), resnet18 (T=40)."
        ),
    ] = "multilenet,segnet,resnet18",
    methods: Annotated[str, typer.Option(help="Comma-separated methods, or 'all'.")] = "all",
    device: DeviceOption = None,
    steps: Annotated[int, typer.Option(help="Timed steps per method (median).", min=1)] = 10,
    warmup: Annotated[int, typer.Option(help="Untimed steps first.", min=0)] = 3,
    dense_size: Annotated[
        str, typer.Option(help="SegNet input HxW (the paper's NYUv2 size is 288x384).")
    ] = "288x384",
    dense_batch: Annotated[int, typer.Option(help="SegNet batch size.", min=1)] = 8,
    celeba_batch: Annotated[int, typer.Option(help="ResNet-18 batch size.", min=1)] = 512,
    jacobian: JacobianOption = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    json_out: Annotated[
        Path | None,
        typer.Option(help="Also write the rows as JSON to this file.", show_default=False),
    ] = None,
) -> None:
    """Training-step time of every method relative to EW and to its bare per-task gradients."""
    import dataclasses
    import json

    from mtlx.engine.benchmark import bench_setting
    from mtlx.engine.benchmark import settings as bench_settings
    from mtlx.methods import METHODS
    from mtlx.provenance import check_device, default_device, device_description
    from mtlx.report import Column, ReportTable, render_terminal

    height, _, width = dense_size.partition("x")
    if not (height.isdigit() and width.isdigit()):
        raise ValueError(f"--dense-size must look like 288x384, got {dense_size!r}")
    available = bench_settings((int(height), int(width)), dense_batch, celeba_batch)
    chosen = split_names(settings) or []
    for name in chosen:
        if name not in available:
            raise ValueError(f"unknown setting {name!r}; available: {', '.join(available)}")
    method_names = METHODS.names() if methods == "all" else (split_names(methods) or [])
    for name in method_names:
        METHODS.get(name)
    device = check_device(device or default_device())
    rows = []
    for name in chosen:
        rows += bench_setting(available[name], method_names, device, steps, warmup, jacobian)
        if not as_json:
            error_console.print(f"{name}: done", highlight=False)
    document = json.dumps(
        {"device": device_description(device), "rows": [dataclasses.asdict(r) for r in rows]},
        indent=2,
    )
    if json_out is not None:
        json_out.write_text(document)
    if as_json:
        print(document)
        return
    table = ReportTable(
        title=f"training step, median of {steps} — {device_description(device)}",
        columns=[
            Column("setting", "setting"),
            Column("tasks", "T"),
            Column("name", "method"),
            Column("ms", "ms/step"),
            Column("vs_ew", "× EW"),
            Column("vs_floor", "× floor"),
            Column("host_syncs", "host syncs"),
        ],
        rows=[
            {
                "setting": r.setting,
                "tasks": r.tasks,
                "name": r.name,
                "ms": f"{1000 * r.seconds:.1f}",
                "vs_ew": f"{r.vs_ew:.2f}",
                "vs_floor": "" if r.vs_floor is None else f"{r.vs_floor:.2f}",
                "host_syncs": "" if r.host_syncs is None else r.host_syncs,
            }
            for r in rows
        ],
        notes=[
            "per-task-sum: a full step summing the per-task gradients (the floor; × floor = a "
            "method's solver and aggregation overhead); jacobian-<engine>: forward + Jacobian "
            "alone; libmtl-loop: the Jacobian computed as LibMTL does"
        ],
    )
    render_terminal(table, console)


def _store(db: str | None):
    from mtlx.store.database import open_database
    from mtlx.store.runs import RunStore

    return RunStore(open_database(db, create=False))


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

    store = _store(db)
    frame = store.runs_frame()
    counts = frame["status"].value_counts().to_dict() if not frame.empty else {}
    console.print(
        f"{database_url(db)}: schema {current_revision(store.engine)} (latest {head_revision()}); "
        f"runs: {counts or 'none'}",
        highlight=False,
    )


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
    # mtlx's own warnings (an engine falling back, say) go to stderr, once, beside the progress
    logger = logging.getLogger("mtlx")
    if not logger.handlers:
        logger.addHandler(RichHandler(console=error_console, show_path=False, show_time=False))
        logger.setLevel(logging.INFO)

"""Training commands: ``train`` one run, ``sweep`` a grid, ``stl-baseline``."""

from __future__ import annotations

from typing import Annotated

import typer

from mtlx.cli.app import app
from mtlx.cli.dispatching import (
    AccountOption,
    ArrayParallelismOption,
    CpusOption,
    Dispatch,
    DryRunOption,
    ExecutorOption,
    GpusOption,
    JobsPerGpuOption,
    MemOption,
    PartitionOption,
    QosOption,
    SbatchOption,
    SlurmGpusOption,
    SlurmLogsOption,
    TimeOption,
    WorkersOption,
    dispatch,
    slurm_flags,
)
from mtlx.cli.dispatching import dry_run as dry_run_table
from mtlx.cli.options import (
    CheckpointsOption,
    DataRootOption,
    DbOption,
    DeviceOption,
    EpochsOption,
    ExperimentArgument,
    JacobianOption,
    KeepOption,
    LoaderWorkersOption,
    SetOption,
    StaleAfterOption,
    console,
    exit_status,
    load_experiment,
    print_summary,
    split_names,
    user_errors,
    worker_config,
)


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
    loader_workers: LoaderWorkersOption = 0,
    checkpoints: CheckpointsOption = None,
    keep: KeepOption = "selected",
    stale_after: StaleAfterOption = 10.0,
) -> None:
    """Train one multi-task run and record it (skipped if already finished in the database)."""
    from mtlx.dispatch.plan import RunPlan

    spec = load_experiment(experiment, epochs, overrides)
    config = spec.single_run_config(method, optimizer, lr, seed)
    spec.check_components()
    settings = worker_config(
        db, device, data_root, jacobian, loader_workers, checkpoints, keep, stale_after
    )
    plan = RunPlan(config, spec.name, spec.checkpoint_every)
    local = dispatch([plan], spec, settings, Dispatch())
    assert local is not None  # the local executor always returns its summary
    summary, store = local
    print_summary(summary)
    show_run(store, config.run_key)
    exit_status(summary)


def show_run(store, run_key: str) -> None:
    from mtlx.report import render_terminal

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
    from mtlx.report.tables import run_metrics_table

    title = f"{run['method']} {run['optimizer']} lr={run['lr']:g} seed={run['seed']}"
    metrics = store.selected_metrics(run_key=run_key)
    described = store.task_metrics(run_key=run_key)
    in_training_order = {
        task: described[task] for task in run["tasks"].split(",") if task in described
    }
    render_terminal(run_metrics_table(title, metrics, in_training_order), console)


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
    loader_workers: LoaderWorkersOption = 0,
    checkpoints: CheckpointsOption = None,
    keep: KeepOption = "selected",
    stale_after: StaleAfterOption = 10.0,
    executor: ExecutorOption = "local",
    workers: WorkersOption = 1,
    gpus: GpusOption = None,
    jobs_per_gpu: JobsPerGpuOption = 1,
    partition: PartitionOption = None,
    time: TimeOption = None,
    slurm_gpus: SlurmGpusOption = None,
    cpus: CpusOption = None,
    mem: MemOption = None,
    account: AccountOption = None,
    qos: QosOption = None,
    array_parallelism: ArrayParallelismOption = None,
    sbatch: SbatchOption = None,
    slurm_logs: SlurmLogsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Run the grid methods × optimizers × learning rates × seeds; finished runs are skipped."""
    from mtlx.dispatch.plan import RunPlan
    from mtlx.spec import sweep_grid

    spec = load_experiment(experiment, epochs, overrides)
    grid = sweep_grid(spec, methods, optimizers, lrs, seeds)
    plans = [
        RunPlan(config, spec.name, spec.checkpoint_every)
        for config in spec.expand(spec.tasks, *grid)
    ]
    if dry_run:
        dry_run_table(plans, db, stale_after)
        return
    settings = worker_config(
        db, device, data_root, jacobian, loader_workers, checkpoints, keep, stale_after
    )
    how = Dispatch(
        executor,
        workers,
        gpus,
        jobs_per_gpu,
        slurm_flags(
            partition=partition,
            time=time,
            slurm_gpus=slurm_gpus,
            cpus=cpus,
            mem=mem,
            account=account,
            qos=qos,
            array_parallelism=array_parallelism,
            sbatch=sbatch,
        ),
        slurm_logs,
    )
    local = dispatch(plans, spec, settings, how)
    if local is None:
        return
    summary, _ = local
    print_summary(summary)
    exit_status(summary)


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
    loader_workers: LoaderWorkersOption = 0,
    checkpoints: CheckpointsOption = None,
    keep: KeepOption = "selected",
    stale_after: StaleAfterOption = 10.0,
    executor: ExecutorOption = "local",
    workers: WorkersOption = 1,
    gpus: GpusOption = None,
    jobs_per_gpu: JobsPerGpuOption = 1,
    partition: PartitionOption = None,
    time: TimeOption = None,
    slurm_gpus: SlurmGpusOption = None,
    cpus: CpusOption = None,
    mem: MemOption = None,
    account: AccountOption = None,
    qos: QosOption = None,
    array_parallelism: ArrayParallelismOption = None,
    sbatch: SbatchOption = None,
    slurm_logs: SlurmLogsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Train single-task baselines (one head, best lr on validation) and store them for ΔM."""
    from mtlx.baselines import derive_baselines, stl_plans
    from mtlx.report import render_terminal
    from mtlx.report.tables import baselines_table
    from mtlx.spec import SpecError, stl_grid

    spec = load_experiment(experiment, epochs, overrides)
    chosen_tasks = split_names(tasks) or list(spec.tasks)
    for task in chosen_tasks:
        if task not in spec.tasks:
            raise SpecError(f"--tasks: {task!r} is not a task of {spec.source} ({spec.tasks})")
    chosen_optimizer, lr_choice, seed_list = stl_grid(spec, optimizer, lrs, seeds)
    plans = stl_plans(spec, chosen_tasks, chosen_optimizer, lr_choice, seed_list)
    if dry_run:
        dry_run_table(plans, db, stale_after)
        return
    settings = worker_config(
        db, device, data_root, "auto", loader_workers, checkpoints, keep, stale_after
    )
    how = Dispatch(
        executor,
        workers,
        gpus,
        jobs_per_gpu,
        slurm_flags(
            partition=partition,
            time=time,
            slurm_gpus=slurm_gpus,
            cpus=cpus,
            mem=mem,
            account=account,
            qos=qos,
            array_parallelism=array_parallelism,
            sbatch=sbatch,
        ),
        slurm_logs,
    )
    local = dispatch(plans, spec, settings, how)
    if local is None:
        console.print(
            "once these runs finished, run this command again: it trains nothing more and "
            "derives the baselines",
            highlight=False,
        )
        return
    summary, store = local
    print_summary(summary)
    if summary.stopped_by is not None:
        exit_status(summary)
    rows = derive_baselines(store, plans[0].config.baseline_key, chosen_tasks)
    title = f"single-task baselines — {spec.dataset['name']} / {spec.network['name']}"
    table = baselines_table(title, rows)
    render_terminal(table, console)
    exit_status(summary)

"""Managing runs: ``retry`` FAILED and KILLED runs, ``cancel`` RUNNING ones.

``mtlx retry`` trains the runs itself, in this process, through the same worker code as
``mtlx sweep`` (claim, resume from the recorded checkpoint, heartbeat, record): each plan is
rebuilt from the run's stored config, so neither the experiment file nor the sweep's flags are
needed, and a run retried here is indistinguishable from one a re-run sweep resumed. Re-running
the sweep that planned them does the same for its own runs; ``retry`` is for choosing which.

``mtlx cancel`` asks the runs' workers to stop through the database — each sees the request at
its next heartbeat and stops its run between two steps, KILLED with a checkpoint — so it reaches
workers on any machine; a run trained in a Slurm job also has that job cancelled.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
from typing import Annotated

import typer
from rich.text import Text

from mtlx.cli.app import app
from mtlx.cli.options import (
    CheckpointsOption,
    DataRootOption,
    DbOption,
    DeviceOption,
    JacobianOption,
    KeepOption,
    LoaderWorkersOption,
    StaleAfterOption,
    console,
    error_console,
    execute_plans,
    exit_status,
    open_store,
    print_summary,
    user_errors,
    worker_config,
)
from mtlx.cli.watch import format_duration, format_worker, short_key
from mtlx.errors import UserError

RunKeysArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Run keys, or unique prefixes of them. Default: every run matching the filters.",
        show_default=False,
    ),
]
ExperimentFilter = Annotated[
    str | None, typer.Option(help="Only this experiment (its name).", show_default=False)
]
DatasetFilter = Annotated[str | None, typer.Option(help="Only this dataset.", show_default=False)]
MethodFilter = Annotated[str | None, typer.Option(help="Only this method.", show_default=False)]


class NothingChosenError(UserError, ValueError):
    """A command that acts on running work was given nothing to act on."""


def _writable_store(db: str | None):
    """The store for writing; callers open it read-only first, so a missing database is refused
    there rather than created here."""
    from mtlx.store.database import open_database
    from mtlx.store.runs import RunStore

    return RunStore(open_database(db, create=True))


@app.command()
@user_errors
def retry(
    run_keys: RunKeysArgument = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="Only FAILED or only KILLED runs (any case). Default: both.", show_default=False
        ),
    ] = None,
    experiment: ExperimentFilter = None,
    dataset: DatasetFilter = None,
    method: MethodFilter = None,
    from_scratch: Annotated[
        bool,
        typer.Option(
            "--from-scratch", help="Start each run again at epoch 0 instead of resuming it."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the runs and where each resumes; train none.")
    ] = False,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            "--checkpoint-every",
            help="Epochs between checkpoints (the experiment file's training.checkpoint_every "
            "is not stored with a run).",
            min=1,
        ),
    ] = 1,
    device: DeviceOption = None,
    db: DbOption = None,
    data_root: DataRootOption = None,
    jacobian: JacobianOption = "auto",
    loader_workers: LoaderWorkersOption = 0,
    checkpoints: CheckpointsOption = None,
    keep: KeepOption = "selected",
    stale_after: StaleAfterOption = 10.0,
) -> None:
    """Train FAILED and KILLED runs again, here, each from its recorded checkpoint."""
    from mtlx.dispatch.plan import RunPlan
    from mtlx.spec import RunConfig
    from mtlx.store.monitoring import RunFilter, parse_status, select_runs
    from mtlx.store.schema import RunStatus

    retryable = (RunStatus.FAILED, RunStatus.KILLED)
    statuses = (parse_status(status, retryable),) if status else retryable
    selection = RunFilter(statuses, tuple(run_keys or ()), experiment, dataset, method)
    runs = select_runs(open_store(db), selection)
    if not runs:
        console.print(
            f"no {' or '.join(s.value for s in statuses)} run matches: nothing to retry",
            highlight=False,
        )
        return
    plans = []
    for run in runs:
        config = RunConfig.from_dict(run.config)
        if config.run_key != run.run_key:
            raise UserError(
                f"run {run.run_key}: its stored config hashes to {config.run_key} with this "
                "mtlx (it was written by another version); retry it with that version, or "
                "re-run its sweep"
            )
        plans.append(RunPlan(config, run.experiment, checkpoint_every))
    width = max(len(run.label) for run in runs)
    for run in runs:
        start = (
            "from epoch 0"
            if from_scratch or run.checkpoint_path is None
            else f"from epoch {run.checkpoint_epoch}"
        )
        console.print(
            Text(f"{short_key(run.run_key)}  {run.status:<6}  {run.label:<{width}}  {start}")
        )
    if dry_run:
        console.print(f"{len(plans)} runs would be retried", highlight=False)
        return
    settings = worker_config(
        db,
        device,
        data_root,
        jacobian,
        loader_workers,
        checkpoints,
        keep,
        stale_after,
        resume=not from_scratch,
    )
    summary, _ = execute_plans(plans, settings)
    print_summary(summary)
    exit_status(summary)


@app.command()
@user_errors
def cancel(
    run_keys: RunKeysArgument = None,
    experiment: ExperimentFilter = None,
    dataset: DatasetFilter = None,
    method: MethodFilter = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every RUNNING run of the database.")
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option(
            help="Recorded with the runs. Default: who cancelled, from where.", show_default=False
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Stop RUNNING runs: their workers record them KILLED with a checkpoint (`mtlx retry`
    resumes them); the Slurm jobs that train them are cancelled."""
    from mtlx.store.monitoring import RunFilter, select_runs
    from mtlx.store.runs import DEFAULT_STALE_AFTER
    from mtlx.store.schema import RunStatus

    if not (run_keys or experiment or dataset or method or every):
        raise NothingChosenError(
            "name the runs to cancel: run keys, --experiment, --dataset, --method, or --all"
        )
    selection = RunFilter((RunStatus.RUNNING,), tuple(run_keys or ()), experiment, dataset, method)
    runs = select_runs(open_store(db), selection)
    if not runs:
        console.print("no RUNNING run matches: nothing to cancel", highlight=False)
        return
    store = _writable_store(db)
    why = reason or f"mtlx cancel by {getpass.getuser()}@{socket.gethostname()}"
    asked = store.request_stop([run.run_key for run in runs], why)
    now = store.server_time()
    console.print(
        f"asked {asked} running run(s) to stop: each worker records its run KILLED with a "
        "checkpoint at its next heartbeat (`mtlx retry` resumes them)",
        highlight=False,
    )
    width = max(len(run.label) for run in runs)
    stale = 0
    for run in runs:
        age = now - run.heartbeat_at
        stale += age > DEFAULT_STALE_AFTER
        worker = format_worker({"host": run.host, "pid": run.pid}, run.slurm_job_id)
        mark = "  (stale)" if age > DEFAULT_STALE_AFTER else ""
        console.print(Text(f"  {short_key(run.run_key)}  {run.label:<{width}}  {worker}{mark}"))
    if stale:
        console.print(
            f"{stale} of them had no heartbeat for over {format_duration(DEFAULT_STALE_AFTER)}: "
            "their workers may be gone; the next claim records them KILLED at their last "
            "checkpoint instead of taking them over",
            highlight=False,
        )
    jobs = sorted({run.slurm_job_id for run in runs if run.slurm_job_id})
    if jobs and not _scancel(jobs):
        raise typer.Exit(1)


def _scancel(jobs: list[str]) -> bool:
    """Cancel Slurm jobs; False when they could not all be cancelled (said on stderr)."""
    scancel = shutil.which("scancel")
    if scancel is None:
        error_console.print(
            f"scancel is not on PATH: Slurm job(s) {', '.join(jobs)} were not cancelled (their "
            "runs stop all the same; run `scancel` where Slurm is installed to end the jobs)",
            highlight=False,
        )
        return False
    done = subprocess.run(
        [scancel, *jobs], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        error_console.print(
            f"scancel {' '.join(jobs)} failed (exit {done.returncode})"
            + (f": {message[0]}" if message else ""),
            highlight=False,
        )
        return False
    console.print(f"cancelled Slurm job(s) {', '.join(jobs)}", highlight=False)
    arrays = sorted({job.split("_", 1)[0] for job in jobs if "_" in job})
    if arrays:
        console.print(
            f"tasks of array job(s) {', '.join(arrays)} that have not started yet are left "
            f"queued: `scancel {' '.join(arrays)}` cancels them",
            highlight=False,
        )
    return True

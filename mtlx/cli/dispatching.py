"""Where a sweep's runs go: the dry run, the local executor (this process or a pool), Slurm.

Shared by ``sweep`` and ``stl-baseline``: the executor flags, the dry run's table of where each
planned run stands, the checks made before anything is claimed or submitted, and the
submission to Slurm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from mtlx.cli.options import console, error_console

ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        help="local: this machine (this process, or a pool with --workers / --gpus); slurm: "
        "job arrays through submitit (submits and returns).",
    ),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        help="Local worker processes on the CPU; torch threads are shared out among them.",
        min=1,
    ),
]
GpusOption = Annotated[
    str | None,
    typer.Option(
        "--gpus",
        help="Local GPUs to use, e.g. 0,1,2,3: one worker per GPU and job (--jobs-per-gpu), each "
        "seeing only its GPU.",
        show_default=False,
    ),
]
JobsPerGpuOption = Annotated[
    int, typer.Option("--jobs-per-gpu", help="Workers sharing each GPU of --gpus.", min=1)
]
PartitionOption = Annotated[
    str | None, typer.Option("--partition", help="Slurm partition.", show_default=False)
]
TimeOption = Annotated[
    str | None,
    typer.Option(
        "--time",
        help="Slurm time limit per run (minutes, H:MM:SS, D-HH:MM:SS).",
        show_default=False,
    ),
]
SlurmGpusOption = Annotated[
    int | None,
    typer.Option("--slurm-gpus", help="GPUs per Slurm task.", min=0, show_default=False),
]
CpusOption = Annotated[
    int | None, typer.Option("--cpus", help="CPUs per Slurm task.", min=1, show_default=False)
]
MemOption = Annotated[
    str | None,
    typer.Option("--mem", help="Memory per Slurm task (32G, 500M).", show_default=False),
]
AccountOption = Annotated[
    str | None, typer.Option("--account", help="Slurm account.", show_default=False)
]
QosOption = Annotated[str | None, typer.Option("--qos", help="Slurm QoS.", show_default=False)]
ArrayParallelismOption = Annotated[
    int | None,
    typer.Option(
        "--array-parallelism",
        help="Most Slurm tasks of the sweep running at once (default: the file's, else 64).",
        min=1,
        show_default=False,
    ),
]
SbatchOption = Annotated[
    list[str] | None,
    typer.Option(
        "--sbatch",
        help="An extra #SBATCH option, e.g. --sbatch=--constraint=a100 (repeatable).",
        show_default=False,
    ),
]
SlurmLogsOption = Annotated[
    Path | None,
    typer.Option(
        "--slurm-logs",
        help="Folder of the Slurm tasks' logs. Default: beside a SQLite database "
        "(results.slurm/), else ./mtlx-slurm.",
        show_default=False,
    ),
]
DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Say where every planned run stands (new, finished, running, stale, failed, "
        "killed) and which would start; change nothing.",
    ),
]


@dataclass
class Dispatch:
    """The executor flags of one command."""

    executor: str = "local"
    workers: int = 1
    gpus: str | None = None
    jobs_per_gpu: int = 1
    slurm_flags: dict[str, Any] = field(default_factory=dict)
    slurm_logs: Path | None = None

    def gpu_list(self) -> list[int] | None:
        if self.gpus is None:
            return None
        try:
            gpus = [int(part) for part in self.gpus.split(",") if part.strip()]
        except ValueError:
            raise ValueError(f"--gpus must be GPU indices like 0,1,2, got {self.gpus!r}") from None
        if not gpus:
            raise ValueError("--gpus is empty; give GPU indices like 0,1")
        return gpus


def slurm_flags(**given: Any) -> dict[str, Any]:
    """The Slurm flags that were given, by their ``slurm:`` section keys (``slurm_gpus`` is the
    section's ``gpus``)."""
    return {
        ("gpus" if name == "slurm_gpus" else name): value
        for name, value in given.items()
        if value not in (None, [], ())
    }


def dispatch(
    plans: Sequence[Any], spec: Any, settings: Any, how: Dispatch
) -> tuple[Any, Any] | None:
    """Train ``plans`` locally (returns the summary and the store) or submit them to Slurm
    (returns None). Before anything is claimed or submitted, every distinct setup is checked."""
    from mtlx.dispatch.planning import preflight

    if how.executor not in ("local", "slurm"):
        raise ValueError(f"--executor must be local or slurm, got {how.executor!r}")
    if how.executor == "local" and how.slurm_flags:
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in how.slurm_flags)
        raise ValueError(f"{flags}: Slurm options need --executor slurm")
    datasets: dict[str, Any] = {}
    if _unfinished(plans, settings.database_url):  # a finished sweep's re-run checks nothing
        if how.executor == "local":  # a Slurm task resolves its device on its own node
            settings = settings.with_device()
        spec.check_components()
        datasets = preflight(plans, settings.data_root, settings.device or "cpu")
    if how.executor == "slurm":
        submit(plans, spec, settings, how)
        return None
    return run_locally(plans, settings, how, datasets)


def _unfinished(plans: Sequence[Any], url: str) -> bool:
    """Whether any plan is not FINISHED yet (a re-run of a finished sweep checks nothing)."""
    from mtlx.store.database import SchemaVersionError, open_database, sqlite_path
    from mtlx.store.runs import RunStore
    from mtlx.store.schema import RunStatus

    path = sqlite_path(url)
    if path is not None and not path.exists():
        return True
    try:
        store = RunStore(open_database(url, create=False))
    except SchemaVersionError:
        return True  # empty, or at another schema: opening it to write says what to do
    try:
        statuses = store.statuses(plan.run_key for plan in plans)
    finally:
        store.engine.dispose()
    return any(statuses.get(plan.run_key) != RunStatus.FINISHED.value for plan in plans)


def run_locally(
    plans: Sequence[Any], settings: Any, how: Dispatch, datasets: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    from dataclasses import replace

    from mtlx.dispatch.executors.local import LocalExecutor
    from mtlx.dispatch.progress import NullReporter, PoolProgress, RichReporter
    from mtlx.dispatch.runtime import WorkerRuntime
    from mtlx.dispatch.signals import StopRequest, handle_signals
    from mtlx.dispatch.sweep import run_sweep

    gpus = how.gpu_list()
    if gpus is not None:
        if how.workers != 1:
            raise ValueError("--workers is for the CPU; with --gpus use --jobs-per-gpu")
        _check_gpus(gpus)
        settings = replace(settings, device="cuda")
    elif how.workers > 1 and settings.device.startswith("cuda"):
        raise ValueError(
            "--workers runs CPU workers; for GPUs give --gpus 0,1,… (and --jobs-per-gpu)"
        )
    pool = gpus is not None or how.workers > 1
    runtime = WorkerRuntime(settings, reporter=NullReporter() if pool else RichReporter(console))
    runtime.adopt_datasets(datasets or {})  # built by the preflight: not built twice
    progress = PoolProgress(console, runtime.store) if pool else None
    executor = LocalExecutor(how.workers, gpus, how.jobs_per_gpu, progress=progress)
    with handle_signals(StopRequest()) as stop:
        summary = run_sweep(plans, runtime, stop, executor)
    return summary, runtime.store


def _check_gpus(gpus: list[int]) -> None:
    import torch

    available = torch.cuda.device_count()
    if available == 0:
        raise ValueError("--gpus asked for, but this machine has no CUDA device")
    missing = [gpu for gpu in gpus if gpu >= available]
    if missing:
        raise ValueError(
            f"--gpus {','.join(map(str, missing))}: this machine has GPUs 0…{available - 1}"
        )


def default_slurm_logs(url: str) -> Path:
    from mtlx.store.database import sqlite_path

    path = sqlite_path(url)
    return path.with_name(f"{path.stem}.slurm") if path is not None else Path("mtlx-slurm")


def submit(plans: Sequence[Any], spec: Any, settings: Any, how: Dispatch) -> None:
    from dataclasses import replace

    from mtlx.dispatch.executors.slurm import (
        SlurmExecutor,
        describe_submission,
        slurm_options,
    )
    from mtlx.dispatch.plan import unique_plans
    from mtlx.dispatch.planning import classify
    from mtlx.store.database import database_url, open_database, sqlite_path
    from mtlx.store.runs import RunStore

    url = settings.database_url
    if sqlite_path(url) is not None:
        error_console.print(
            "[yellow]note:[/] Slurm tasks write to a SQLite file; that works on one node or a "
            "local disk, never on a network file system — use PostgreSQL on a cluster",
            highlight=False,
        )
    store = RunStore(open_database(database_url(url)))
    plans = unique_plans(plans)
    classification = classify(plans, store, timedelta(seconds=settings.stale_after_s))
    to_start = classification.to_start()
    options = slurm_options(spec.slurm, **how.slurm_flags)
    settings = replace(settings, worker={**settings.worker, "executor": "slurm"})
    logs = (how.slurm_logs or default_slurm_logs(url)).resolve()
    executor = SlurmExecutor(options, logs)
    submission = executor.submit(to_start, settings, name=f"mtlx-{spec.name}")
    counts = classification.counts()
    skipped = ", ".join(f"{counts[s]} {s}" for s in ("finished", "running") if counts[s])
    if skipped:
        console.print(f"not submitted: {skipped}", highlight=False)
    for line in describe_submission(submission, spec.name):
        console.print(line, highlight=False, markup=False)


def dry_run(plans: Sequence[Any], db: str | None, stale_after_minutes: float) -> None:
    """Where every planned run stands; nothing is written (a missing database: all new)."""
    from mtlx.dispatch.plan import unique_plans
    from mtlx.dispatch.planning import STATES, classify
    from mtlx.store.database import database_url, open_database, sqlite_path
    from mtlx.store.runs import RunStore

    plans = unique_plans(plans)
    url = database_url(db)
    path = sqlite_path(url)
    store = None
    if path is None or path.exists():
        store = RunStore(open_database(db, create=False))
    classification = classify(plans, store, timedelta(minutes=stale_after_minutes))
    counts = classification.counts()
    summary = ", ".join(f"{counts[state]} {state}" for state in STATES if counts[state])
    console.print(f"{len(plans)} runs planned: {summary}", highlight=False)
    for state, heading in (
        ("running", "running (left alone)"),
        ("stale", "stale (would be taken over)"),
        ("failed", "failed (would be retried)"),
        ("killed", "killed (would resume)"),
    ):
        runs = classification.in_state(state)
        if runs:
            console.print(f"{heading}:", highlight=False)
            for run in runs[:20]:
                detail = f"  {run.detail}" if run.detail else ""
                console.print(f"  {run.plan.run_key}  {run.plan.label()}{detail}", markup=False)
            if len(runs) > 20:
                console.print(f"  … and {len(runs) - 20} more", highlight=False)
    start = classification.to_start()
    console.print(f"would start {len(start)} run(s):", highlight=False)
    for plan in start:
        console.print(f"{plan.run_key}  {plan.label()}", markup=False, highlight=False)

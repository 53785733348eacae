"""What the commands share: consoles, option types, turning user errors into one line."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from mtlx.errors import UserError

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
LoaderWorkersOption = Annotated[
    int, typer.Option("--loader-workers", help="DataLoader worker processes per run.", min=0)
]
CheckpointsOption = Annotated[
    Path | None,
    typer.Option(
        "--checkpoints",
        help="Checkpoint folder. Default: $MTLX_CHECKPOINTS, else beside a SQLite database "
        "(results.sqlite → results.checkpoints/), else ./mtlx-checkpoints. On a cluster: a "
        "folder every node sees, so a run resumes anywhere.",
        show_default=False,
    ),
]
KeepOption = Annotated[
    str,
    typer.Option(
        "--keep",
        help="Weights kept once a run finished: selected (the selected epoch's), last, or none.",
    ),
]
StaleAfterOption = Annotated[
    float,
    typer.Option(
        "--stale-after",
        help="Minutes without a heartbeat after which a run held on another host is taken "
        "over (a dead worker on this host is taken over at once).",
        min=0.01,
    ),
]
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
            # one line, never wrapped: a log or a pipe keeps it whole
            error_console.print(
                f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
            )
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


def worker_config(
    db: str | None,
    device: str | None,
    data_root: Path | None,
    jacobian: str,
    loader_workers: int,
    checkpoints: Path | None,
    keep: str,
    stale_after_minutes: float,
    **options: Any,
):
    """The picklable configuration every worker of this command gets. Its device is checked
    (which needs torch) where and when there is something to train (``with_device``)."""
    from mtlx.dispatch.runtime import WorkerConfig

    check_jacobian_mode(jacobian)
    root = resolve_data_root(data_root)
    return WorkerConfig.create(
        db,
        device or "",
        checkpoints,
        data_root=None if root is None else str(root),
        jacobian_mode=jacobian,
        loader_workers=loader_workers,
        keep=keep,
        stale_after_s=60.0 * stale_after_minutes,
        **options,
    )


def check_jacobian_mode(jacobian: str) -> None:
    from mtlx.engine import JACOBIAN_MODES

    if jacobian not in JACOBIAN_MODES:
        raise ValueError(f"--jacobian must be one of {', '.join(JACOBIAN_MODES)}, got {jacobian!r}")


def resolve_data_root(data_root: Path | None) -> Path | None:
    """``--data-root``, else ``$MTLX_DATA``, else None (each dataset's default folder)."""
    if data_root is not None:
        return data_root
    return Path(os.environ["MTLX_DATA"]) if os.environ.get("MTLX_DATA") else None


def execute_plans(plans: Sequence[Any], config: Any):
    """Run ``plans`` in this process with signals routed to a clean stop; the summary and store."""
    from mtlx.dispatch.progress import RichReporter
    from mtlx.dispatch.runtime import WorkerRuntime
    from mtlx.dispatch.signals import StopRequest, handle_signals
    from mtlx.dispatch.sweep import run_sweep

    runtime = WorkerRuntime(config.with_device(), reporter=RichReporter(console))
    with handle_signals(StopRequest()) as stop:
        summary = run_sweep(plans, runtime, stop)
    return summary, runtime.store


def print_summary(summary) -> None:
    counts = summary.counts()
    parts = [f"{summary.planned} planned", f"{summary.already_finished} already finished"]
    parts += [f"{n} {status.lower()}" for status, n in sorted(counts.items())]
    console.print("sweep: " + ", ".join(parts), highlight=False)
    for outcome in summary.skipped():
        console.print(f"  skipped {outcome.run_key}: {outcome.reason}", highlight=False)


def exit_status(summary) -> None:
    """Exit 128 + signal after a signal, 1 when a run failed, else carry on (status 0)."""
    import signal

    if summary.stopped_by is not None:
        name = signal.Signals(summary.stopped_by).name
        error_console.print(
            f"[bold red]stopped by {name}[/]: the run in progress was checkpointed and recorded "
            "KILLED; run the same command again to resume it",
            highlight=False,
        )
        raise typer.Exit(128 + summary.stopped_by)
    if summary.counts().get("FAILED"):
        error_console.print(
            "[bold red]some runs failed[/]: their tracebacks are in the database "
            "(`mtlx runs --status FAILED --errors`); re-running the sweep retries them",
            highlight=False,
        )
        raise typer.Exit(1)


# ---- commands ---------------------------------------------------------------------------------


def open_store(db: str | None):
    from mtlx.store.database import open_database
    from mtlx.store.runs import RunStore

    return RunStore(open_database(db, create=False))

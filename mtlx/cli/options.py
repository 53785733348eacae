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


def open_store(db: str | None):
    from mtlx.store.database import open_database
    from mtlx.store.runs import RunStore

    return RunStore(open_database(db, create=False))

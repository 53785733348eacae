"""Watching runs: ``status`` of a sweep (live with ``--watch``) and ``show`` of one run.

Both read the database alone — any machine that reaches it can watch a sweep trained elsewhere —
and import no torch. Ages and ETAs are measured with the database's clock.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mtlx.cli.app import app
from mtlx.cli.options import DbOption, console, open_store, user_errors
from mtlx.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from mtlx.store.entities import AttemptRecord, RunRecord
    from mtlx.store.monitoring import SweepStatus

STATUS_ORDER = ("RUNNING", "FINISHED", "FAILED", "KILLED")
SPLIT_ORDER = ("train", "val", "test")
MISSING = "—"
SHORT_KEY_DIGITS = 10
ERROR_LINES = 16  # of a traceback's tail, in ``mtlx show``


# ---- formatting shared by the commands that show runs ------------------------------------------


def format_duration(duration: timedelta | None) -> str:
    """``45 s``, ``12 min``, ``3.2 h``, ``2.1 d``; ``—`` for none."""
    if duration is None:
        return MISSING
    seconds = max(duration.total_seconds(), 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def format_worker(
    worker: Mapping[str, Any] | None, slurm_job_id: str | None = None, brief: bool = False
) -> str:
    """``host:pid`` then the worker's other details (``gpu=0 slot=1 executor=local``) and its
    Slurm job; ``brief`` leaves the executor out (a Slurm job says it already)."""
    worker = dict(worker or {})
    host, pid = worker.pop("host", None), worker.pop("pid", None)
    if brief:
        worker.pop("executor", None)
    parts = [f"{host or '?'}:{pid}" if pid is not None else str(host or "?")]
    parts += [f"{key}={worker[key]}" for key in sorted(worker)]
    if slurm_job_id:
        parts.append(f"slurm={slurm_job_id}")
    return " ".join(parts)


def short_key(run_key: str) -> str:
    """The first 10 of a run key's 16 hex digits: unique in any realistic database (two of
    10,000 runs share 10 digits with probability 5·10⁻⁵), and every command takes a prefix."""
    return run_key[:SHORT_KEY_DIGITS]


def format_time(moment: datetime | None) -> str:
    return MISSING if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}"


def _table(title: str | None = None) -> Table:
    """A table without vertical rules (narrow terminals), its title a line of its own above it
    (rich pads a title's line with spaces to the console's width, which a pipe would keep)."""
    return Table(box=box.SIMPLE_HEAD, show_edge=False) if title is None else _TitledTable(title)


class _TitledTable(Table):
    def __init__(self, title: str) -> None:
        super().__init__(box=box.SIMPLE_HEAD, show_edge=False)
        self.heading = title

    def __rich_console__(self, console, options):  # type: ignore[no-untyped-def]
        yield Text(self.heading, style="bold")
        yield from super().__rich_console__(console, options)


# ---- mtlx status -------------------------------------------------------------------------------


def status_view(
    status: SweepStatus, stale_after: timedelta, failures: int, scope: str, width: int
) -> RenderableType:
    """The status of the matching runs as rich renderables: a summary line, the counts, the
    running runs and the most recent failures."""
    parts: list[RenderableType] = [
        Text(f"{scope}: {status.total()} runs at {format_time(status.now)} UTC (database clock)")
    ]
    if not status.counts:
        return Group(*parts)

    counts = _table()
    counts.add_column("experiment")
    counts.add_column("kind")
    for name in STATUS_ORDER:
        counts.add_column(name.lower(), justify="right")
    counts.add_column("total", justify="right")
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for count in status.counts:
        groups.setdefault((count.experiment, count.kind), {})[count.status] = count.runs
    for (experiment, kind), by_status in groups.items():
        counts.add_row(
            Text(experiment),
            kind,
            *[str(by_status.get(name, "")) for name in STATUS_ORDER],
            str(sum(by_status.values())),
        )
    parts.append(counts)

    several = len({c.experiment for c in status.counts}) > 1
    if status.running:
        # two lines per run, the second under the first's text: what it is, then who trains it
        rows: list[list[str | Text]] = []
        for run in status.running:
            age = run.heartbeat_age(status.now)
            stale = age > stale_after
            label = (f"{run.experiment}: " if several else "") + run.label
            rows.append(
                [
                    short_key(run.run_key),
                    f"{run.epochs_completed}/{run.epochs if run.epochs is not None else '?'}",
                    format_duration(run.eta(status.now)),
                    Text(
                        format_duration(age) + (" stale" if stale else ""),
                        style="bold red" if stale else "",
                    ),
                    Text(label + (" (stop requested)" if run.stop_requested else "")),
                ]
            )
            rows.append(["", "", "", "", Text(format_worker(run.worker, run.slurm_job_id, True))])
        headers = ["run key", "epoch", "ETA", "heartbeat", "run · worker"]
        parts.append(
            _fitted_table(f"running ({len(status.running)})", headers, rows, width, right=(1, 2, 3))
        )

    if status.stopped and failures > 0:
        shown = status.stopped[:failures]
        title = f"failed or killed ({len(status.stopped)}, "
        title += "most recent first)" if len(shown) == len(status.stopped) else ""
        title += f"the {len(shown)} most recent)" if len(shown) < len(status.stopped) else ""
        rows = []
        for run in shown:
            label = (f"{run.experiment}: " if several else "") + run.label
            rows.append(
                [
                    short_key(run.run_key),
                    Text(run.status, style="red" if run.status == "FAILED" else "yellow"),
                    f"{run.epochs_completed}/{run.epochs if run.epochs is not None else '?'}",
                    Text(label),
                ]
            )
            rows.append(["", "", "", Text(run.error_line)])
        headers = ["run key", "status", "epochs", "run · error"]
        parts.append(_fitted_table(title, headers, rows, width, right=(2,)))
    if status.stopped:
        parts.append(
            Text("`mtlx retry` resumes them; `mtlx show RUN_KEY` prints a run's whole error")
        )
    return Group(*parts)


def _fitted_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str | Text]],
    width: int,
    right: Sequence[int] = (),
    wrap_last: bool = False,
) -> Table:
    """A table whose columns but the last are as wide as their widest cell, and whose last
    column takes the rest of ``width``, each of its lines cut with an ellipsis (or wrapped, with
    ``wrap_last``): one screen line per table line at any width."""
    table = _table(title)
    fixed = [
        max(len(headers[i]), *(len(str(row[i])) for row in rows)) for i in range(len(headers) - 1)
    ]
    # each column is padded by one space on either side, and columns are one space apart
    rest = max(width - sum(fixed) - 3 * len(headers) + 1, 12)
    for index, header in enumerate(headers[:-1]):
        justify = "right" if index in right else "left"
        table.add_column(header, justify=justify, no_wrap=True, min_width=fixed[index])
    table.add_column(headers[-1], no_wrap=not wrap_last, overflow="ellipsis", max_width=rest)
    for row in rows:
        table.add_row(*row)
    return table


def _experiment_name(experiment: str | None) -> str | None:
    """A recorded experiment name, or the name inside an experiment file given by path."""
    if experiment is None or not experiment.endswith((".yaml", ".yml")):
        return experiment
    from mtlx.spec import load_spec

    return load_spec(experiment).name


@app.command()
@user_errors
def status(
    experiment: Annotated[
        str | None,
        typer.Argument(
            help="Only this experiment (its name, or its YAML file). Default: every one.",
            show_default=False,
        ),
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Only this dataset.", show_default=False)
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Refresh until Ctrl-C (live on a terminal).")
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between refreshes with --watch.", min=0.1)
    ] = 5.0,
    updates: Annotated[
        int | None,
        typer.Option(
            help="With --watch: stop after this many refreshes. Default: until Ctrl-C.",
            show_default=False,
            min=1,
        ),
    ] = None,
    failures: Annotated[
        int, typer.Option(help="How many of the most recent failed or killed runs to list.", min=0)
    ] = 10,
    stale_after: Annotated[
        float,
        typer.Option(
            "--stale-after",
            help="Minutes without a heartbeat after which a running run is marked stale.",
            min=0.01,
        ),
    ] = 10.0,
    db: DbOption = None,
) -> None:
    """Where a sweep stands: counts by status, the running runs (epoch, ETA, heartbeat, worker)
    and the failures with their error."""
    from mtlx.store.monitoring import sweep_status

    store = open_store(db)
    name = _experiment_name(experiment)
    scope = (
        " · ".join(part for part in (name, f"dataset {dataset}" if dataset else None) if part)
        or "all experiments"
    )
    threshold = timedelta(minutes=stale_after)

    def view() -> RenderableType:
        current = sweep_status(store, name, dataset)
        if not current.counts and (name or dataset):
            known = _recorded_experiments(store)
            return Text(
                f"{scope}: no runs in this database"
                + (f" (experiments recorded: {', '.join(known)})" if known else "")
            )
        return status_view(current, threshold, failures, scope, console.width)

    if not watch:
        console.print(view())
        return
    try:
        if console.is_terminal:
            from rich.live import Live

            with Live(view(), console=console, auto_refresh=False) as live:
                for _ in _refreshes(updates, interval):
                    live.update(view(), refresh=True)
        else:
            console.print(view())
            for _ in _refreshes(updates, interval):
                console.print()
                console.print(view())
    except KeyboardInterrupt:
        return


def _refreshes(updates: int | None, interval: float):
    """Sleep ``interval`` before each refresh after the first; ``updates`` in all (None: ever)."""
    done = 1
    while updates is None or done < updates:
        time.sleep(interval)
        done += 1
        yield done


def _recorded_experiments(store) -> list[str]:
    from sqlalchemy import select

    from mtlx.store.schema import Run

    with store.sessions() as session:
        return list(
            session.scalars(select(Run.experiment).distinct().order_by(Run.experiment)).all()
        )


# ---- mtlx show ---------------------------------------------------------------------------------


def _checkpoint_text(run: RunRecord) -> str:
    if not run.checkpoint_path:
        return "none recorded"
    path = Path(run.checkpoint_path)
    if run.status == "FINISHED":
        what = f"{path.stem} weights"
    else:
        what = f"resumes from epoch {run.checkpoint_epoch}"
    where = format_size(path.stat().st_size) if path.is_file() else "not on this machine"
    return f"{path} ({what}; {where})"


def format_size(size: float) -> str:
    """Bytes in B, KB, MB, GB or TB (powers of 1,000)."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def _run_summary(run: RunRecord) -> list[tuple[str, str]]:
    epochs = run.config.get("training", {}).get("epochs")
    selected = (
        f"epoch {run.selected_epoch} ({run.selection_rule})"
        if run.selected_epoch is not None
        else MISSING
    )
    rows = [
        (
            "status",
            run.status + (f" (stop requested: {run.stop_requested})" if run.stop_requested else ""),
        ),
        ("experiment", f"{run.experiment} ({run.kind})"),
        ("setup", f"{run.dataset} / {run.network}, tasks {run.tasks}"),
        ("run", f"{run.method} {run.optimizer} lr={run.lr:g} seed={run.seed}"),
        ("epochs", f"{run.epochs_completed} of {epochs}"),
        ("selected", selected),
        ("attempt", str(run.attempt)),
        ("created", format_time(run.created_at)),
        ("started", format_time(run.started_at)),
        ("heartbeat", format_time(run.heartbeat_at)),
        ("finished", format_time(run.finished_at)),
        (
            "duration",
            format_duration(None if run.duration_s is None else timedelta(seconds=run.duration_s)),
        ),
        ("checkpoint", _checkpoint_text(run)),
        ("baseline key", run.baseline_key),
        (
            "versions",
            f"python {run.python_version}, torch {run.torch_version}, "
            f"mtlx {run.mtlx_version}, git {run.git_commit or MISSING}",
        ),
        (
            "data",
            json.dumps(run.data_provenance, sort_keys=True) if run.data_provenance else MISSING,
        ),
    ]
    if run.note:
        rows.append(("note", run.note))
    return rows


def _attempts_table(attempts: Sequence[AttemptRecord], width: int) -> Table:
    """Two lines per attempt: why it started, then where it ran (worker, device, commit)."""
    rows: list[list[str | Text]] = []
    for attempt in attempts:
        start = attempt.resumed_from_epoch or 0
        done = "" if attempt.epochs_completed is None else str(attempt.epochs_completed)
        worker = attempt.worker or {"host": attempt.host, "pid": attempt.pid}
        rows.append(
            [
                str(attempt.attempt),
                attempt.status,
                f"{start}→{done}",
                f"{attempt.started_at:%m-%d %H:%M:%S}",
                "" if attempt.ended_at is None else f"{attempt.ended_at:%m-%d %H:%M:%S}",
                Text(attempt.reason),
            ]
        )
        where = f"{format_worker(worker, attempt.slurm_job_id)}, {attempt.device}"
        rows.append(["", "", "", "", "", Text(f"{where}, git {attempt.git_commit or MISSING}")])
    headers = ["#", "status", "epochs", "started", "ended", "reason · where"]
    return _fitted_table("attempts", headers, rows, width, right=(0,), wrap_last=True)


def metric_tables(
    history: pd.DataFrame, selected_epoch: int | None, width: int, splits: Sequence[str] | None
) -> list[Table]:
    """One table per split, epochs × metrics, its metric columns spread over as many tables as
    it takes to fit ``width``; the selected epoch is marked ``*``."""
    tables = []
    present = [s for s in SPLIT_ORDER if s in set(history["split"])]
    present += sorted(set(history["split"]) - set(SPLIT_ORDER))
    for split in present:
        if splits and split not in splits:
            continue
        wide = history[history["split"] == split].pivot_table(
            index="epoch", columns="metric", values="value", aggfunc="first", dropna=False
        )
        metrics = list(wide.columns)
        for number, group in enumerate(_column_groups(metrics, width)):
            title = f"{split} metrics by epoch" + (" (continued)" if number else "")
            table = _table(title)
            table.add_column("epoch", justify="right", no_wrap=True)
            for metric in group:
                table.add_column(Text(metric), justify="right", no_wrap=True)
            for epoch, values in wide[group].iterrows():
                mark = "*" if epoch == selected_epoch else ""
                table.add_row(
                    f"{mark}{epoch}",
                    *[_metric_text(values[metric]) for metric in group],
                    style="bold" if mark else "",
                )
            tables.append(table)
    return tables


def _column_groups(names: Sequence[str], width: int) -> list[list[str]]:
    """``names`` in order, in groups whose columns (plus the epoch column) fit ``width``."""
    groups: list[list[str]] = []
    used = 10  # the epoch column and the table's edges
    for name in names:
        needed = max(len(name), 8) + 3
        if not groups or used + needed > width:
            groups.append([])
            used = 10
        groups[-1].append(name)
        used += needed
    return groups


def _metric_text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{float(value):.4f}"


def show_json(run: RunRecord, attempts: Sequence[AttemptRecord], history: pd.DataFrame) -> str:
    """The run, its attempts and its per-epoch metrics (``{split: [{epoch, metric…}]}``) as
    JSON; times in ISO 8601 (UTC), missing values null."""
    from dataclasses import asdict

    def plain(value: object) -> object:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    record = {key: plain(value) for key, value in asdict(run).items()}
    record.pop("owner_token", None)
    metrics: dict[str, list[dict[str, object]]] = {}
    for split, frame in history.groupby("split", sort=False):
        wide = frame.pivot_table(
            index="epoch", columns="metric", values="value", aggfunc="first", dropna=False
        )
        metrics[str(split)] = [
            {"epoch": int(epoch), **{m: plain(float(v)) for m, v in row.items()}}
            for epoch, row in wide.iterrows()
        ]
    record["attempts"] = [
        {key: plain(value) for key, value in asdict(attempt).items()} for attempt in attempts
    ]
    record["metrics"] = metrics
    return json.dumps(record, indent=2, sort_keys=False, allow_nan=False)


@app.command()
@user_errors
def show(
    run_key: Annotated[str, typer.Argument(help="A run key, or a prefix of one that is unique.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print everything as JSON.")] = False,
    split: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these splits' metrics (train, val, test; repeatable).", show_default=False
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """One run: its config, the provenance of every attempt, its metrics epoch by epoch and its
    checkpoint."""
    import yaml

    from mtlx.store.monitoring import resolve_run_keys

    store = open_store(db)
    (key,) = resolve_run_keys(store, [run_key])
    run = store.run(key)
    attempts = store.attempts(key)
    history = store.epoch_history(key)
    unknown = sorted(set(split or ()) - set(SPLIT_ORDER) - set(history["split"]))
    if unknown:
        raise UserError(f"--split {unknown[0]}: not a split (train, val or test)")
    if as_json:
        print(show_json(run, attempts, history))
        return
    summary = _table(f"run {run.run_key}")
    summary.add_column("", no_wrap=True)
    summary.add_column("")
    summary.show_header = False
    for name, value in _run_summary(run):
        summary.add_row(name, Text(value))
    console.print(summary)
    if run.error:
        lines = run.error.rstrip().splitlines()
        console.print(Text("error" if run.status == "FAILED" else "stopped", style="bold"))
        if len(lines) > ERROR_LINES:
            console.print(Text(f"… {len(lines) - ERROR_LINES} lines above (mtlx show --json)"))
        console.print(Text("\n".join(lines[-ERROR_LINES:])))
    console.print(Text("config", style="bold"))
    console.print(
        Text(yaml.safe_dump(run.config, sort_keys=False, default_flow_style=None).rstrip())
    )
    console.print(_attempts_table(attempts, console.width))
    if history.empty:
        console.print(Text("no epoch recorded yet"))
        return
    for table in metric_tables(history, run.selected_epoch, console.width, split):
        console.print(table)
    if run.selected_epoch is not None:
        console.print(Text(f"* the selected epoch ({run.selection_rule})"))

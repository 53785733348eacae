"""Read-mostly queries for watching and managing runs (``mtlx status``, ``show``, ``retry``,
``cancel``, ``export``, ``db info``), on a :class:`~mtlx.store.runs.RunStore`.

Each answer is a plain, frozen value computed in a fixed, small number of queries whatever the
size of the database (``mtlx status`` reads counts in one ``GROUP BY`` and the unfinished runs in
one more), and the clock every age is measured with is the database's, as for staleness.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Select, case, func, select

from mtlx.errors import UserError
from mtlx.store.runs import RunStore
from mtlx.store.schema import EpochMetric, Run, RunStatus

# How much of an error's text the status query reads: its head (the first line of a message) and
# its tail (the last line of a traceback), never the whole stored tail of 8,000 characters.
ERROR_EXCERPT_CHARS = 500
HEX_DIGITS = re.compile(r"^[0-9a-f]+$")
SQL_CHUNK = 500  # run keys per IN (…) list, under every database's parameter limit


class RunSelectionError(UserError, ValueError):
    """A run key, prefix or status that names no run, or more than one."""


# ---- statuses ----------------------------------------------------------------------------------


def parse_status(text: str, allowed: Sequence[RunStatus] = tuple(RunStatus)) -> RunStatus:
    """``text`` as a run status, case-insensitive; anything else is one line naming the choices."""
    try:
        status = RunStatus(text.strip().upper())
    except ValueError:
        status = None
    if status is None or status not in allowed:
        names = [s.value for s in allowed]
        choices = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        raise RunSelectionError(f"--status: {text!r} is not {choices} (any case)")
    return status


# ---- run keys ----------------------------------------------------------------------------------


def resolve_run_keys(store: RunStore, prefixes: Sequence[str]) -> list[str]:
    """The full run key of each prefix (like git's abbreviated commits), in order.

    A prefix must be hex digits, match exactly one recorded run, and may be the whole key.
    """
    return [_resolve_one(store, prefix) for prefix in prefixes]


def _resolve_one(store: RunStore, prefix: str) -> str:
    text = prefix.strip().lower()
    if not HEX_DIGITS.match(text):
        raise RunSelectionError(
            f"{prefix!r} is not a run key: run keys are 16 hex digits (a unique prefix will do)"
        )
    with store.sessions() as session:
        found = list(
            session.scalars(
                select(Run.run_key).where(Run.run_key.startswith(text)).order_by(Run.run_key)
            ).all()
        )
    if not found:
        raise RunSelectionError(f"no run {prefix!r} in this database")
    if len(found) > 1:
        shown = ", ".join(found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
        raise RunSelectionError(
            f"run key prefix {prefix!r} is ambiguous: it matches {len(found)} runs ({shown}); "
            "give more digits"
        )
    return found[0]


# ---- selecting runs to manage -----------------------------------------------------------------


@dataclass(frozen=True)
class RunFilter:
    """Which runs a management command acts on: typed-column filters and explicit run keys.

    Either run keys (full or unique prefixes), each of which must be in one of ``statuses``, or
    filters on typed columns, which select every matching run in ``statuses``.
    """

    statuses: tuple[RunStatus, ...]
    run_keys: tuple[str, ...] = ()
    experiment: str | None = None
    dataset: str | None = None
    method: str | None = None

    def __post_init__(self) -> None:
        if self.run_keys and any(
            v is not None for v in (self.experiment, self.dataset, self.method)
        ):
            raise RunSelectionError(
                "give run keys or filters (--experiment, --dataset, --method), not both"
            )

    def apply(self, query: Select[Any]) -> Select[Any]:
        query = query.where(Run.status.in_([s.value for s in self.statuses]))
        for column, value in (
            (Run.experiment, self.experiment),
            (Run.dataset, self.dataset),
            (Run.method, self.method),
        ):
            if value is not None:
                query = query.where(column == value)
        return query


@dataclass(frozen=True)
class ManagedRun:
    """What ``retry`` and ``cancel`` need of a run, without its epochs."""

    run_key: str
    experiment: str
    status: str
    label: str
    config: dict[str, Any]
    epochs_completed: int
    checkpoint_path: str | None
    checkpoint_epoch: int | None
    slurm_job_id: str | None
    heartbeat_at: datetime
    host: str
    pid: int | None


def select_runs(store: RunStore, selection: RunFilter) -> list[ManagedRun]:
    """The runs ``selection`` names, in the order they were created; a named run in another
    status than the selection's is refused, naming the run, its status and what to do."""
    columns = (
        Run.run_key,
        Run.experiment,
        Run.status,
        Run.method,
        Run.optimizer,
        Run.lr,
        Run.seed,
        Run.tasks,
        Run.config,
        Run.epochs_completed,
        Run.checkpoint_path,
        Run.checkpoint_epoch,
        Run.slurm_job_id,
        Run.heartbeat_at,
        Run.host,
        Run.pid,
    )
    keys = resolve_run_keys(store, selection.run_keys)
    rows: list[Any] = []
    with store.sessions() as session:
        if keys:
            for start in range(0, len(keys), SQL_CHUNK):
                chunk = keys[start : start + SQL_CHUNK]
                rows += session.execute(
                    select(Run.id, *columns).where(Run.run_key.in_(chunk))
                ).all()
        else:
            rows = list(session.execute(selection.apply(select(Run.id, *columns))).all())
    wanted = {s.value for s in selection.statuses}
    for row in rows:
        if row.status not in wanted:
            raise RunSelectionError(
                f"run {row.run_key} is {row.status}, not {' or '.join(sorted(wanted))}"
                + _what_to_do(row)
            )
    return [
        ManagedRun(
            run_key=row.run_key,
            experiment=row.experiment,
            status=row.status,
            label=run_label(row.method, row.optimizer, row.lr, row.seed, row.tasks),
            config=row.config,
            epochs_completed=row.epochs_completed,
            checkpoint_path=row.checkpoint_path,
            checkpoint_epoch=row.checkpoint_epoch,
            slurm_job_id=row.slurm_job_id,
            heartbeat_at=row.heartbeat_at,
            host=row.host,
            pid=row.pid,
        )
        for row in sorted(rows, key=lambda row: row.id)
    ]


def _what_to_do(row: Any) -> str:
    if row.status == RunStatus.RUNNING.value:
        return f" (running on host {row.host}); `mtlx cancel {row.run_key}` stops it first"
    if row.status == RunStatus.FINISHED.value:
        return " (a finished run is never trained again)"
    return ""


def run_label(method: str, optimizer: str, lr: float, seed: int, tasks: str) -> str:
    """How a run reads in a listing: ``ew adam lr=0.001 seed=0`` (``stl[left] …`` for STL)."""
    name = f"{method}[{tasks}]" if method == "stl" else method
    return f"{name} {optimizer} lr={lr:g} seed={seed}"


# ---- mtlx status -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    """How many runs of one experiment and kind (mtl, stl) are in one status."""

    experiment: str
    kind: str
    status: str
    runs: int


@dataclass(frozen=True)
class RunningRun:
    """A RUNNING run: how far it got in this attempt, when it last beat, and who trains it."""

    run_key: str
    experiment: str
    label: str
    epochs_completed: int
    epochs: int | None  # the run's training.epochs
    resumed_from_epoch: int | None
    started_at: datetime  # this attempt's start (database clock)
    heartbeat_at: datetime
    worker: dict[str, Any]
    slurm_job_id: str | None
    stop_requested: str | None

    def heartbeat_age(self, now: datetime) -> timedelta:
        return max(now - self.heartbeat_at, timedelta(0))

    def eta(self, now: datetime) -> timedelta | None:
        """Time left at this attempt's pace so far:

            (now − started) / (epochs done since started) × (epochs left)

        None before the attempt's first epoch (no pace yet). Its start includes loading the data
        and the model, so the first estimates are on the long side.
        """
        done = self.epochs_completed - (self.resumed_from_epoch or 0)
        if self.epochs is None or done <= 0:
            return None
        left = max(self.epochs - self.epochs_completed, 0)
        return (now - self.started_at) / done * left


@dataclass(frozen=True)
class StoppedRun:
    """A FAILED or KILLED run, with the line of its error that says what happened."""

    run_key: str
    experiment: str
    status: str
    label: str
    epochs_completed: int
    epochs: int | None
    checkpoint_epoch: int | None
    finished_at: datetime | None
    error_line: str


@dataclass(frozen=True)
class SweepStatus:
    """Where the matching runs stand, as of ``now`` (the database's clock)."""

    now: datetime
    counts: list[StatusCount]
    running: list[RunningRun]
    stopped: list[StoppedRun]  # most recent first

    def total(self, status: str | None = None) -> int:
        return sum(c.runs for c in self.counts if status is None or c.status == status)


def sweep_status(
    store: RunStore, experiment: str | None = None, dataset: str | None = None
) -> SweepStatus:
    """Counts by experiment, kind and status; every RUNNING, FAILED and KILLED run.

    Two queries: the counts (``GROUP BY``), then the unfinished runs with the database's clock,
    the total epochs read from their config in SQL and only an excerpt of each error (when no run
    is unfinished, a third reads the clock alone).
    """
    filters = [
        column == value
        for column, value in ((Run.experiment, experiment), (Run.dataset, dataset))
        if value is not None
    ]
    count_query = (
        select(Run.experiment, Run.kind, Run.status, func.count())
        .where(*filters)
        .group_by(Run.experiment, Run.kind, Run.status)
        .order_by(Run.experiment, Run.kind, Run.status)
    )
    length = func.length(Run.error)
    detail_query = (
        select(
            store.dialect.now().label("now"),
            Run.run_key,
            Run.experiment,
            Run.status,
            Run.method,
            Run.optimizer,
            Run.lr,
            Run.seed,
            Run.tasks,
            Run.epochs_completed,
            Run.config[("training", "epochs")].as_integer().label("epochs"),
            Run.resumed_from_epoch,
            Run.checkpoint_epoch,
            Run.started_at,
            Run.heartbeat_at,
            Run.finished_at,
            Run.worker,
            Run.slurm_job_id,
            Run.stop_requested,
            func.substr(Run.error, 1, ERROR_EXCERPT_CHARS).label("error_head"),
            case(
                (
                    length > ERROR_EXCERPT_CHARS,
                    func.substr(Run.error, length - ERROR_EXCERPT_CHARS),
                ),
                else_=Run.error,
            ).label("error_tail"),
        )
        .where(*filters)
        .where(Run.status != RunStatus.FINISHED.value)
        .order_by(Run.id)
    )
    with store.sessions() as session:
        counts = [StatusCount(*row) for row in session.execute(count_query)]
        details = session.execute(detail_query).all()
        now = details[0].now if details else session.scalar(select(store.dialect.now()))
    running, stopped = [], []
    for row in details:
        label = run_label(row.method, row.optimizer, row.lr, row.seed, row.tasks)
        if row.status == RunStatus.RUNNING.value:
            running.append(
                RunningRun(
                    run_key=row.run_key,
                    experiment=row.experiment,
                    label=label,
                    epochs_completed=row.epochs_completed,
                    epochs=row.epochs,
                    resumed_from_epoch=row.resumed_from_epoch,
                    started_at=row.started_at,
                    heartbeat_at=row.heartbeat_at,
                    worker=dict(row.worker or {}),
                    slurm_job_id=row.slurm_job_id,
                    stop_requested=row.stop_requested,
                )
            )
        else:
            stopped.append(
                StoppedRun(
                    run_key=row.run_key,
                    experiment=row.experiment,
                    status=row.status,
                    label=label,
                    epochs_completed=row.epochs_completed,
                    epochs=row.epochs,
                    checkpoint_epoch=row.checkpoint_epoch,
                    finished_at=row.finished_at,
                    error_line=error_line(row.error_head, row.error_tail),
                )
            )
    stopped.sort(key=lambda run: run.finished_at or datetime.min, reverse=True)
    return SweepStatus(now, counts, running, stopped)


def error_line(head: str | None, tail: str | None) -> str:
    """The line of an error that says what happened: a traceback's last line (the exception and
    its message), else the first line of a message (a KILLED run's reason)."""
    first = [line.strip() for line in (head or "").splitlines() if line.strip()]
    last = [line.strip() for line in (tail or head or "").splitlines() if line.strip()]
    if not last:
        return ""
    traceback = (first and first[0].startswith("Traceback (most recent call last)")) or any(
        line.startswith('File "') for line in last
    )
    return last[-1] if traceback or not first else first[0]


# ---- mtlx export -------------------------------------------------------------------------------

IDENTITY_COLUMNS = (
    "run_key",
    "experiment",
    "kind",
    "dataset",
    "network",
    "tasks",
    "method",
    "optimizer",
    "lr",
    "seed",
    "baseline_key",
)
PROVENANCE_COLUMNS = (
    "status",
    "attempt",
    "epochs_completed",
    "selected_epoch",
    "selection_rule",
    "note",
    "created_at",
    "started_at",
    "finished_at",
    "duration_s",
    "host",
    "device",
    "python_version",
    "torch_version",
    "mtlx_version",
    "git_commit",
    "worker",
    "slurm_job_id",
    "data_provenance",
    "config",
)
JSON_COLUMNS = ("worker", "data_provenance", "config")


@dataclass(frozen=True)
class ExportFilter:
    """Which runs an export holds (None: any)."""

    experiment: str | None = None
    dataset: str | None = None
    method: str | None = None
    status: RunStatus | None = None

    def conditions(self) -> list[Any]:
        return [
            column == value
            for column, value in (
                (Run.experiment, self.experiment),
                (Run.dataset, self.dataset),
                (Run.method, self.method),
                (Run.status, None if self.status is None else self.status.value),
            )
            if value is not None
        ]


def selected_epoch_frame(store: RunStore, selection: ExportFilter) -> pd.DataFrame:
    """FINISHED runs at their selected epoch: one row per run and split, with the identity and
    provenance columns of the run and one column per metric (NaN where a split lacks it).

    JSON columns (``worker``, ``data_provenance``, ``config``) are JSON text.
    """
    run_columns = [getattr(Run, name) for name in (*IDENTITY_COLUMNS, *PROVENANCE_COLUMNS)]
    conditions = [*selection.conditions(), Run.status == RunStatus.FINISHED.value]
    with store.sessions() as session:
        runs = pd.DataFrame(
            session.execute(select(Run.id, *run_columns).where(*conditions).order_by(Run.id)).all(),
            columns=["id", *IDENTITY_COLUMNS, *PROVENANCE_COLUMNS],
        )
        values = pd.DataFrame(
            session.execute(
                select(EpochMetric.run_id, EpochMetric.split, EpochMetric.metric, EpochMetric.value)
                .join(Run, Run.id == EpochMetric.run_id)
                .where(*conditions)
                .where(EpochMetric.epoch == Run.selected_epoch)
            ).all(),
            columns=["id", "split", "metric", "value"],
        )
    for name in JSON_COLUMNS:
        runs[name] = runs[name].map(_json_text)
    if values.empty:
        return pd.DataFrame(columns=[*IDENTITY_COLUMNS, "split", *PROVENANCE_COLUMNS])
    wide = values.pivot_table(
        index=["id", "split"], columns="metric", values="value", aggfunc="first", dropna=False
    )
    wide.columns.name = None
    metrics = sorted(wide.columns)
    wide = wide[metrics].reset_index()
    frame = runs.merge(wide, on="id", how="inner")
    frame = frame.sort_values(["id", "split"], kind="stable", ignore_index=True)
    return frame[[*IDENTITY_COLUMNS, "split", *PROVENANCE_COLUMNS, *metrics]]


EPOCH_IDENTITY = ("run_key", "experiment", "kind", "dataset", "network", "method", "optimizer")
EPOCH_COLUMNS = (*EPOCH_IDENTITY, "lr", "seed", "status", "epoch", "split", "metric", "value")
EPOCH_TYPES = {"lr": "float64", "seed": "int64", "epoch": "int64", "value": "float64"}


def epoch_metric_chunks(
    store: RunStore, selection: ExportFilter, chunk_rows: int = 200_000
) -> Iterator[pd.DataFrame]:
    """Every recorded epoch metric of the matching runs (any status), long: one row per run ×
    epoch × split × metric with the run's identity, in chunks (a big sweep has millions); every
    chunk has the same column types, and there is at least one (empty when nothing matches)."""
    query = (
        select(
            *(getattr(Run, name) for name in EPOCH_IDENTITY),
            Run.lr,
            Run.seed,
            Run.status,
            EpochMetric.epoch,
            EpochMetric.split,
            EpochMetric.metric,
            EpochMetric.value,
        )
        .join(Run, Run.id == EpochMetric.run_id)
        .where(*selection.conditions())
        .order_by(Run.id, EpochMetric.epoch, EpochMetric.split, EpochMetric.metric)
    )
    with store.sessions() as session:
        result = session.execute(query.execution_options(yield_per=chunk_rows))
        empty = True
        for rows in result.partitions():
            empty = False
            yield pd.DataFrame(rows, columns=list(EPOCH_COLUMNS)).astype(EPOCH_TYPES)
        if empty:
            yield pd.DataFrame(columns=list(EPOCH_COLUMNS)).astype(EPOCH_TYPES)


def _json_text(value: object) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


# ---- mtlx db info ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseCounts:
    """How many runs, by status and by dataset, and how many epoch rows."""

    by_status: dict[str, int]
    by_dataset: dict[str, int]
    epoch_rows: int

    @property
    def runs(self) -> int:
        return sum(self.by_status.values())


def database_counts(store: RunStore) -> DatabaseCounts:
    with store.sessions() as session:
        by_status = dict(
            session.execute(
                select(Run.status, func.count()).group_by(Run.status).order_by(Run.status)
            ).all()
        )
        by_dataset = dict(
            session.execute(
                select(Run.dataset, func.count()).group_by(Run.dataset).order_by(Run.dataset)
            ).all()
        )
        epoch_rows = int(session.scalar(select(func.count()).select_from(EpochMetric)) or 0)
    return DatabaseCounts(by_status, by_dataset, epoch_rows)


@dataclass(frozen=True)
class FolderSize:
    bytes: int
    files: int


def folder_size(folder: Path) -> FolderSize | None:
    """The bytes and number of files under ``folder`` (None when it does not exist)."""
    if not folder.is_dir():
        return None
    total = files = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            try:
                total += (Path(parent) / name).stat().st_size
            except FileNotFoundError:  # removed by a worker meanwhile
                continue
            files += 1
    return FolderSize(total, files)

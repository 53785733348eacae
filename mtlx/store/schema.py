"""The results database: runs, their per-epoch metrics, and single-task baselines.

Typed columns for what people filter on, the full resolved config as JSON beside them (as Optuna
and MLflow do). Metrics are stored long (run, epoch, split, metric, value) so a new metric or task
never needs a migration. Every epoch row says which attempt of its run wrote it, and every attempt
(a claim: first training, resume, takeover) keeps its own provenance in ``run_attempts``.

The column types work on SQLite and PostgreSQL alike: JSON is JSONB on PostgreSQL (which has an
equality operator, unlike ``json``); strings are wide enough for every value mtlx writes.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mtlx.tasks.kinds import in_table_order

JSONValue = JSON().with_variant(JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL."""


class TaskMetricsJSON(TypeDecorator):
    """``runs.task_metrics``, read back with each task's metrics in table order whatever the
    database kept (JSONB sorts an object's keys; see :func:`mtlx.tasks.kinds.in_table_order`)."""

    impl = JSONValue
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return in_table_order(value) if isinstance(value, dict) else value


class RunStatus(str, enum.Enum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


class Base(DeclarativeBase):
    pass


class Run(Base):
    """One training run: a resolved config, its lifecycle, provenance and the selected epoch."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # "mtl" or "stl"
    experiment: Mapped[str] = mapped_column(String(128))
    dataset: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64))
    tasks: Mapped[str] = mapped_column(String(512))  # comma-separated, in training order
    method: Mapped[str] = mapped_column(String(64))
    optimizer: Mapped[str] = mapped_column(String(64))
    lr: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    baseline_key: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict] = mapped_column(JSONValue)

    status: Mapped[str] = mapped_column(String(16))
    # attempt and owner_token fence every write: a worker writes only while the row still names
    # its attempt and token, so a worker that lost its run (taken over) can write nothing more
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    owner_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    epochs_completed: Mapped[int] = mapped_column(Integer, default=0)
    selected_epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    selection_rule: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # FAILED / KILLED: why
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # FINISHED: divergence, …
    # the last checkpoint that is consistent with the recorded epochs, and the last epoch it holds
    checkpoint_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    checkpoint_epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resumed_from_epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stop_requested: Mapped[str | None] = mapped_column(String(255), nullable=True)

    host: Mapped[str] = mapped_column(String(255))
    device: Mapped[str] = mapped_column(String(255))
    python_version: Mapped[str] = mapped_column(String(32))
    torch_version: Mapped[str] = mapped_column(String(64))
    mtlx_version: Mapped[str] = mapped_column(String(32))
    git_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the process holding the run: on its own host, a dead one is taken over at once
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    process_started: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    boot_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    worker: Mapped[dict | None] = mapped_column(JSONValue, nullable=True)
    slurm_job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data_provenance: Mapped[dict] = mapped_column(JSONValue)
    # {task: {"primary": metric, "metrics": {metric: higher_is_better}}}, known once data loads
    task_metrics: Mapped[dict] = mapped_column(TaskMetricsJSON)

    epochs: Mapped[list[EpochMetric]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )
    attempts: Mapped[list[RunAttempt]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index("ix_runs_grid", "dataset", "network", "method", "optimizer", "lr", "seed"),
        # status look-ups (claims, monitoring) and the finished runs of one setup (analyses)
        Index(
            "ix_runs_status_setup", "status", "kind", "dataset", "network", "baseline_key", "tasks"
        ),
    )


class EpochMetric(Base):
    """A metric of one run at one epoch on one split (``train``, ``val`` or ``test``)."""

    __tablename__ = "epoch_metrics"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    split: Mapped[str] = mapped_column(String(32), primary_key=True)
    metric: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    attempt: Mapped[int | None] = mapped_column(Integer, nullable=True)  # which attempt wrote it

    run: Mapped[Run] = relationship(back_populates="epochs")

    # keyed by what it is; on SQLite the table is clustered by that key (no rowid), so one
    # run's epoch lies together and reading the selected epochs takes one seek per run
    __table_args__ = ({"sqlite_with_rowid": False},)


class RunAttempt(Base):
    """One claim of a run — its first training, a resume, a takeover — with its provenance."""

    __tablename__ = "run_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(255))  # "new", "retry FAILED", "resume KILLED", …
    status: Mapped[str] = mapped_column(String(16))  # the status this attempt ended with
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resumed_from_epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    epochs_completed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    device: Mapped[str] = mapped_column(String(255))
    python_version: Mapped[str] = mapped_column(String(32))
    torch_version: Mapped[str] = mapped_column(String(64))
    mtlx_version: Mapped[str] = mapped_column(String(32))
    git_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    worker: Mapped[dict | None] = mapped_column(JSONValue, nullable=True)
    slurm_job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    run: Mapped[Run] = relationship(back_populates="attempts")

    __table_args__ = (UniqueConstraint("run_id", "attempt", name="uq_run_attempt"),)


class Baseline(Base):
    """A single-task reference value of one metric on one split, with where it came from."""

    __tablename__ = "baselines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    baseline_key: Mapped[str] = mapped_column(String(32))
    dataset: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(128))
    split: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(Float)
    std: Mapped[float | None] = mapped_column(Float, nullable=True)
    seeds: Mapped[int] = mapped_column(Integer)
    lr: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(64))  # "stl-baseline" or an import's description
    source_run_keys: Mapped[list] = mapped_column(JSONValue)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("baseline_key", "split", "metric", name="uq_baseline_metric"),
    )


class StudyRun(Base):
    """One run of one of the paper's studies (``toy``, ``invariance``…): its resolved parameters,
    where it ran, and when. Its numbers are :class:`StudyValue` rows."""

    __tablename__ = "study_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict] = mapped_column(JSONValue)
    status: Mapped[str] = mapped_column(String(16))  # FINISHED or FAILED (RunStatus values)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime] = mapped_column(DateTime)
    duration_s: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    host: Mapped[str] = mapped_column(String(255))
    device: Mapped[str] = mapped_column(String(255))
    python_version: Mapped[str] = mapped_column(String(32))
    torch_version: Mapped[str] = mapped_column(String(64))
    mtlx_version: Mapped[str] = mapped_column(String(32))
    git_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)

    values: Mapped[list[StudyValue]] = relationship(
        back_populates="study_run", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_study_runs_study", "study"),)


class StudyValue(Base):
    """One number of a study run: what it is about (``key``, e.g. {"optimizer": "adam",
    "method": "ew", "lr": 1.0, "start": 0}), the metric, an optional step, and the value (NULL:
    none, e.g. a start point that never reached the toy's threshold)."""

    __tablename__ = "study_values"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_run_id: Mapped[int] = mapped_column(ForeignKey("study_runs.id", ondelete="CASCADE"))
    key: Mapped[dict] = mapped_column(JSONValue)
    metric: Mapped[str] = mapped_column(String(128))
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)

    study_run: Mapped[StudyRun] = relationship(back_populates="values")

    __table_args__ = (Index("ix_study_values_metric", "study_run_id", "metric"),)


class ResultImport(Base):
    """One ``mtlx import`` of a file of published or external results: where they came from."""

    __tablename__ = "result_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(256))
    file_name: Mapped[str] = mapped_column(String(512))
    file_sha256: Mapped[str] = mapped_column(String(64))
    baseline: Mapped[bool] = mapped_column(Boolean)  # the rows are single-task baselines
    rows: Mapped[int] = mapped_column(Integer)  # results this import added
    created_at: Mapped[datetime] = mapped_column(DateTime)

    results: Mapped[list[ImportedResult]] = relationship(
        back_populates="origin", cascade="all, delete-orphan", passive_deletes=True
    )


class ImportedResult(Base):
    """A published or external result: test metrics of one (method, optimizer, lr, seed) of a
    dataset × network, or of its single-task baseline (``kind`` "stl"). Never a trained run: it
    has no config and no provenance beyond its ``source``, and takes part in analyses only when
    asked (``--include-imported``)."""

    __tablename__ = "imported_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("result_imports.id", ondelete="CASCADE"))
    # hash of (source, kind, dataset, network, method, optimizer, lr, seed): one result each
    result_key: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(8))  # "mtl" or "stl", as runs.kind
    dataset: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64))
    tasks: Mapped[str] = mapped_column(String(512))  # comma-separated, in the dataset's order
    method: Mapped[str] = mapped_column(String(64))
    optimizer: Mapped[str] = mapped_column(String(64))
    lr: Mapped[float | None] = mapped_column(Float, nullable=True)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metrics: Mapped[dict] = mapped_column(
        JSONValue
    )  # {metric: test value}, stable names, fractions

    origin: Mapped[ResultImport] = relationship(back_populates="results")

    __table_args__ = (Index("ix_imported_results_setup", "dataset", "network", "kind"),)

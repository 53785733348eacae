"""Writing and reading runs: RUNNING → FINISHED | FAILED | KILLED, in short, fenced transactions.

**Claims.** A run is claimed atomically on every dialect: a new run by ``INSERT … ON CONFLICT DO
NOTHING``, an existing one by an ``UPDATE`` conditional on the attempt and status just read.
Losing either race means "claimed elsewhere", never an exception. A claim starts a new attempt
with a fresh owner token and records who holds it (host, process id and start time, boot id).

**Fencing.** Every later write for the run — heartbeat, epoch, checkpoint, finish — is conditional
on the row still naming the writer's attempt and token (:class:`~mtlx.store.entities.Lease`); a
worker whose run was taken over gets :class:`RunLostError` at its next write and writes nothing.

**Taking over.** A RUNNING run whose holder is on this machine and gone is taken over at once; one
held elsewhere when its heartbeat is older than ``stale_after`` (judged by the database's clock).
A taken-over, KILLED or FAILED run resumes from the checkpoint recorded with it: epochs after the
checkpoint's are deleted, the ones before kept.

Each write is one short transaction, retried while the database reports a transient conflict.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from mtlx.errors import UserError
from mtlx.store.database import dialect, session_factory, transaction, with_retry
from mtlx.store.dialect import utcnow
from mtlx.store.entities import (
    AttemptRecord,
    Claim,
    Holder,
    Lease,
    ResumePoint,
    RunRecord,
)
from mtlx.store.schema import Baseline, EpochMetric, Run, RunAttempt, RunStatus

if TYPE_CHECKING:
    from mtlx.spec import RunConfig

DEFAULT_STALE_AFTER = timedelta(minutes=10)
ERROR_TAIL_CHARS = 8000

__all__ = ["DEFAULT_STALE_AFTER", "RunLostError", "RunStore", "utcnow"]


class RunLostError(UserError, RuntimeError):
    """This worker's attempt no longer owns its run (another worker took it over)."""


@dataclass(frozen=True)
class ClaimPolicy:
    """What a claim may take.

    ``stale_after``: a RUNNING run held on another host is taken over once its heartbeat is this
    old. ``retry_failed``: whether FAILED runs are taken again. ``ended_before``: FAILED and KILLED
    runs are taken only if they ended before this (database) time — a sweep retries what failed
    before it started, never what failed or was cancelled while it runs (one worker of a pool
    must not retry what another just failed). ``resume``: continue from the recorded checkpoint
    (False: start again at epoch 0).
    """

    stale_after: timedelta = DEFAULT_STALE_AFTER
    retry_failed: bool = True
    ended_before: datetime | None = None
    resume: bool = True


def _age(now: datetime, then: datetime) -> str:
    seconds = max(0.0, (now - then).total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class RunStore:
    """The database operations of the run lifecycle, on one engine."""

    def __init__(self, engine: Engine, stale_after: timedelta = DEFAULT_STALE_AFTER) -> None:
        self.engine = engine
        self.dialect = dialect(engine)
        self.sessions = session_factory(engine)
        self.writes = session_factory(engine, writes=True)
        self.stale_after = stale_after

    def _retry(self, operation: Any) -> Any:
        return with_retry(operation, self.dialect)

    def server_time(self) -> datetime:
        """The database server's clock (UTC, naive)."""
        with self.sessions() as session:
            return session.scalar(select(self.dialect.now()))

    # ---- claims ------------------------------------------------------------------------------

    def claim(
        self,
        config: RunConfig,
        experiment: str,
        provenance: Mapping[str, object],
        holder: Holder | None = None,
        policy: ClaimPolicy | None = None,
    ) -> Claim:
        """Atomically take ``config`` for training, unless it finished or is held by a live worker.

        Returns a :class:`Claim` with a lease (and where to resume), or the reason it was not
        taken: "finished", "running on host … pid …, heartbeat … ago", "FAILED (not retried)",
        "claimed elsewhere" (another worker won the race).
        """
        holder = holder or Holder.current()
        policy = policy or ClaimPolicy(stale_after=self.stale_after)
        return self._retry(lambda: self._claim(config, experiment, provenance, holder, policy))

    def _claim(
        self,
        config: RunConfig,
        experiment: str,
        provenance: Mapping[str, object],
        holder: Holder,
        policy: ClaimPolicy,
    ) -> Claim:
        token = uuid.uuid4().hex
        with transaction(self.writes) as session:
            now = session.scalar(select(self.dialect.now()))
            started = self._started(now, provenance, holder, token)
            new_run = {
                "run_key": config.run_key,
                "kind": config.kind,
                "experiment": experiment,
                "dataset": config.dataset["name"],
                "network": config.network["name"],
                "tasks": ",".join(config.tasks),
                "method": config.method["name"],
                "optimizer": config.optimizer["name"],
                "lr": config.optimizer["lr"],
                "seed": config.seed,
                "baseline_key": config.baseline_key,
                "config": config.as_dict(),
                "status": RunStatus.RUNNING.value,
                "attempt": 1,
                "created_at": now,
                "epochs_completed": 0,
                "data_provenance": {},
                "task_metrics": {},
                **started,
            }
            inserted = session.scalar(
                self.dialect.insert_ignoring_conflict(Run.__table__, new_run, "run_key")
            )
            if inserted is not None:
                lease = Lease(inserted, config.run_key, 1, token)
                self._add_attempt(session, lease, "new", now, provenance, holder, None)
                return Claim(lease, "new")

            run = session.execute(
                select(
                    Run.id,
                    Run.status,
                    Run.attempt,
                    Run.heartbeat_at,
                    Run.host,
                    Run.pid,
                    Run.process_started,
                    Run.boot_id,
                    Run.checkpoint_path,
                    Run.checkpoint_epoch,
                    Run.finished_at,
                    Run.stop_requested,
                ).where(Run.run_key == config.run_key)
            ).one()
            reason = self._takeover_reason(run, now, holder, policy)
            if run.stop_requested and reason.startswith("take over"):
                # cancelled, but its worker died before it could stop: it stops here, KILLED at
                # its last checkpoint, instead of being taken over and trained on
                session.execute(
                    update(Run)
                    .where(Run.id == run.id, Run.attempt == run.attempt, Run.status == run.status)
                    .values(
                        status=RunStatus.KILLED.value,
                        finished_at=now,
                        error=f"cancelled: {run.stop_requested} (its worker was gone; stopped at "
                        "its last checkpoint)",
                    )
                )
                session.execute(
                    update(RunAttempt)
                    .where(RunAttempt.run_id == run.id, RunAttempt.attempt == run.attempt)
                    .where(RunAttempt.ended_at.is_(None))
                    .values(ended_at=now, status=RunStatus.KILLED.value)
                )
                return Claim(None, "cancelled (its worker was gone): KILLED")
            if reason.startswith("skip: "):
                return Claim(None, reason.removeprefix("skip: "))
            resume = (
                ResumePoint(run.checkpoint_path, run.checkpoint_epoch or 0)
                if policy.resume and run.checkpoint_path
                else None
            )
            keep_until = resume.epoch if resume else 0
            taken = session.execute(
                update(Run)
                .where(Run.id == run.id, Run.attempt == run.attempt, Run.status == run.status)
                .values(
                    status=RunStatus.RUNNING.value,
                    attempt=run.attempt + 1,
                    error=None,
                    note=None,
                    stop_requested=None,
                    finished_at=None,
                    duration_s=None,
                    selected_epoch=None,
                    selection_rule=None,
                    epochs_completed=keep_until,
                    resumed_from_epoch=resume.epoch if resume else None,
                    checkpoint_path=resume.checkpoint_path if resume else None,
                    checkpoint_epoch=resume.epoch if resume else None,
                    **started,
                )
            )
            if taken.rowcount != 1:
                return Claim(None, "claimed elsewhere")
            session.execute(
                delete(EpochMetric).where(
                    EpochMetric.run_id == run.id, EpochMetric.epoch > keep_until
                )
            )
            # the attempt that held the run ends here, if it never said how
            session.execute(
                update(RunAttempt)
                .where(RunAttempt.run_id == run.id, RunAttempt.attempt == run.attempt)
                .where(RunAttempt.ended_at.is_(None))
                .values(ended_at=now, status="TAKEN OVER")
            )
            if resume:
                reason += f" from epoch {resume.epoch}"
            lease = Lease(run.id, config.run_key, run.attempt + 1, token)
            self._add_attempt(session, lease, reason, now, provenance, holder, resume)
            return Claim(lease, reason, resume)

    @staticmethod
    def _takeover_reason(run: Any, now: datetime, holder: Holder, policy: ClaimPolicy) -> str:
        """Why ``run`` may be taken ("resume KILLED", …), or ``"skip: <why not>"``."""
        if run.status == RunStatus.FINISHED.value:
            return "skip: finished"
        if run.status == RunStatus.FAILED.value and not policy.retry_failed:
            return "skip: FAILED (not retried; `mtlx retry` retries it)"
        if run.status != RunStatus.RUNNING.value:
            ended = run.finished_at
            if (
                policy.ended_before is not None
                and ended is not None
                and ended >= policy.ended_before
            ):
                return f"skip: {run.status} since this sweep started"
            return f"{'resume' if run.checkpoint_path and policy.resume else 'retry'} {run.status}"
        where = f"host {run.host} pid {run.pid}" if run.pid else f"host {run.host}"
        if holder.sees_dead(run.host, run.pid, run.process_started, run.boot_id):
            return f"take over RUNNING: its worker ({where}) is gone"
        age = now - run.heartbeat_at
        if age > policy.stale_after:
            return f"take over stale RUNNING (heartbeat {_age(now, run.heartbeat_at)} ago, {where})"
        return f"skip: running on {where}, heartbeat {_age(now, run.heartbeat_at)} ago"

    @staticmethod
    def _started(
        now: datetime, provenance: Mapping[str, object], holder: Holder, token: str
    ) -> dict[str, object]:
        return {
            "owner_token": token,
            "started_at": now,
            "heartbeat_at": now,
            "host": holder.host,
            "pid": holder.pid,
            "process_started": holder.process_started,
            "boot_id": holder.boot_id,
            "worker": dict(holder.worker),
            "slurm_job_id": holder.slurm_job_id,
            "device": provenance["device"],
            "python_version": provenance["python_version"],
            "torch_version": provenance["torch_version"],
            "mtlx_version": provenance["mtlx_version"],
            "git_commit": provenance["git_commit"],
        }

    @staticmethod
    def _add_attempt(
        session: Session,
        lease: Lease,
        reason: str,
        now: datetime,
        provenance: Mapping[str, object],
        holder: Holder,
        resume: ResumePoint | None,
    ) -> None:
        session.add(
            RunAttempt(
                run_id=lease.run_id,
                attempt=lease.attempt,
                reason=reason[:255],
                status=RunStatus.RUNNING.value,
                started_at=now,
                resumed_from_epoch=resume.epoch if resume else None,
                host=holder.host,
                pid=holder.pid,
                device=str(provenance["device"]),
                python_version=str(provenance["python_version"]),
                torch_version=str(provenance["torch_version"]),
                mtlx_version=str(provenance["mtlx_version"]),
                git_commit=provenance["git_commit"],
                worker=dict(holder.worker),
                slurm_job_id=holder.slurm_job_id,
            )
        )

    # ---- fenced writes -----------------------------------------------------------------------

    def _owned(self, session: Session, lease: Lease, **values: object) -> None:
        """Update the run if ``lease`` still owns it; else RunLostError (nothing is written)."""
        result = session.execute(
            update(Run)
            .where(
                Run.id == lease.run_id,
                Run.owner_token == lease.token,
                Run.status == RunStatus.RUNNING.value,
            )
            .values(**values)
        )
        if result.rowcount != 1:
            raise RunLostError(self._lost_message(session, lease))

    def _lost_message(self, session: Session, lease: Lease) -> str:
        row = session.execute(
            select(Run.status, Run.attempt, Run.host, Run.pid).where(Run.id == lease.run_id)
        ).one_or_none()
        if row is None:
            return f"run {lease.run_key} is no longer in the database; this worker stops"
        if row.attempt != lease.attempt:
            return (
                f"run {lease.run_key} was taken over (attempt {row.attempt} on host {row.host} "
                f"pid {row.pid}); this worker (attempt {lease.attempt}) stops without writing"
            )
        return (
            f"run {lease.run_key} is {row.status}, no longer RUNNING under this worker "
            f"(attempt {lease.attempt}); it stops without writing"
        )

    def _write(self, lease: Lease, **values: object) -> None:
        def write() -> None:
            with transaction(self.writes) as session:
                self._owned(session, lease, **values)

        self._retry(write)

    def set_data(
        self,
        lease: Lease,
        data_provenance: Mapping[str, object],
        task_metrics: Mapping[str, Mapping[str, object]],
    ) -> None:
        """What the loaded data says: its provenance, the tasks' metrics and their directions."""
        self._write(lease, data_provenance=dict(data_provenance), task_metrics=dict(task_metrics))

    def heartbeat(self, lease: Lease) -> str | None:
        """Refresh the heartbeat; returns a stop request (``mtlx cancel``), if one was made."""

        def write() -> str | None:
            with transaction(self.writes) as session:
                self._owned(session, lease, heartbeat_at=self.dialect.now())
                return session.scalar(select(Run.stop_requested).where(Run.id == lease.run_id))

        return self._retry(write)

    def record_epoch(
        self,
        lease: Lease,
        epoch: int,
        metrics: Mapping[str, Mapping[str, float]],
        checkpoint: ResumePoint | None = None,
    ) -> None:
        """One epoch's metrics of every split, the heartbeat and (if one was just written) the
        checkpoint that now holds this epoch — all in one transaction, so the recorded epochs and
        the recorded checkpoint always agree."""

        def write() -> None:
            with transaction(self.writes) as session:
                values: dict[str, object] = {
                    "epochs_completed": epoch,
                    "heartbeat_at": self.dialect.now(),
                }
                if checkpoint is not None:
                    values["checkpoint_path"] = checkpoint.checkpoint_path
                    values["checkpoint_epoch"] = checkpoint.epoch
                self._owned(session, lease, **values)
                session.add_all(
                    EpochMetric(
                        run_id=lease.run_id,
                        epoch=epoch,
                        split=split,
                        metric=name,
                        value=value if math.isfinite(value) else None,
                        attempt=lease.attempt,
                    )
                    for split, split_metrics in metrics.items()
                    for name, value in split_metrics.items()
                )

        self._retry(write)

    def set_checkpoint(self, lease: Lease, checkpoint: ResumePoint | None) -> None:
        """Record the checkpoint to resume from (None: there is none, start at epoch 0)."""
        self._write(
            lease,
            checkpoint_path=checkpoint.checkpoint_path if checkpoint else None,
            checkpoint_epoch=checkpoint.epoch if checkpoint else None,
        )

    def restart(self, lease: Lease, reason: str) -> None:
        """Start the attempt again at epoch 0 (its checkpoint is unusable): drop recorded epochs."""

        def write() -> None:
            with transaction(self.writes) as session:
                self._owned(
                    session,
                    lease,
                    epochs_completed=0,
                    checkpoint_path=None,
                    checkpoint_epoch=None,
                    resumed_from_epoch=None,
                    note=reason,
                )
                session.execute(delete(EpochMetric).where(EpochMetric.run_id == lease.run_id))
                session.execute(
                    update(RunAttempt)
                    .where(RunAttempt.run_id == lease.run_id, RunAttempt.attempt == lease.attempt)
                    .values(resumed_from_epoch=None, reason=f"restart: {reason}"[:255])
                )

        self._retry(write)

    def finish(
        self,
        lease: Lease,
        selected_epoch: int,
        selection_rule: str,
        note: str | None = None,
        checkpoint_path: str | None = None,
    ) -> None:
        """FINISHED, with the selected epoch, the rule that chose it, and the kept weights."""
        self._end(
            lease,
            RunStatus.FINISHED,
            selected_epoch=selected_epoch,
            selection_rule=selection_rule,
            note=note,
            checkpoint_path=checkpoint_path,
        )

    def fail(
        self,
        lease: Lease,
        error: str,
        status: RunStatus = RunStatus.FAILED,
        checkpoint: ResumePoint | None = None,
    ) -> None:
        """FAILED (with the traceback's tail) or KILLED (with why); ``checkpoint``: a checkpoint
        written on the way out, to resume from."""
        values: dict[str, object] = {"error": error[-ERROR_TAIL_CHARS:]}
        if checkpoint is not None:
            values["checkpoint_path"] = checkpoint.checkpoint_path
            values["checkpoint_epoch"] = checkpoint.epoch
        self._end(lease, status, **values)

    def _end(self, lease: Lease, status: RunStatus, **values: object) -> None:
        def write() -> None:
            with transaction(self.writes) as session:
                now = session.scalar(select(self.dialect.now()))
                started = session.scalar(select(Run.started_at).where(Run.id == lease.run_id))
                self._owned(
                    session,
                    lease,
                    status=status.value,
                    finished_at=now,
                    heartbeat_at=now,
                    duration_s=(now - started).total_seconds() if started else None,
                    **values,
                )
                epochs = session.scalar(select(Run.epochs_completed).where(Run.id == lease.run_id))
                session.execute(
                    update(RunAttempt)
                    .where(RunAttempt.run_id == lease.run_id, RunAttempt.attempt == lease.attempt)
                    .values(
                        status=status.value,
                        ended_at=now,
                        epochs_completed=epochs,
                        error=values.get("error"),
                    )
                )

        self._retry(write)

    def request_stop(self, run_keys: Iterable[str], reason: str) -> int:
        """Ask the workers of RUNNING runs to stop (they see it at their next heartbeat)."""
        keys = list(run_keys)

        def write() -> int:
            with transaction(self.writes) as session:
                result = session.execute(
                    update(Run)
                    .where(Run.run_key.in_(keys), Run.status == RunStatus.RUNNING.value)
                    .values(stop_requested=reason[:255])
                )
                return int(result.rowcount)

        return self._retry(write)

    # ---- queries -----------------------------------------------------------------------------

    def statuses(self, run_keys: Iterable[str]) -> dict[str, str]:
        keys = list(run_keys)
        found: dict[str, str] = {}
        with self.sessions() as session:
            for start in range(0, len(keys), 500):  # stay under SQL parameter limits
                chunk = keys[start : start + 500]
                rows = session.execute(
                    select(Run.run_key, Run.status).where(Run.run_key.in_(chunk))
                )
                found.update({key: status for key, status in rows})
        return found

    def runs_by_key(self, run_keys: Sequence[str]) -> dict[str, RunRecord]:
        """The recorded runs among ``run_keys``."""
        found: dict[str, RunRecord] = {}
        with self.sessions() as session:
            for start in range(0, len(run_keys), 500):
                chunk = list(run_keys[start : start + 500])
                for row in session.scalars(select(Run).where(Run.run_key.in_(chunk))):
                    found[row.run_key] = RunRecord.from_row(row)
        return found

    def run(self, run: int | str) -> RunRecord:
        """The run with this id or run key."""
        with self.sessions() as session:
            column = Run.id if isinstance(run, int) else Run.run_key
            row = session.scalar(select(Run).where(column == run))
            if row is None:
                raise KeyError(f"no run {run!r} in this database")
            return RunRecord.from_row(row)

    def attempts(self, run: int | str) -> list[AttemptRecord]:
        with self.sessions() as session:
            column = Run.id if isinstance(run, int) else Run.run_key
            rows = session.scalars(
                select(RunAttempt)
                .join(Run, Run.id == RunAttempt.run_id)
                .where(column == run)
                .order_by(RunAttempt.attempt)
            )
            return [AttemptRecord.from_row(row) for row in rows]

    def runs(self, **filters: object) -> list[RunRecord]:
        """Runs filtered on typed columns (``dataset="nyuv2"``, ``status="FAILED"``), by id."""
        query = select(Run)
        for column, value in filters.items():
            if value is not None:
                query = query.where(getattr(Run, column) == value)
        with self.sessions() as session:
            return [RunRecord.from_row(row) for row in session.scalars(query.order_by(Run.id))]

    def runs_frame(self, **filters: object) -> pd.DataFrame:
        """Runs as a table (one row each, without the config), filtered on typed columns."""
        columns = [c.name for c in Run.__table__.columns if c.name not in ("config",)]
        return pd.DataFrame(
            [{c: getattr(run, c) for c in columns} for run in self.runs(**filters)],
            columns=columns,
        )

    def selected_metrics(self, **filters: object) -> pd.DataFrame:
        """FINISHED runs with their metrics at the selected epoch: one row per (run, split).

        Columns: run_key, kind, selection_rule, dataset, network, tasks, method, optimizer, lr,
        seed, baseline_key, split, then one column per metric.
        """
        identity = [
            Run.run_key,
            Run.kind,
            Run.selection_rule,
            Run.dataset,
            Run.network,
            Run.tasks,
            Run.method,
            Run.optimizer,
            Run.lr,
            Run.seed,
            Run.baseline_key,
        ]
        query = (
            select(*identity, EpochMetric.split, EpochMetric.metric, EpochMetric.value)
            .join(EpochMetric, EpochMetric.run_id == Run.id)
            .where(Run.status == RunStatus.FINISHED.value)
            .where(EpochMetric.epoch == Run.selected_epoch)
        )
        for column, value in filters.items():
            if value is not None:
                query = query.where(getattr(Run, column) == value)
        with self.sessions() as session:
            long = pd.DataFrame(session.execute(query).all())
        keys = [c.key for c in identity] + ["split"]
        if long.empty:
            return pd.DataFrame(columns=keys)
        wide = long.pivot(index=keys, columns="metric", values="value")
        wide.columns.name = None
        return wide.reset_index()

    def task_metrics(self, **filters: object) -> dict[str, dict[str, object]]:
        """The union of the task → metrics descriptions of the matching finished runs.

        Read per run and merged here: PostgreSQL has no equality on JSON, so no DISTINCT over it.
        """
        query = select(Run.task_metrics).where(Run.status == RunStatus.FINISHED.value)
        for column, value in filters.items():
            if value is not None:
                query = query.where(getattr(Run, column) == value)
        merged: dict[str, dict[str, object]] = {}
        with self.sessions() as session:
            for described in session.scalars(query):
                merged.update(described or {})
        return merged

    def epoch_history(self, run_key: str) -> pd.DataFrame:
        """Every recorded epoch metric of one run: epoch, split, metric, value, attempt."""
        query = (
            select(
                EpochMetric.epoch,
                EpochMetric.split,
                EpochMetric.metric,
                EpochMetric.value,
                EpochMetric.attempt,
            )
            .join(Run, EpochMetric.run_id == Run.id)
            .where(Run.run_key == run_key)
            .order_by(EpochMetric.epoch, EpochMetric.split, EpochMetric.metric)
        )
        with self.sessions() as session:
            return pd.DataFrame(
                session.execute(query).all(),
                columns=["epoch", "split", "metric", "value", "attempt"],
            )

    def count_epoch_rows(self, run_key: str) -> int:
        with self.sessions() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(EpochMetric)
                    .join(Run, EpochMetric.run_id == Run.id)
                    .where(Run.run_key == run_key)
                )
                or 0
            )

    # ---- baselines ---------------------------------------------------------------------------

    def baseline_values(self, baseline_key: str, split: str) -> dict[str, float]:
        with self.sessions() as session:
            rows = session.execute(
                select(Baseline.metric, Baseline.value).where(
                    Baseline.baseline_key == baseline_key, Baseline.split == split
                )
            )
            return {metric: value for metric, value in rows}

    def baselines_frame(self, **filters: object) -> pd.DataFrame:
        query = select(Baseline)
        for column, value in filters.items():
            if value is not None:
                query = query.where(getattr(Baseline, column) == value)
        columns = [c.name for c in Baseline.__table__.columns]
        with self.sessions() as session:
            rows = session.scalars(query.order_by(Baseline.id)).all()
            return pd.DataFrame(
                [{c: getattr(r, c) for c in columns} for r in rows], columns=columns
            )

    def save_baselines(self, rows: Iterable[Mapping[str, object]]) -> int:
        """Insert or replace baseline values (one per baseline_key, split, metric)."""
        rows = list(rows)

        def write() -> int:
            with transaction(self.writes) as session:
                now = session.scalar(select(self.dialect.now()))
                for row in rows:
                    session.execute(
                        delete(Baseline).where(
                            Baseline.baseline_key == row["baseline_key"],
                            Baseline.split == row["split"],
                            Baseline.metric == row["metric"],
                        )
                    )
                    session.add(Baseline(created_at=now, **row))
            return len(rows)

        return self._retry(write)

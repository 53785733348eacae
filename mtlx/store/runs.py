"""Writing and reading runs: RUNNING → FINISHED | FAILED | KILLED, in short transactions.

Every write is one short transaction retried on a busy database, so a finished epoch or a finished
run is on disk before training goes on. A RUNNING run whose heartbeat is older than ``stale_after``
belongs to a worker that died; the next sweep takes it over instead of leaving it RUNNING forever.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Engine, delete, select, update

from mtlx.store.database import session_factory, transaction, with_retry
from mtlx.store.schema import Baseline, EpochMetric, Run, RunStatus

if TYPE_CHECKING:
    from mtlx.spec import RunConfig

DEFAULT_STALE_AFTER = timedelta(minutes=10)
ERROR_TAIL_CHARS = 8000


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Claim:
    """The outcome of asking to run a config: a run id to train under, or why not."""

    run_id: int | None
    reason: str  # "new", "retry FAILED", "retry stale RUNNING", "finished", "running elsewhere"


class RunStore:
    """The database operations of the run lifecycle, on one engine."""

    def __init__(self, engine: Engine, stale_after: timedelta = DEFAULT_STALE_AFTER) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.writes = session_factory(engine, writes=True)
        self.stale_after = stale_after

    # ---- lifecycle ---------------------------------------------------------------------------

    def claim(self, config: RunConfig, experiment: str, provenance: Mapping[str, object]) -> Claim:
        """Atomically take ``config`` for training, unless it finished or runs elsewhere."""

        def attempt() -> Claim:
            now = utcnow()
            with transaction(self.writes) as session:
                run = session.scalar(select(Run).where(Run.run_key == config.run_key))
                if run is None:
                    run = Run(
                        run_key=config.run_key,
                        kind=config.kind,
                        experiment=experiment,
                        dataset=config.dataset["name"],
                        network=config.network["name"],
                        tasks=",".join(config.tasks),
                        method=config.method["name"],
                        optimizer=config.optimizer["name"],
                        lr=config.optimizer["lr"],
                        seed=config.seed,
                        baseline_key=config.baseline_key,
                        config=config.as_dict(),
                        status=RunStatus.RUNNING.value,
                        attempt=1,
                        created_at=now,
                        data_provenance={},
                        task_metrics={},
                        **self._started(now, provenance),
                    )
                    session.add(run)
                    session.flush()
                    return Claim(run.id, "new")
                if run.status == RunStatus.FINISHED.value:
                    return Claim(None, "finished")
                stale = now - run.heartbeat_at > self.stale_after
                if run.status == RunStatus.RUNNING.value and not stale:
                    return Claim(None, "running elsewhere")
                reason = f"retry {'stale ' if run.status == RunStatus.RUNNING.value else ''}"
                reason += run.status
                session.execute(delete(EpochMetric).where(EpochMetric.run_id == run.id))
                run.status = RunStatus.RUNNING.value
                run.attempt += 1
                run.error = None
                run.finished_at = run.duration_s = run.selected_epoch = run.selection_rule = None
                run.epochs_completed = 0
                for key, value in self._started(now, provenance).items():
                    setattr(run, key, value)
                return Claim(run.id, reason)

        return with_retry(attempt)

    @staticmethod
    def _started(now: datetime, provenance: Mapping[str, object]) -> dict[str, object]:
        return {
            "started_at": now,
            "heartbeat_at": now,
            "host": provenance["host"],
            "device": provenance["device"],
            "python_version": provenance["python_version"],
            "torch_version": provenance["torch_version"],
            "mtlx_version": provenance["mtlx_version"],
            "git_commit": provenance["git_commit"],
        }

    def set_data(
        self,
        run_id: int,
        data_provenance: Mapping[str, object],
        task_metrics: Mapping[str, Mapping[str, object]],
    ) -> None:
        """What the loaded data says: its provenance, the tasks' metrics and their directions."""
        self._update(run_id, data_provenance=dict(data_provenance), task_metrics=dict(task_metrics))

    def heartbeat(self, run_id: int) -> None:
        self._update(run_id, heartbeat_at=utcnow())

    def record_epoch(
        self, run_id: int, epoch: int, metrics: Mapping[str, Mapping[str, float]]
    ) -> None:
        """One epoch's metrics of every split, committed together with the heartbeat."""

        def write() -> None:
            with transaction(self.writes) as session:
                session.add_all(
                    EpochMetric(
                        run_id=run_id,
                        epoch=epoch,
                        split=split,
                        metric=name,
                        value=value if math.isfinite(value) else None,
                    )
                    for split, values in metrics.items()
                    for name, value in values.items()
                )
                session.execute(
                    update(Run)
                    .where(Run.id == run_id)
                    .values(epochs_completed=epoch, heartbeat_at=utcnow())
                )

        with_retry(write)

    def finish(
        self, run_id: int, selected_epoch: int, selection_rule: str, note: str | None = None
    ) -> None:
        now = utcnow()
        self._update(
            run_id,
            status=RunStatus.FINISHED.value,
            selected_epoch=selected_epoch,
            selection_rule=selection_rule,
            finished_at=now,
            heartbeat_at=now,
            error=note,
            duration_s=self._duration(run_id, now),
        )

    def fail(self, run_id: int, error: str, status: RunStatus = RunStatus.FAILED) -> None:
        now = utcnow()
        self._update(
            run_id,
            status=status.value,
            finished_at=now,
            heartbeat_at=now,
            error=error[-ERROR_TAIL_CHARS:],
            duration_s=self._duration(run_id, now),
        )

    def _duration(self, run_id: int, now: datetime) -> float:
        with self.sessions() as session:
            started = session.scalar(select(Run.started_at).where(Run.id == run_id))
        return (now - started).total_seconds() if started else float("nan")

    def _update(self, run_id: int, **values: object) -> None:
        def write() -> None:
            with transaction(self.writes) as session:
                session.execute(update(Run).where(Run.id == run_id).values(**values))

        with_retry(write)

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

    def run(self, run_id: int) -> Run:
        with self.sessions() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise KeyError(f"no run with id {run_id}")
            return run

    def runs_frame(self, **filters: object) -> pd.DataFrame:
        """Runs as a table (one row each), filtered on typed columns, e.g. ``dataset="nyuv2"``."""
        query = select(Run)
        for column, value in filters.items():
            if value is not None:
                query = query.where(getattr(Run, column) == value)
        columns = [c.name for c in Run.__table__.columns if c.name not in ("config",)]
        with self.sessions() as session:
            runs = session.scalars(query.order_by(Run.id)).all()
            return pd.DataFrame(
                [{c: getattr(run, c) for c in columns} for run in runs], columns=columns
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
        """The union of the task → metrics descriptions of the matching finished runs."""
        query = select(Run.task_metrics).where(Run.status == RunStatus.FINISHED.value)
        for column, value in filters.items():
            if value is not None:
                query = query.where(getattr(Run, column) == value)
        merged: dict[str, dict[str, object]] = {}
        with self.sessions() as session:
            for (described,) in session.execute(query.distinct()):
                merged.update(described or {})
        return merged

    def epoch_history(self, run_key: str) -> pd.DataFrame:
        query = (
            select(EpochMetric.epoch, EpochMetric.split, EpochMetric.metric, EpochMetric.value)
            .join(Run, EpochMetric.run_id == Run.id)
            .where(Run.run_key == run_key)
            .order_by(EpochMetric.epoch)
        )
        with self.sessions() as session:
            return pd.DataFrame(session.execute(query).all())

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
            now = utcnow()
            with transaction(self.writes) as session:
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

        return with_retry(write)

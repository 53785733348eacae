"""Runs of the paper's studies in the results database, and their numbers.

A study run is written whole, in one short transaction, when the study has finished: one
``study_runs`` row (the study's name, its resolved parameters as JSON, provenance, timings) and
one ``study_values`` row per number — what the number is about (``key``, a small JSON object such
as ``{"optimizer": "adam", "method": "ew", "lr": 1.0, "start": 0}``), the metric, an optional step
and the value. Non-finite values are stored as NULL. Readers get entities and frames, never ORM
rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, insert, select

from mtlx.errors import UserError
from mtlx.store.database import dialect, session_factory, transaction, with_retry
from mtlx.store.schema import RunStatus, StudyRun, StudyValue


class UnknownStudyRunError(UserError, LookupError):
    """A study run that the database does not hold."""


@dataclass(frozen=True)
class StudyNumber:
    """One number of a study: what it is about, which metric, at which step (or none)."""

    key: Mapping[str, object]
    metric: str
    value: float | None
    step: int | None = None


@dataclass(frozen=True)
class StudyRecord:
    """A study run as stored (without its numbers)."""

    id: int
    study: str
    parameters: dict[str, object]
    status: str
    started_at: datetime
    finished_at: datetime
    duration_s: float
    provenance: dict[str, str | None] = field(default_factory=dict)


PROVENANCE_FIELDS = (
    "host",
    "device",
    "python_version",
    "torch_version",
    "mtlx_version",
    "git_commit",
)


class StudyStore:
    """Writes and reads study runs on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.writes = session_factory(engine, writes=True)

    def record(
        self,
        study: str,
        parameters: Mapping[str, object],
        provenance: Mapping[str, str | None],
        started_at: datetime,
        finished_at: datetime,
        numbers: Iterable[StudyNumber],
    ) -> int:
        """Store a finished study run with all its numbers; returns its id."""
        rows = [
            {
                "key": dict(number.key),
                "metric": number.metric,
                "step": number.step,
                "value": _finite_or_none(number.value),
            }
            for number in numbers
        ]

        def write() -> int:
            with transaction(self.writes) as session:
                run = StudyRun(
                    study=study,
                    parameters=dict(parameters),
                    status=RunStatus.FINISHED.value,
                    started_at=started_at,
                    finished_at=finished_at,
                    duration_s=(finished_at - started_at).total_seconds(),
                    **{name: provenance.get(name) or "" for name in PROVENANCE_FIELDS[:-1]},
                    git_commit=provenance.get("git_commit"),
                )
                session.add(run)
                session.flush()
                if rows:
                    session.execute(
                        insert(StudyValue), [{"study_run_id": run.id, **row} for row in rows]
                    )
                return run.id

        return with_retry(write, dialect(self.engine))

    def runs(self, study: str | None = None) -> list[StudyRecord]:
        """Every stored run (of ``study``), oldest first."""
        query = select(StudyRun).order_by(StudyRun.id)
        if study is not None:
            query = query.where(StudyRun.study == study)
        with self.sessions() as session:
            return [_record(run) for run in session.scalars(query)]

    def latest(self, study: str) -> StudyRecord:
        """The most recent run of ``study``; refused with a clear message when there is none."""
        runs = self.runs(study)
        if not runs:
            raise UnknownStudyRunError(f"the database holds no run of the {study!r} study")
        return runs[-1]

    def values(self, study_run_id: int) -> pd.DataFrame:
        """The numbers of one run: the key's fields as columns, then metric, step, value."""
        with self.sessions() as session:
            if session.get(StudyRun, study_run_id) is None:
                raise UnknownStudyRunError(f"no study run with id {study_run_id}")
            rows = session.execute(
                select(StudyValue.key, StudyValue.metric, StudyValue.step, StudyValue.value)
                .where(StudyValue.study_run_id == study_run_id)
                .order_by(StudyValue.id)
            ).all()
        records = [
            {**key, "metric": metric, "step": step, "value": value}
            for key, metric, step, value in rows
        ]
        return pd.DataFrame.from_records(records, columns=_columns(records))


def _columns(records: list[dict[str, object]]) -> list[str]:
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    trailing = ["metric", "step", "value"]
    return [k for k in keys if k not in trailing] + trailing


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _record(run: StudyRun) -> StudyRecord:
    return StudyRecord(
        id=run.id,
        study=run.study,
        parameters=dict(run.parameters),
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_s=run.duration_s,
        provenance={name: getattr(run, name) for name in PROVENANCE_FIELDS},
    )

"""Read-only queries for the analyses: setups, selected-epoch metrics in wide form, imports.

Metrics are stored long (run, epoch, split, metric, value); the analyses want one row per run and
one column per metric of a split. The database pivots the selected epoch's rows into one row per
run, fetched as plain tuples. Every query here is plain SQL that SQLite and PostgreSQL both run.

A run's metrics of its selected epoch and one split are found by one seek on the leading part of
the metrics' key (run, epoch, split) and picked by a ``CASE`` over their names; a
``metric IN (…)`` condition would have the database seek once per metric instead.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, case, func, select

from mtlx.store.schema import Baseline, EpochMetric, ImportedResult, ResultImport, Run, RunStatus

RUN_IDENTITY = ("run_key", "method", "optimizer", "lr", "seed", "selection_rule")
RUN_ID = "run_id"  # the index of the frames of runs: the handle by which chosen runs are read
FEW_RUNS = 20_000  # up to this many runs, they are read by id, else in one pass
IDS_PER_QUERY = 2000  # bound parameters per statement, under SQLite's and PostgreSQL's limits


def _filtered(query, column, values: Sequence[str] | None):  # type: ignore[no-untyped-def]
    return query if values is None else query.where(column.in_(list(values)))


@dataclass(frozen=True)
class SetupKey:
    """What the runs of one setup share in their typed columns."""

    dataset: str
    network: str
    baseline_key: str
    tasks: str  # comma-separated, as stored


def _finished_in_setup(
    setup: SetupKey,
    kind: str,
    methods: Sequence[str] | None,
    optimizers: Sequence[str] | None,
) -> list:  # type: ignore[type-arg]
    """The conditions on ``runs`` for the finished runs of one setup, the first on the status;
    the first six are the columns of the index ``ix_runs_status_setup``, in its order."""
    conditions = [
        Run.status == RunStatus.FINISHED.value,
        Run.kind == kind,
        Run.dataset == setup.dataset,
        Run.network == setup.network,
        Run.baseline_key == setup.baseline_key,
        Run.tasks == setup.tasks,
    ]
    if methods is not None:
        conditions.append(Run.method.in_(list(methods)))
    if optimizers is not None:
        conditions.append(Run.optimizer.in_(list(optimizers)))
    return conditions


def finished_setups(
    engine: Engine,
    kind: str = "mtl",
    dataset: str | None = None,
    network: str | None = None,
    methods: Sequence[str] | None = None,
    optimizers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per (dataset, network, baseline_key, tasks) with finished runs of ``kind`` (and,
    where given, of one of ``methods`` and ``optimizers``).

    Columns: dataset, network, baseline_key, tasks, runs (count), first_run_id (the lowest id,
    whose stored config and task descriptions speak for the setup).
    """
    query = (
        select(
            Run.dataset,
            Run.network,
            Run.baseline_key,
            Run.tasks,
            func.count(Run.id).label("runs"),
            func.min(Run.id).label("first_run_id"),
        )
        .where(Run.status == RunStatus.FINISHED.value, Run.kind == kind)
        .group_by(Run.dataset, Run.network, Run.baseline_key, Run.tasks)
        .order_by(Run.dataset, Run.network, Run.baseline_key, Run.tasks)
    )
    if dataset is not None:
        query = query.where(Run.dataset == dataset)
    if network is not None:
        query = query.where(Run.network == network)
    query = _filtered(_filtered(query, Run.method, methods), Run.optimizer, optimizers)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    columns = ["dataset", "network", "baseline_key", "tasks", "runs", "first_run_id"]
    return pd.DataFrame(rows, columns=columns)


def run_documents(engine: Engine, run_ids: Iterable[int]) -> dict[int, tuple[dict, dict]]:
    """``{run id: (config, task_metrics)}`` of the given runs (one row each, no DISTINCT)."""
    ids = sorted(set(run_ids))
    found: dict[int, tuple[dict, dict]] = {}
    with engine.connect() as connection:
        for start in range(0, len(ids), 500):  # stay under SQL parameter limits
            query = select(Run.id, Run.config, Run.task_metrics).where(
                Run.id.in_(ids[start : start + 500])
            )
            for run_id, config, described in connection.execute(query):
                found[run_id] = (config or {}, described or {})
    return found


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: rows are tuples of numbers and strings, which form no
    cycles, yet 100,000 new tuples set off collections over every object alive (0.07 s of
    ``mtlx pareto`` over 100,000 runs)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fetch(engine: Engine, query) -> list[tuple]:  # type: ignore[no-untyped-def]
    """All rows of ``query`` as plain tuples from the driver's cursor.

    For millions of metric rows, building SQLAlchemy ``Row`` objects costs three times the
    fetch itself (2.3 s against 0.7 s for 900,000 rows); the statement is still built and
    compiled by SQLAlchemy for the engine's dialect.
    """
    compiled = query.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.params  # built anew on every access
    if compiled.positional:
        parameters: object = tuple(values[name] for name in compiled.positiontup or ())
    else:
        parameters = values
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(str(compiled), parameters)
            with _collector_paused():
                return cursor.fetchall()
        finally:
            cursor.close()


def selected_metrics_wide(
    engine: Engine,
    setup: SetupKey,
    split: str,
    metrics: Sequence[str],
    methods: Sequence[str] | None = None,
    optimizers: Sequence[str] | None = None,
    run_ids: Sequence[int] | None = None,
    kind: str = "mtl",
) -> pd.DataFrame:
    """Finished runs of one setup with ``split``'s metrics at their selected epoch, one row
    each, indexed by run id (:data:`RUN_ID`): :data:`RUN_IDENTITY`, then one column per metric
    — NaN where the run stored none (a diverged value is stored as NULL). ``run_ids`` restricts
    the runs."""
    conditions = _finished_in_setup(setup, kind, methods, optimizers)
    identity = [getattr(Run, name) for name in RUN_IDENTITY]
    # one row per run, its metrics pivoted by the database: 100,000 rows rather than a million
    columns = [func.max(case((EpochMetric.metric == name, EpochMetric.value))) for name in metrics]
    query = (
        select(Run.id, *identity, *columns)
        .outerjoin(
            EpochMetric,
            and_(
                EpochMetric.run_id == Run.id,
                EpochMetric.epoch == Run.selected_epoch,
                EpochMetric.split == split,
            ),
        )
        .group_by(Run.id)  # the other columns depend on the primary key (SQL:1999, PostgreSQL)
        .order_by(Run.id)
    )
    if run_ids is None or len(set(run_ids)) > FEW_RUNS:
        # one pass over the setup beats many indexed look-ups
        rows = _fetch(engine, query.where(*conditions))
        if run_ids is not None:
            wanted = set(run_ids)
            rows = [row for row in rows if row[0] in wanted]
    else:
        ids = sorted(set(run_ids))
        rows = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start : start + IDS_PER_QUERY]
            rows += _fetch(engine, query.where(*conditions, Run.id.in_(chunk)))
    width = 1 + len(RUN_IDENTITY)
    index = pd.Index([row[0] for row in rows], name=RUN_ID)
    frame = pd.DataFrame([row[1:width] for row in rows], columns=list(RUN_IDENTITY), index=index)
    frame["lr"] = frame["lr"].astype(float)
    values = np.array([row[width:] for row in rows], dtype=float)  # None → NaN
    metric_frame = pd.DataFrame(
        values.reshape(len(rows), len(metrics)), columns=list(metrics), index=index
    )
    return pd.concat([frame, metric_frame], axis=1)


def selected_linear_scores(
    engine: Engine,
    setup: SetupKey,
    split: str,
    weights: dict[str, float],
    offset: float,
    methods: Sequence[str] | None = None,
    optimizers: Sequence[str] | None = None,
    kind: str = "mtl",
) -> pd.DataFrame:
    """Finished runs of one setup with ``score = offset + Σ_k weights[k] · M_k`` over their
    ``split`` metrics at the selected epoch, summed by the database (one row per run rather
    than one per metric); NaN unless the run stored every weighted metric.

    Indexed by run id (:data:`RUN_ID`); columns: :data:`RUN_IDENTITY`, ``score``.
    """
    conditions = _finished_in_setup(setup, kind, methods, optimizers)
    # NULL for the metrics without a weight and for diverged values: neither summed nor counted
    weighted = case(weights, value=EpochMetric.metric) * EpochMetric.value
    identity = [getattr(Run, name) for name in RUN_IDENTITY]
    query = (
        select(Run.id, *identity, func.sum(weighted), func.count(weighted))
        .join(
            EpochMetric, and_(EpochMetric.run_id == Run.id, EpochMetric.epoch == Run.selected_epoch)
        )
        .where(*conditions, EpochMetric.split == split)
        .group_by(Run.id)  # the other columns depend on the primary key (SQL:1999, PostgreSQL)
        .order_by(Run.id)
    )
    rows = _fetch(engine, query)
    frame = pd.DataFrame(rows, columns=["id", *RUN_IDENTITY, "total", "count"])
    complete = frame["count"] == len(weights)
    frame["score"] = np.where(complete, offset + frame["total"].astype(float), np.nan)
    frame["lr"] = frame["lr"].astype(float)
    return frame.set_index(pd.Index(frame["id"], name=RUN_ID)).drop(
        columns=["id", "total", "count"]
    )


def baseline_rows(engine: Engine, baseline_key: str) -> pd.DataFrame:
    """The stored single-task baseline of one setup: one row per (split, metric)."""
    columns = ["task", "split", "metric", "value", "std", "seeds", "lr", "source"]
    query = (
        select(*(getattr(Baseline, name) for name in columns))
        .where(Baseline.baseline_key == baseline_key)
        .order_by(Baseline.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(rows, columns=columns)


def single_task_learning_rates(engine: Engine, baseline_key: str) -> dict[str, list[float]]:
    """Task → the learning rates its finished single-task runs of this setup tried, sorted."""
    query = (
        select(Run.tasks, Run.lr)
        .where(
            Run.status == RunStatus.FINISHED.value,
            Run.kind == "stl",
            Run.baseline_key == baseline_key,
        )
        .group_by(Run.tasks, Run.lr)
        .order_by(Run.tasks, Run.lr)
    )
    tried: dict[str, list[float]] = {}
    with engine.connect() as connection:
        for task, lr in connection.execute(query):
            tried.setdefault(str(task), []).append(float(lr))
    return tried


def imported_results(
    engine: Engine,
    dataset: str | None = None,
    network: str | None = None,
    kind: str | None = None,
) -> pd.DataFrame:
    """Imported results, one row each: identity columns, ``metrics`` (a dict) and the import's
    ``file_name``."""
    columns = [
        "source",
        "kind",
        "dataset",
        "network",
        "tasks",
        "method",
        "optimizer",
        "lr",
        "seed",
        "metrics",
    ]
    query = (
        select(*(getattr(ImportedResult, name) for name in columns), ResultImport.file_name)
        .join(ResultImport, ResultImport.id == ImportedResult.import_id)
        .order_by(ImportedResult.id)
    )
    for name, value in (("dataset", dataset), ("network", network), ("kind", kind)):
        if value is not None:
            query = query.where(getattr(ImportedResult, name) == value)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(rows, columns=[*columns, "file_name"])


def runs_by_key_prefix(engine: Engine, prefixes: Sequence[str]) -> pd.DataFrame:
    """Runs whose key starts with one of ``prefixes``: run_key, kind, dataset, network, tasks,
    method, optimizer, lr, seed, status, selected_epoch, task_metrics."""
    columns = [
        "run_key",
        "kind",
        "dataset",
        "network",
        "tasks",
        "method",
        "optimizer",
        "lr",
        "seed",
        "status",
        "selected_epoch",
        "task_metrics",
    ]
    rows = []
    with engine.connect() as connection:
        for prefix in prefixes:
            query = select(*(getattr(Run, name) for name in columns)).where(
                Run.run_key.startswith(prefix, autoescape=True)
            )
            rows += [(prefix, *row) for row in connection.execute(query.order_by(Run.id))]
    return pd.DataFrame(rows, columns=["prefix", *columns])


def epoch_histories(engine: Engine, run_keys: Sequence[str]) -> pd.DataFrame:
    """Every stored epoch metric of the given runs: run_key, epoch, split, metric, value."""
    query = (
        select(Run.run_key, EpochMetric.epoch, EpochMetric.split, EpochMetric.metric)
        .add_columns(EpochMetric.value)
        .join(Run, EpochMetric.run_id == Run.id)
        .where(Run.run_key.in_(list(run_keys)))
        .order_by(Run.id, EpochMetric.epoch)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(rows, columns=["run_key", "epoch", "split", "metric", "value"])

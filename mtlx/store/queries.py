"""Read-only queries for the analyses: setups, selected-epoch metrics in wide form, imports.

Metrics are stored long (run, epoch, split, metric, value); the analyses want one row per run and
one column per (split, metric). The pivot is done by the database with one conditional aggregate
per column, so 100,000 runs come back as 100,000 rows rather than millions of long ones. Every
query here is plain SQL that SQLite and PostgreSQL both run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
from sqlalchemy import Engine, and_, case, func, select

from mtlx.store.schema import Baseline, EpochMetric, ImportedResult, ResultImport, Run, RunStatus

RUN_IDENTITY = ("run_key", "method", "optimizer", "lr", "seed", "selection_rule")


def _filtered(query, column, values: Sequence[str] | None):  # type: ignore[no-untyped-def]
    return query if values is None else query.where(column.in_(list(values)))


def finished_setups(
    engine: Engine,
    kind: str = "mtl",
    dataset: str | None = None,
    network: str | None = None,
) -> pd.DataFrame:
    """One row per (dataset, network, baseline_key, tasks) with finished runs of ``kind``.

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


def selected_metrics_wide(
    engine: Engine,
    baseline_key: str,
    tasks: str,
    columns: Sequence[tuple[str, str]],
    methods: Sequence[str] | None = None,
    optimizers: Sequence[str] | None = None,
    kind: str = "mtl",
) -> pd.DataFrame:
    """Finished runs of one setup at their selected epoch, one row each.

    Columns: :data:`RUN_IDENTITY`, then ``<split>/<metric>`` for every (split, metric) asked
    for — NaN where the run stored none (a diverged value is stored as NULL).
    """
    values = []
    for index, (split, metric) in enumerate(columns):
        matches = and_(EpochMetric.split == split, EpochMetric.metric == metric)
        values.append(func.max(case((matches, EpochMetric.value))).label(f"c{index}"))
    identity = [getattr(Run, name) for name in RUN_IDENTITY]
    query = (
        select(Run.id, *identity, *values)
        .join(
            EpochMetric,
            and_(EpochMetric.run_id == Run.id, EpochMetric.epoch == Run.selected_epoch),
        )
        .where(
            Run.status == RunStatus.FINISHED.value,
            Run.kind == kind,
            Run.baseline_key == baseline_key,
            Run.tasks == tasks,
            EpochMetric.split.in_(sorted({split for split, _ in columns})),
            EpochMetric.metric.in_(sorted({metric for _, metric in columns})),
        )
        .group_by(Run.id, *identity)
        .order_by(Run.id)
    )
    query = _filtered(query, Run.method, methods)
    query = _filtered(query, Run.optimizer, optimizers)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    names = ["id", *RUN_IDENTITY, *(f"{split}/{metric}" for split, metric in columns)]
    frame = pd.DataFrame(rows, columns=names).drop(columns="id")
    for name in names[1 + len(RUN_IDENTITY) :]:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    frame["lr"] = frame["lr"].astype(float)
    return frame


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

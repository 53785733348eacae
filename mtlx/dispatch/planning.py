"""Before anything is claimed or submitted: where each planned run stands, and whether the runs
can start at all.

:func:`classify` reads the database once (no torch): new, finished, running (where, heartbeat
age), failed, killed, and stale (a holder whose heartbeat is older than the stale window), and
which runs a sweep would start. :func:`preflight` checks, once per distinct setup, what would
otherwise fail every run of a sweep with the same traceback — the data folder, the task names,
the network on the data's resolution — and stops with one clear line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mtlx.dispatch.plan import RunPlan
from mtlx.errors import UserError
from mtlx.spec import stable_hash
from mtlx.store.entities import RunRecord
from mtlx.store.schema import RunStatus

if TYPE_CHECKING:
    from mtlx.store.runs import RunStore

STATES = ("new", "finished", "running", "stale", "failed", "killed")


class PreflightError(UserError, ValueError):
    """The sweep cannot run as planned (data, tasks, network); nothing was recorded."""


@dataclass(frozen=True)
class PlannedRun:
    plan: RunPlan
    state: str  # one of STATES
    record: RunRecord | None = None
    detail: str = ""  # where a running run runs, how old its heartbeat is

    @property
    def would_start(self) -> bool:
        return self.state not in ("finished", "running")


@dataclass
class Classification:
    runs: list[PlannedRun] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(run.state for run in self.runs)

    def to_start(self) -> list[RunPlan]:
        return [run.plan for run in self.runs if run.would_start]

    def in_state(self, state: str) -> list[PlannedRun]:
        return [run for run in self.runs if run.state == state]


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def classify(
    plans: Sequence[RunPlan],
    store: RunStore | None,
    stale_after: timedelta,
    now: datetime | None = None,
) -> Classification:
    """Where every plan stands in ``store`` (None: a database that does not exist yet)."""
    records = store.runs_by_key([plan.run_key for plan in plans]) if store is not None else {}
    if store is not None and now is None:
        now = store.server_time()
    classification = Classification()
    for plan in plans:
        record = records.get(plan.run_key)
        if record is None:
            classification.runs.append(PlannedRun(plan, "new"))
            continue
        if record.status == RunStatus.RUNNING.value:
            assert now is not None
            age = (now - record.heartbeat_at).total_seconds()
            where = f"host {record.host} pid {record.pid}"
            if record.slurm_job_id:
                where += f", Slurm job {record.slurm_job_id}"
            state = "stale" if age > stale_after.total_seconds() else "running"
            detail = f"{where}, epoch {record.epochs_completed}, heartbeat {_age(age)} ago"
            classification.runs.append(PlannedRun(plan, state, record, detail))
            continue
        state = record.status.lower()
        detail = ""
        if record.status in (RunStatus.FAILED.value, RunStatus.KILLED.value) and record.error:
            detail = record.error.strip().splitlines()[-1][:200]
        classification.runs.append(PlannedRun(plan, state, record, detail))
    return classification


def preflight(plans: Sequence[RunPlan], data_root: str | None, device: str) -> dict[str, object]:
    """Build each distinct dataset once, check its tasks, and build each network for the data's
    input shape (on the meta device: no memory, no time; every builder checks the shape it can
    take); the first problem stops the sweep. Returns the datasets built, by
    ``stable_hash(config.dataset)``, for this process's runs to reuse."""
    import torch

    from mtlx.data import build_dataset
    from mtlx.models import build_network

    root = Path(data_root) if data_root else None
    datasets: dict[str, object] = {}
    checked: set[str] = set()
    for plan in plans:
        config = plan.config
        key = stable_hash(
            {"dataset": config.dataset, "network": config.network, "tasks": list(config.tasks)}
        )
        if key in checked:
            continue
        checked.add(key)
        data_key = stable_hash(config.dataset)
        if data_key not in datasets:
            options = {k: v for k, v in config.dataset.items() if k != "name"}
            datasets[data_key] = build_dataset(config.dataset["name"], root, **options)
        data = datasets[data_key]
        known = [task.name for task in data.tasks]  # type: ignore[attr-defined]
        unknown = [name for name in config.tasks if name not in known]
        if unknown:
            raise PreflightError(
                f"{plan.experiment}: task(s) {', '.join(unknown)} are not tasks of dataset "
                f"{config.dataset['name']!r}; it has: {', '.join(known)}"
            )
        tasks = [data.task(name) for name in config.tasks]  # type: ignore[attr-defined]
        options = {k: v for k, v in config.network.items() if k != "name"}
        try:
            with torch.device("meta"):
                network = build_network(
                    config.network["name"],
                    tasks,
                    data.input_shape,
                    **options,  # type: ignore[attr-defined]
                )
                network(torch.zeros(2, *data.input_shape))  # type: ignore[attr-defined]
        except (RuntimeError, ValueError) as error:
            shape = "×".join(str(s) for s in data.input_shape)  # type: ignore[attr-defined]
            first = str(error).strip().splitlines()[0]
            raise PreflightError(
                f"{plan.experiment}: network {config.network['name']!r} cannot take the data of "
                f"{config.dataset['name']!r} (inputs {shape}): {first}"
            ) from None
    return datasets

"""Executors take planned runs and execute them; scale plugs in here.

``InProcessExecutor`` runs them one after another in this process (one ``import torch``,
datasets built once). Every executor's workers call :func:`mtlx.dispatch.worker.execute`, which
claims runs atomically in the store, so executors never touch training or the database schema.
"""

from __future__ import annotations

from collections.abc import Sequence

from mtlx.dispatch.plan import RunOutcome, RunPlan
from mtlx.dispatch.runtime import WorkerRuntime
from mtlx.dispatch.signals import StopRequest
from mtlx.dispatch.worker import execute


class InProcessExecutor:
    """Every run in this process, in order; a failing run is recorded and the next one starts.
    A signal stops the run in progress (KILLED, checkpointed) and starts no other."""

    def run(
        self, plans: Sequence[RunPlan], runtime: WorkerRuntime, stop: StopRequest
    ) -> list[RunOutcome]:
        outcomes = []
        for plan in plans:
            if stop.signal is not None:
                break
            outcomes.append(execute(plan, runtime, stop))
        return outcomes

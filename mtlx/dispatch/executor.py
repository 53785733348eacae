"""Executors take planned runs and execute them; scale plugs in here.

The sweep hands every planned, unfinished run to an executor. ``InProcessExecutor`` runs them one
after another in this process (one ``import torch``, datasets built once). Parallel GPU slots and
Slurm (through submitit) are further executors with the same ``run`` method: each worker calls
:func:`mtlx.dispatch.worker.execute`, which claims runs atomically in the store, so executors never
touch training or the database schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mtlx.dispatch.plan import RunOutcome, RunPlan
from mtlx.dispatch.worker import RunContext, execute
from mtlx.registry import Registry


class Executor(Protocol):
    def run(self, plans: Sequence[RunPlan], context: RunContext) -> list[RunOutcome]: ...


EXECUTORS: Registry[type[Executor]] = Registry("executor")


@EXECUTORS.register("local")
class InProcessExecutor:
    """Every run in this process, in order; a failing run is recorded and the next one starts."""

    def run(self, plans: Sequence[RunPlan], context: RunContext) -> list[RunOutcome]:
        return [execute(plan, context) for plan in plans]

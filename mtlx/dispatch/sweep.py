"""A sweep: plan → drop what is already finished → hand the rest to an executor."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from mtlx.dispatch.executor import Executor, InProcessExecutor
from mtlx.dispatch.plan import RunOutcome, RunPlan
from mtlx.dispatch.worker import RunContext
from mtlx.store.schema import RunStatus


@dataclass(frozen=True)
class SweepSummary:
    planned: int
    already_finished: int
    outcomes: list[RunOutcome]

    def counts(self) -> Counter[str]:
        return Counter(outcome.status for outcome in self.outcomes)


def unique_plans(plans: Sequence[RunPlan]) -> list[RunPlan]:
    """Plans in order, each run_key once (a grid may name the same config twice)."""
    seen: set[str] = set()
    unique = []
    for plan in plans:
        if plan.run_key not in seen:
            seen.add(plan.run_key)
            unique.append(plan)
    return unique


def run_sweep(
    plans: Sequence[RunPlan], context: RunContext, executor: Executor | None = None
) -> SweepSummary:
    plans = unique_plans(plans)
    statuses = context.store.statuses(plan.run_key for plan in plans)
    todo = [p for p in plans if statuses.get(p.run_key) != RunStatus.FINISHED.value]
    context.reporter.sweep_started(len(todo), len(plans) - len(todo))
    try:
        outcomes = (executor or InProcessExecutor()).run(todo, context)
    finally:
        context.reporter.sweep_finished()
    return SweepSummary(len(plans), len(plans) - len(todo), outcomes)

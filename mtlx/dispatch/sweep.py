"""A sweep: plan → drop what is already finished → hand the rest to an executor."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mtlx.dispatch.executors.local import LocalExecutor
from mtlx.dispatch.plan import RunOutcome, RunPlan, unique_plans
from mtlx.dispatch.runtime import WorkerRuntime
from mtlx.dispatch.signals import StopRequest
from mtlx.store.schema import RunStatus


@dataclass(frozen=True)
class SweepSummary:
    planned: int
    already_finished: int
    outcomes: list[RunOutcome]
    stopped_by: int | None = None  # the signal that stopped the sweep, if any

    def counts(self) -> Counter[str]:
        return Counter(outcome.status for outcome in self.outcomes)

    def skipped(self) -> list[RunOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "SKIPPED"]


def run_sweep(
    plans: Sequence[RunPlan],
    runtime: WorkerRuntime,
    stop: StopRequest | None = None,
    executor: LocalExecutor | None = None,
) -> SweepSummary:
    """Execute every plan not yet FINISHED; stops starting runs once a signal arrived.

    FAILED and KILLED runs are retried (resumed) only if they ended before the sweep started:
    nothing that fails or is cancelled during the sweep is taken again by it.
    """
    stop = stop or StopRequest()
    plans = unique_plans(plans)
    statuses = runtime.store.statuses(plan.run_key for plan in plans)
    todo = [p for p in plans if statuses.get(p.run_key) != RunStatus.FINISHED.value]
    runtime.policy = replace(runtime.policy, ended_before=runtime.store.server_time())
    runtime.reporter.sweep_started(len(todo), len(plans) - len(todo))
    try:
        outcomes = (executor or LocalExecutor()).run(todo, runtime, stop)
    finally:
        runtime.reporter.sweep_finished()
    return SweepSummary(len(plans), len(plans) - len(todo), outcomes, stop.signal)

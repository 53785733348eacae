"""What crosses every boundary of dispatch: a planned run and the outcome of executing it.

Plain, picklable values with no torch in sight, so that planning a sweep (and a dry run) stays
instant and a plan can be handed to another process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mtlx.spec import RunConfig


@dataclass(frozen=True)
class RunPlan:
    """One run to train: its resolved config, the experiment it belongs to, and how often to
    checkpoint it (an execution setting, not part of the run's identity)."""

    config: RunConfig
    experiment: str
    checkpoint_every: int = 1

    @property
    def run_key(self) -> str:
        return self.config.run_key

    def label(self) -> str:
        c = self.config
        return f"{c.method['name']} {c.optimizer['name']} lr={c.optimizer['lr']:g} seed={c.seed}"


@dataclass(frozen=True)
class RunOutcome:
    """How executing a plan ended: a run status (FINISHED, FAILED, KILLED), SKIPPED (not
    claimed: ``reason`` says why) or LOST (taken over by another worker while training)."""

    run_key: str
    status: str
    reason: str = ""
    error: str | None = None


def unique_plans(plans: Sequence[RunPlan]) -> list[RunPlan]:
    """Plans in order, each run_key once (a grid may name the same config twice)."""
    seen: set[str] = set()
    unique = []
    for plan in plans:
        if plan.run_key not in seen:
            seen.add(plan.run_key)
            unique.append(plan)
    return unique

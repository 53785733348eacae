"""The task contract: loss, metrics with directions, a meter accumulated over a whole split."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the contract imports no torch: task kinds and reports read Metric
    from torch import Tensor


@dataclass(frozen=True)
class Metric:
    """One scalar a task is scored by; ``name`` is stable and fully qualified (``seg.miou``)."""

    name: str
    higher_is_better: bool


class MetricMeter(ABC):
    """Accumulates a task's metrics over a whole split on the device; reads the host once."""

    @abstractmethod
    def update(self, prediction: Tensor, target: Tensor) -> None: ...

    @abstractmethod
    def compute(self) -> dict[str, float]:
        """The metrics over everything seen, keyed by their fully qualified names."""


class Task(ABC):
    """A task of a multi-task problem: ``loss(prediction, target)`` and its metrics."""

    name: str
    output_size: int
    metrics: tuple[Metric, ...]
    primary_metric: str  # picks the single-task baseline's learning rate

    @abstractmethod
    def loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        """The task's training loss, a scalar averaged over the batch."""

    @abstractmethod
    def meter(self) -> MetricMeter: ...

    def describe(self) -> dict[str, object]:
        """What identifies the task in a resolved config."""
        return {"name": self.name, "type": type(self).__name__, "output_size": self.output_size}

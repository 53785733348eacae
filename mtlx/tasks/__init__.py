"""Tasks: a loss, the metrics it is scored by, and each metric's direction.

A task knows nothing of the model or the method; ΔM and Pareto fronts are generic because every
metric carries its direction (higher or lower is better).
"""

from mtlx.tasks.base import Metric, MetricMeter, Task
from mtlx.tasks.classification import ClassificationTask

__all__ = ["ClassificationTask", "Metric", "MetricMeter", "Task"]

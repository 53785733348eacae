"""Tasks: a loss, the metrics it is scored by, and each metric's direction.

A task knows nothing of the model or the method; ΔM and Pareto fronts are generic because every
metric carries its direction (higher or lower is better).
"""

from mtlx.tasks.attributes import BinaryAttributeTask
from mtlx.tasks.base import Metric, MetricMeter, Task
from mtlx.tasks.classification import ClassificationTask
from mtlx.tasks.depth import DepthTask
from mtlx.tasks.normal import NormalTask
from mtlx.tasks.segmentation import SegmentationTask

__all__ = [
    "BinaryAttributeTask",
    "ClassificationTask",
    "DepthTask",
    "Metric",
    "MetricMeter",
    "NormalTask",
    "SegmentationTask",
    "Task",
]

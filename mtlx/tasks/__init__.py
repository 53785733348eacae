"""Tasks: a loss, the metrics it is scored by, and each metric's direction.

A task knows nothing of the model or the method; ΔM and Pareto fronts are generic because every
metric carries its direction (higher or lower is better). The kinds of task and metric
(:mod:`mtlx.tasks.kinds`: names, directions, how papers print them) import no torch; the task
classes load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from mtlx.tasks.base import Metric, MetricMeter, Task

_LAZY = {
    "BinaryAttributeTask": "mtlx.tasks.attributes",
    "ClassificationTask": "mtlx.tasks.classification",
    "DepthTask": "mtlx.tasks.depth",
    "NormalTask": "mtlx.tasks.normal",
    "SegmentationTask": "mtlx.tasks.segmentation",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mtlx.tasks' has no attribute {name!r}")


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

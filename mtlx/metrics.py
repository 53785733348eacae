"""Scoring predictions exactly as training records them (the tasks' meters, one code path).

For checking a published number or scoring a model trained elsewhere::

    from mtlx import metrics
    metrics.segmentation(logits, labels, num_classes=13)  # keys miou, pix_acc
    metrics.depth(depth_pred, depth_gt)  # keys abs_err, rel_err
    metrics.normal(normal_pred, normal_gt)  # keys mean, median, within_{11.25,22.5,30}

Each call treats its arguments as one whole split. The formulas (ignored label −1, depth 0 and
zero normals invalid, classes absent from both prediction and ground truth left out of mIoU) are
in :mod:`mtlx.tasks.segmentation`, :mod:`mtlx.tasks.depth` and :mod:`mtlx.tasks.normal`. All values
are plain floats; the normal thresholds are fractions, not percentages.
"""

from __future__ import annotations

from torch import Tensor

from mtlx.tasks import DepthTask, NormalTask, SegmentationTask, Task


def score(task: Task, prediction: Tensor, target: Tensor) -> dict[str, float]:
    """The task's metrics over ``(prediction, target)``, keyed without the ``<task>.`` prefix."""
    meter = task.meter()
    meter.update(prediction, target)
    prefix = f"{task.name}."
    return {name.removeprefix(prefix): value for name, value in meter.compute().items()}


def segmentation(prediction: Tensor, target: Tensor, num_classes: int) -> dict[str, float]:
    """mIoU and pixel accuracy; ``prediction`` N×C×H×W logits or N×H×W labels, ``target`` N×H×W."""
    return score(SegmentationTask(num_classes), prediction, target)


def depth(prediction: Tensor, target: Tensor) -> dict[str, float]:
    """Absolute and relative error over pixels with ``target ≠ 0``; both N×1×H×W."""
    return score(DepthTask(), prediction, target)


def normal(prediction: Tensor, target: Tensor) -> dict[str, float]:
    """Angular error statistics in degrees / fractions; both N×3×H×W, zero targets invalid."""
    return score(NormalTask(), prediction, target)

"""Depth estimation (NYUv2 metric depth, Cityscapes inverse depth): L1 loss, abs and rel error.

Valid pixels are those whose ground truth is non-zero (0 marks missing depth in both releases).
Over all valid pixels P of the split (sums accumulated, not a mean of batch means):

    abs_err = 1/|P| Σ_P |d̂ − d|        rel_err = 1/|P| Σ_P |d̂ − d| / d

Both lower is better. ``depth.rel_err`` on Cityscapes' inverse depth is large (tens to hundreds)
because small disparities divide; the seed paper's tables report it as is.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mtlx.tasks.base import MetricMeter, Task
from mtlx.tasks.kinds import DEPTH


def check_same_shape(task_name: str, prediction: Tensor, target: Tensor) -> None:
    if prediction.shape != target.shape:
        raise ValueError(
            f"{task_name}: prediction {tuple(prediction.shape)} and target "
            f"{tuple(target.shape)} must have the same shape (N×1×H×W)."
        )


class DepthErrorMeter(MetricMeter):
    """Sums of absolute and relative error and the valid-pixel count, kept on the device."""

    def __init__(self, task_name: str) -> None:
        self.task_name = task_name
        self.sums: Tensor | None = None  # [Σ|d̂−d|, Σ|d̂−d|/d, |P|] in float64

    def update(self, prediction: Tensor, target: Tensor) -> None:
        check_same_shape(self.task_name, prediction, target)
        prediction, target = prediction.detach().double(), target.double()
        valid = target != 0
        absolute = (prediction - target).abs() * valid
        relative = absolute / torch.where(valid, target, torch.ones_like(target))
        batch = torch.stack([absolute.sum(), relative.sum(), valid.sum().double()])
        self.sums = batch if self.sums is None else self.sums + batch

    def compute(self) -> dict[str, float]:
        if self.sums is None:
            raise ValueError(f"{self.task_name}: no pixels were scored")
        absolute, relative, count = self.sums.cpu().tolist()
        if count == 0:
            raise ValueError(f"{self.task_name}: no valid (non-zero ground truth) pixels")
        return {
            f"{self.task_name}.abs_err": absolute / count,
            f"{self.task_name}.rel_err": relative / count,
        }


class DepthTask(Task):
    """Per-pixel depth from an N×1×H×W prediction; L1 over valid pixels (seed paper Eq. 23)."""

    def __init__(self, name: str = "depth") -> None:
        self.name = name
        self.output_size = 1
        self.metrics = DEPTH.metrics(name)
        self.primary_metric = DEPTH.primary_metric(name)

    def loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        check_same_shape(self.name, prediction, target)
        valid = target != 0
        return ((prediction - target).abs() * valid).sum() / valid.sum().clamp_min(1)

    def meter(self) -> MetricMeter:
        return DepthErrorMeter(self.name)

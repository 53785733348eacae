"""Surface normal estimation: cosine loss and angular-error metrics over valid pixels.

The prediction is L2-normalised over its 3 channels; a pixel is valid when its ground-truth vector
is non-zero. With p̂ = p/‖p‖ and the angle θ = degrees(arccos(clamp(⟨p̂, g⟩, −1, 1))):

    loss         = 1 − mean over valid pixels of ⟨p̂, g⟩          (seed paper Eq. 24, MTAN)
    normal.mean  = mean θ over all valid pixels of the split     (lower is better)
    normal.median = the true median θ over the split (numpy's convention: the mean of the two
                    middle values for an even count)               (lower is better)
    normal.within_<t> = fraction of valid pixels with θ < t, t ∈ {11.25, 22.5, 30}
                    (a fraction in [0, 1], not a percentage; higher is better)

The median is exact: the meter keeps every valid pixel's angle on the device (4 bytes a pixel,
≈290 MB for NYUv2's 654 test images at 288×384) and selects the middle once at the end.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from mtlx.tasks.base import MetricMeter, Task
from mtlx.tasks.kinds import NORMAL

THRESHOLDS = (11.25, 22.5, 30.0)
THRESHOLD_NAMES = ("11.25", "22.5", "30")
INVALID_ANGLE = -1.0


def check_normal_shapes(task_name: str, prediction: Tensor, target: Tensor) -> None:
    if prediction.shape != target.shape or prediction.dim() != 4 or prediction.shape[1] != 3:
        raise ValueError(
            f"{task_name}: prediction {tuple(prediction.shape)} and target "
            f"{tuple(target.shape)} must both be N×3×H×W."
        )


def valid_normals(target: Tensor) -> Tensor:
    """N×H×W mask of pixels whose ground-truth normal is not the zero vector."""
    return (target != 0).any(dim=1)


def cosine(prediction: Tensor, target: Tensor) -> Tensor:
    """⟨p/‖p‖, g⟩ per pixel, N×H×W (the ground truth is already unit length)."""
    return (F.normalize(prediction, p=2, dim=1) * target).sum(dim=1)


class NormalAngleMeter(MetricMeter):
    """Keeps the angle of every valid pixel of the split (for the exact median)."""

    def __init__(self, task_name: str) -> None:
        self.task_name = task_name
        self.angles: list[Tensor] = []

    def update(self, prediction: Tensor, target: Tensor) -> None:
        check_normal_shapes(self.task_name, prediction, target)
        prediction, target = prediction.detach().float(), target.float()
        angles = torch.rad2deg(torch.arccos(cosine(prediction, target).clamp(-1.0, 1.0)))
        # invalid pixels get the impossible angle −1 and are dropped once in compute(): boolean
        # indexing here would read the valid count back to the host every batch (a NaN from a
        # diverged prediction stays, so the metrics come out NaN rather than silently partial)
        valid = valid_normals(target)
        self.angles.append(torch.where(valid, angles, INVALID_ANGLE).reshape(-1))

    def compute(self) -> dict[str, float]:
        angles = torch.cat(self.angles) if self.angles else torch.empty(0)
        angles = angles[angles != INVALID_ANGLE]
        count = angles.numel()
        if count == 0:
            raise ValueError(f"{self.task_name}: no valid (non-zero ground truth) pixels")
        middle_low = torch.kthvalue(angles, (count + 1) // 2).values
        middle_high = torch.kthvalue(angles, count // 2 + 1).values
        fractions = torch.stack([(angles < t).double().mean() for t in THRESHOLDS])
        summary = torch.cat(
            [
                angles.double().mean().reshape(1),
                ((middle_low.double() + middle_high.double()) / 2).reshape(1),
                fractions,
            ]
        ).tolist()  # the host is read here, once per split, never in update()
        mean, median, *within = summary
        if math.isnan(mean):  # a NaN prediction: no statistic of this split is meaningful
            median, within = math.nan, [math.nan] * len(within)
        return {
            f"{self.task_name}.mean": mean,
            f"{self.task_name}.median": median,
            **{
                f"{self.task_name}.within_{name}": value
                for name, value in zip(THRESHOLD_NAMES, within, strict=True)
            },
        }


class NormalTask(Task):
    """Per-pixel unit normals from an N×3×H×W prediction (normalised here, not in the network)."""

    def __init__(self, name: str = "normal") -> None:
        self.name = name
        self.output_size = 3
        self.metrics = NORMAL.metrics(name)
        self.primary_metric = NORMAL.primary_metric(name)

    def loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        check_normal_shapes(self.name, prediction, target)
        valid = valid_normals(target)
        similarity = (cosine(prediction, target) * valid).sum() / valid.sum().clamp_min(1)
        return 1 - similarity

    def meter(self) -> MetricMeter:
        return NormalAngleMeter(self.name)

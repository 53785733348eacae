"""Binary attributes (CelebA): one task per attribute, a single logit, BCE loss, accuracy.

Targets are 0/1 (the loader maps CelebA's −1/1). The head outputs N×1 logits; the loss squeezes
the last axis. ``<attr>.acc`` is the fraction of samples with (logit > 0) == target over the split.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from mtlx.tasks.base import MetricMeter, Task
from mtlx.tasks.kinds import CLASSIFICATION


def attribute_logits(task_name: str, prediction: Tensor, target: Tensor) -> Tensor:
    """N×1 (or N) logits as N, checked against the N targets."""
    logits = prediction.squeeze(-1) if prediction.dim() == 2 else prediction
    if logits.shape != target.shape:
        raise ValueError(
            f"{task_name}: prediction {tuple(prediction.shape)} must be N×1 logits for the "
            f"{tuple(target.shape)} targets."
        )
    return logits


class BinaryAccuracyMeter(MetricMeter):
    def __init__(self, task_name: str) -> None:
        self.task_name = task_name
        self.correct: Tensor | None = None
        self.count = 0

    def update(self, prediction: Tensor, target: Tensor) -> None:
        logits = attribute_logits(self.task_name, prediction, target)
        hits = ((logits > 0) == (target > 0.5)).sum()
        self.correct = hits if self.correct is None else self.correct + hits
        self.count += target.numel()

    def compute(self) -> dict[str, float]:
        if self.correct is None or self.count == 0:
            raise ValueError(f"{self.task_name}: no samples were scored")
        return {f"{self.task_name}.acc": float(self.correct) / self.count}


class BinaryAttributeTask(Task):
    """A yes/no attribute from one logit: BCE with logits (seed paper Eq. 25), ``<name>.acc``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.output_size = 1
        self.metrics = CLASSIFICATION.metrics(name)
        self.primary_metric = CLASSIFICATION.primary_metric(name)

    def loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        logits = attribute_logits(self.name, prediction, target)
        return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype))

    def meter(self) -> MetricMeter:
        return BinaryAccuracyMeter(self.name)

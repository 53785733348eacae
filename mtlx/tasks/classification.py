"""Multi-class classification: cross-entropy loss, accuracy over the split."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from mtlx.tasks.base import MetricMeter, Task
from mtlx.tasks.kinds import CLASSIFICATION


class AccuracyMeter(MetricMeter):
    def __init__(self, metric_name: str) -> None:
        self.metric_name = metric_name
        self.correct: Tensor | None = None
        self.count = 0

    def update(self, prediction: Tensor, target: Tensor) -> None:
        hits = (prediction.argmax(dim=1) == target).sum()
        self.correct = hits if self.correct is None else self.correct + hits
        self.count += target.numel()

    def compute(self) -> dict[str, float]:
        if self.count == 0:
            raise ValueError(f"{self.metric_name}: no samples were scored")
        return {self.metric_name: float(self.correct) / self.count}


class ClassificationTask(Task):
    """K-way classification from logits: cross-entropy loss, metric ``<name>.acc`` (a fraction)."""

    def __init__(self, name: str, num_classes: int) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, but got {num_classes}.")
        self.name = name
        self.output_size = num_classes
        self.metrics = CLASSIFICATION.metrics(name)
        self.primary_metric = CLASSIFICATION.primary_metric(name)

    def loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(prediction, target)

    def meter(self) -> MetricMeter:
        return AccuracyMeter(self.primary_metric)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "num_classes": self.output_size}

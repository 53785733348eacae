"""Semantic segmentation: cross-entropy loss; mIoU and pixel accuracy from one confusion matrix.

Metrics (DESIGN.md, "Metrics as the field computes them"), over all valid pixels of the split:

    C[g, p] = #pixels with ground truth g and prediction p      (ground truth −1 is ignored)
    IoU_c   = C[c, c] / (Σ_p C[c, p] + Σ_g C[g, c] − C[c, c]) = TP / (TP + FP + FN)
    mIoU    = mean of IoU_c over the classes that occur in the ground truth or the prediction
    pixAcc  = Σ_c C[c, c] / Σ C

A class absent from both the ground truth and the prediction of the whole split has no IoU
(0/0): it is left out of the mean, as torchmetrics (``ignore``/absent classes) and mmsegmentation
(``nanmean``) do, instead of turning the mean into NaN as LibMTL's ``np.mean`` does. A class that
is predicted but never in the ground truth counts with IoU 0. With every class present (the usual
case on a full test split) the two conventions agree.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from mtlx.tasks.base import MetricMeter, Task
from mtlx.tasks.kinds import SEGMENTATION

IGNORE_INDEX = -1


def predicted_labels(prediction: Tensor, target: Tensor) -> Tensor:
    """Labels from N×C×H×W logits (arg-max over C) or N×H×W labels passed through."""
    if prediction.dim() == target.dim() + 1:
        return prediction.argmax(dim=1)
    if prediction.shape != target.shape:
        raise ValueError(
            f"segmentation prediction must be N×C×H×W logits or N×H×W labels matching the target "
            f"{tuple(target.shape)}, but got {tuple(prediction.shape)}."
        )
    return prediction.long()


class ConfusionMatrixMeter(MetricMeter):
    """One K×K confusion matrix over the split, accumulated on the device.

    The counting is a bincount of ``g·K + p`` written as a 1-D ``scatter_add_`` into K² + 2 fixed
    bins: ignored pixels go to bin K², labels outside −1..K−1 to bin K² + 1. The fixed shape means
    nothing is read back to the host per batch (``torch.bincount`` sizes its output from the data,
    which synchronises), and integer 1-D scatter-add is deterministic on CUDA.
    """

    def __init__(self, task_name: str, num_classes: int) -> None:
        self.task_name = task_name
        self.num_classes = num_classes
        self.counts: Tensor | None = None

    def update(self, prediction: Tensor, target: Tensor) -> None:
        k = self.num_classes
        labels = predicted_labels(prediction, target).reshape(-1)
        target = target.long().reshape(-1)
        in_range = (target >= 0) & (target < k) & (labels >= 0) & (labels < k)
        cells = torch.where(in_range, target * k + labels, k * k + 1)
        cells = torch.where(target == IGNORE_INDEX, k * k, cells)
        if self.counts is None:
            self.counts = torch.zeros(k * k + 2, dtype=torch.int64, device=cells.device)
        self.counts.scatter_add_(0, cells, torch.ones_like(cells))

    def confusion_matrix(self) -> Tensor:
        """The K×K matrix on the host, rows = ground truth, columns = prediction."""
        if self.counts is None:
            raise ValueError(f"{self.task_name}: no pixels were scored")
        k = self.num_classes
        counts = self.counts.cpu()
        if int(counts[k * k + 1]) > 0:
            raise ValueError(
                f"{self.task_name}: {int(counts[k * k + 1])} pixels had a label outside "
                f"-1..{k - 1} (ground truth or prediction)"
            )
        return counts[: k * k].reshape(k, k)

    def compute(self) -> dict[str, float]:
        matrix = self.confusion_matrix().double()
        if float(matrix.sum()) == 0:
            raise ValueError(f"{self.task_name}: no valid (non-ignored) pixels were scored")
        true_positives = matrix.diag()
        union = matrix.sum(dim=0) + matrix.sum(dim=1) - true_positives
        present = union > 0  # absent from ground truth and prediction: excluded (module docstring)
        iou = true_positives[present] / union[present]
        return {
            f"{self.task_name}.miou": float(iou.mean()),
            f"{self.task_name}.pix_acc": float(true_positives.sum() / matrix.sum()),
        }


class SegmentationTask(Task):
    """K-class segmentation from N×K×H×W logits; targets N×H×W integer labels, −1 ignored.

    Loss: cross-entropy averaged over the batch's valid pixels (Eq. 22 of the seed paper).
    Metrics: ``<name>.miou`` (primary) and ``<name>.pix_acc``, fractions, higher is better.
    """

    def __init__(self, num_classes: int, name: str = "seg") -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, but got {num_classes}.")
        self.name = name
        self.num_classes = num_classes
        self.output_size = num_classes
        self.metrics = SEGMENTATION.metrics(name)
        self.primary_metric = SEGMENTATION.primary_metric(name)

    def loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        target = target.long()
        total = F.cross_entropy(prediction, target, ignore_index=IGNORE_INDEX, reduction="sum")
        # a batch whose pixels are all ignored gives 0, not the NaN of a mean over nothing
        return total / (target != IGNORE_INDEX).sum().clamp_min(1)

    def meter(self) -> MetricMeter:
        return ConfusionMatrixMeter(self.name, self.num_classes)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "num_classes": self.num_classes}

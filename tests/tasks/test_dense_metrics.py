"""Segmentation, depth and normal metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mtlx import metrics
from mtlx.tasks import DepthTask, NormalTask, SegmentationTask

# ---------------------------------------------------------------------------- segmentation

# 4 classes; class 3 appears in neither ground truth nor prediction; pixel (1, 1) is ignored.
SEG_TARGET = torch.tensor([[[0, 0, 1], [1, -1, 2]]])
SEG_LABELS = torch.tensor([[[0, 1, 1], [1, 2, 2]]])
# confusion (g, p): (0,0)=1 (0,1)=1 (1,1)=2 (2,2)=1 → IoU: 1/2, 2/3, 1/1; pixAcc 4/5
SEG_MIOU = (1 / 2 + 2 / 3 + 1) / 3
SEG_PIX_ACC = 4 / 5


def one_hot_logits(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    return F.one_hot(labels.clamp_min(0), num_classes).permute(0, 3, 1, 2).float() * 5.0


def test_segmentation_by_hand_absent_class_excluded_and_ignored_pixels_skipped():
    scores = metrics.segmentation(SEG_LABELS, SEG_TARGET, num_classes=4)
    assert scores == pytest.approx({"miou": SEG_MIOU, "pix_acc": SEG_PIX_ACC})


def test_segmentation_logits_and_labels_agree():
    logits = one_hot_logits(SEG_LABELS, 4)
    assert metrics.segmentation(logits, SEG_TARGET, 4) == metrics.segmentation(
        SEG_LABELS, SEG_TARGET, 4
    )


def test_class_predicted_but_absent_from_ground_truth_counts_as_zero_iou():
    target = torch.tensor([[[0, 0, 0, 0]]])
    labels = torch.tensor([[[0, 0, 0, 1]]])
    # class 0: TP 3, FN 1 → 3/4; class 1: TP 0, FP 1 → 0; class 2 absent → excluded
    scores = metrics.segmentation(labels, target, num_classes=3)
    assert scores["miou"] == pytest.approx((3 / 4 + 0) / 2)
    assert scores["pix_acc"] == pytest.approx(3 / 4)


def test_one_confusion_matrix_over_the_split_not_a_mean_of_batches():
    task = SegmentationTask(3)
    meter = task.meter()
    first_target, first_labels = torch.tensor([[[0, 0, 0, 1]]]), torch.tensor([[[0, 0, 0, 0]]])
    second_target, second_labels = torch.tensor([[[1, 1]]]), torch.tensor([[[1, 1]]])
    meter.update(first_labels, first_target)
    meter.update(second_labels, second_target)
    # split: class 0 TP 3 FP 1 → 3/4; class 1 TP 2 FN 1 → 2/3; pixAcc 5/6
    scores = meter.compute()
    assert scores["seg.miou"] == pytest.approx((3 / 4 + 2 / 3) / 2)
    assert scores["seg.pix_acc"] == pytest.approx(5 / 6)
    batch_means = (0.75 * 1 + 1.0) / 2  # what averaging per-batch pixAcc would give
    assert scores["seg.pix_acc"] != pytest.approx(batch_means)


def test_segmentation_loss_ignores_minus_one_and_survives_an_all_ignored_batch():
    task = SegmentationTask(4)
    logits = torch.randn(1, 4, 2, 3)
    loss = task.loss(logits, SEG_TARGET)
    valid = SEG_TARGET[0] != -1
    manual = F.cross_entropy(
        logits[0].permute(1, 2, 0)[valid], SEG_TARGET[0][valid], reduction="mean"
    )
    assert loss.item() == pytest.approx(manual.item(), rel=1e-6)
    assert task.loss(logits, torch.full((1, 2, 3), -1)).item() == 0.0


def test_label_outside_the_classes_is_reported():
    meter = SegmentationTask(3).meter()
    meter.update(torch.tensor([[[0, 1]]]), torch.tensor([[[0, 7]]]))
    with pytest.raises(ValueError, match=r"outside -1\.\.2"):
        meter.compute()


def test_segmentation_metadata():
    task = SegmentationTask(13)
    assert [m.name for m in task.metrics] == ["seg.miou", "seg.pix_acc"]
    assert all(m.higher_is_better for m in task.metrics)
    assert task.primary_metric == "seg.miou" and task.output_size == 13


# ---------------------------------------------------------------------------- depth


def test_depth_errors_by_hand_over_valid_pixels():
    prediction = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    target = torch.tensor([[[[2.0, 0.0], [1.0, 4.0]]]])  # (0, 1) invalid
    # |1−2| = 1, |3−1| = 2, |4−4| = 0 → abs 3/3; rel 1/2 + 2/1 + 0 = 2.5 → 2.5/3
    assert metrics.depth(prediction, target) == pytest.approx({"abs_err": 1.0, "rel_err": 2.5 / 3})


def test_depth_sums_over_the_split_not_a_mean_of_batch_means():
    meter = DepthTask().meter()
    meter.update(torch.tensor([[[[2.0]]]]), torch.tensor([[[[1.0]]]]))  # 1 pixel, error 1
    meter.update(torch.zeros(1, 1, 1, 3), torch.tensor([[[[1.0, 1.0, 1.0]]]]))  # 3 pixels, 1 each
    meter.update(torch.full((1, 1, 1, 2), 5.0), torch.zeros(1, 1, 1, 2))  # all invalid
    scores = meter.compute()
    assert scores["depth.abs_err"] == pytest.approx(4 / 4)
    meter = DepthTask().meter()
    meter.update(torch.tensor([[[[3.0]]]]), torch.tensor([[[[1.0]]]]))  # error 2 on 1 pixel
    meter.update(torch.zeros(1, 1, 1, 3), torch.tensor([[[[1.0, 1.0, 1.0]]]]))  # error 1 on 3
    assert meter.compute()["depth.abs_err"] == pytest.approx(5 / 4)  # batch means would give 1.5


def test_depth_loss_is_l1_over_valid_pixels():
    prediction = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    target = torch.tensor([[[[2.0, 0.0], [1.0, 4.0]]]])
    assert DepthTask().loss(prediction, target).item() == pytest.approx(1.0)
    assert DepthTask().loss(prediction, torch.zeros_like(target)).item() == 0.0


def test_depth_metadata():
    task = DepthTask()
    assert [(m.name, m.higher_is_better) for m in task.metrics] == [
        ("depth.abs_err", False),
        ("depth.rel_err", False),
    ]
    assert task.primary_metric == "depth.abs_err"


# ---------------------------------------------------------------------------- normals


def tilted(degrees: float) -> list[float]:
    """A unit vector at ``degrees`` from +z in the x–z plane."""
    return [math.sin(math.radians(degrees)), 0.0, math.cos(math.radians(degrees))]


def normal_example() -> tuple[torch.Tensor, torch.Tensor]:
    """Six pixels: angles 0, 10, 25, 45, 180 and one invalid (zero ground truth)."""
    ground_truth = [[0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 0]]
    predictions = [
        [0, 0, 2.0],  # 0° (prediction not unit: normalised first)
        [v * 3 for v in tilted(10)],  # 10°
        tilted(25),  # 25°
        [1, 1, 0],  # 45°
        [0, -1, 0],  # 180°
        [1, 2, 3],  # ground truth invalid
    ]

    def to_image(vectors):  # 6 vectors → 1×3×2×3
        return torch.tensor(vectors, dtype=torch.float32).T.reshape(1, 3, 2, 3)

    return to_image(predictions), to_image(ground_truth)


def test_normal_angles_by_hand():
    prediction, target = normal_example()
    scores = metrics.normal(prediction, target)
    # angles {0, 10, 25, 45, 180}: mean 52, median 25, below 11.25 / 22.5 / 30: 2, 2, 3 of 5
    assert scores["mean"] == pytest.approx(52.0, abs=0.02)
    assert scores["median"] == pytest.approx(25.0, abs=0.02)
    assert scores["within_11.25"] == pytest.approx(0.4)
    assert scores["within_22.5"] == pytest.approx(0.4)
    assert scores["within_30"] == pytest.approx(0.6)


def test_normal_median_is_exact_over_batches_even_count():
    generator = torch.Generator().manual_seed(0)
    meter = NormalTask().meter()
    angles = []
    for _ in range(3):
        prediction = torch.randn(2, 3, 4, 5, generator=generator)
        target = F.normalize(torch.randn(2, 3, 4, 5, generator=generator), dim=1)
        target[:, :, 0, 0] = 0  # invalid
        meter.update(prediction, target)
        cos = (F.normalize(prediction, dim=1) * target).sum(1).clamp(-1, 1)
        angles.append(torch.rad2deg(torch.arccos(cos))[(target != 0).any(1)])
    every = torch.cat(angles).numpy().astype(np.float64)
    assert every.size % 2 == 0
    scores = meter.compute()
    assert scores["normal.median"] == pytest.approx(float(np.median(every)), abs=1e-4)
    assert scores["normal.mean"] == pytest.approx(float(every.mean()), abs=1e-4)
    assert scores["normal.within_30"] == pytest.approx(float((every < 30).mean()))


def test_normal_loss_is_one_minus_mean_cosine_over_valid_pixels():
    prediction, target = normal_example()
    cosines = [1.0, math.cos(math.radians(10)), math.cos(math.radians(25)), math.sqrt(0.5), -1.0]
    expected = 1 - sum(cosines) / 5
    assert NormalTask().loss(prediction, target).item() == pytest.approx(expected, abs=1e-6)


def test_normal_metadata():
    task = NormalTask()
    assert [(m.name, m.higher_is_better) for m in task.metrics] == [
        ("normal.mean", False),
        ("normal.median", False),
        ("normal.within_11.25", True),
        ("normal.within_22.5", True),
        ("normal.within_30", True),
    ]
    assert task.primary_metric == "normal.mean" and task.output_size == 3


def test_no_valid_pixels_is_an_error_not_a_number():
    with pytest.raises(ValueError, match="no valid"):
        metrics.normal(torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="no valid"):
        metrics.depth(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="no valid"):
        metrics.segmentation(torch.zeros(1, 2, 2), torch.full((1, 2, 2), -1), 3)


def test_a_nan_prediction_makes_every_normal_statistic_nan():
    prediction, target = normal_example()
    prediction[0, :, 0, 1] = float("nan")
    scores = metrics.normal(prediction, target)
    assert all(math.isnan(value) for value in scores.values())

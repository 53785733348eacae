"""CelebA's binary attribute task: one logit, BCE, accuracy."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mtlx.tasks import BinaryAttributeTask


def test_accuracy_by_hand_and_over_batches():
    task = BinaryAttributeTask("Smiling")
    meter = task.meter()
    meter.update(torch.tensor([[2.0], [-1.0]]), torch.tensor([1.0, 0.0]))  # both right
    meter.update(torch.tensor([[0.5], [-3.0]]), torch.tensor([0.0, 0.0]))  # wrong, right
    assert meter.compute() == {"Smiling.acc": pytest.approx(0.75)}


def test_loss_is_bce_with_logits_on_squeezed_logits():
    task = BinaryAttributeTask("Male")
    logits = torch.tensor([[2.0], [-1.0], [0.5]])
    targets = torch.tensor([1.0, 0.0, 0.0])
    expected = F.binary_cross_entropy_with_logits(logits[:, 0], targets)
    assert task.loss(logits, targets).item() == pytest.approx(expected.item())


def test_metadata_and_shape_check():
    task = BinaryAttributeTask("Smiling")
    assert task.output_size == 1 and task.primary_metric == "Smiling.acc"
    assert task.metrics[0].higher_is_better
    with pytest.raises(ValueError, match="N×1 logits"):
        task.loss(torch.zeros(3, 2), torch.zeros(3))

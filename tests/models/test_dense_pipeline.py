"""A fixture dataset through a DataLoader, a network, the task losses and the meters."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from mtlx.data import build_dataset
from mtlx.data.fixtures import write_fixture
from mtlx.models import build_network


def test_nyuv2_fixture_through_segnet(tmp_path: Path):
    root = write_fixture("nyuv2", tmp_path, n=4, height=32, width=64)
    splits = build_dataset("nyuv2", root, val_size=2, augment=True)
    network = build_network("segnet", splits.tasks, splits.input_shape)
    torch.manual_seed(0)
    inputs, targets = next(iter(DataLoader(splits.train, batch_size=2, shuffle=True)))
    outputs = network(inputs)
    losses = torch.stack(
        [task.loss(outputs[task.name], targets[task.name]) for task in splits.tasks]
    )
    losses.sum().backward()
    assert torch.isfinite(losses).all()
    network.eval()
    meters = {task.name: task.meter() for task in splits.tasks}
    with torch.no_grad():
        for inputs, targets in DataLoader(splits.test, batch_size=3):
            outputs = network(inputs)
            for task in splits.tasks:
                meters[task.name].update(outputs[task.name], targets[task.name])
    scores = {name: value for meter in meters.values() for name, value in meter.compute().items()}
    assert set(scores) == {m.name for task in splits.tasks for m in task.metrics}
    assert all(math.isfinite(value) for value in scores.values())
    assert 0 <= scores["seg.miou"] <= 1 and 0 <= scores["normal.within_30"] <= 1

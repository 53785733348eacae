"""Every registered method trains MultiLeNet on MultiMNIST with every optimizer."""

from __future__ import annotations

import pytest
import torch

from mtlx.data import DatasetSplits, build_dataset
from mtlx.engine.step import TrainingStep
from mtlx.methods import METHODS, build_method
from mtlx.models import build_network
from mtlx.optim import OPTIMIZERS, build_optimizer

LEARNING_RATES = {"adam": 1e-3, "sgd": 1e-2, "signsgd": 1e-3}


@pytest.fixture(scope="module")
def multimnist() -> DatasetSplits:
    return build_dataset("multimnist", train_pairs=256, val_pairs=64, test_pairs=64)


@pytest.mark.parametrize("optimizer_name", OPTIMIZERS.names())
@pytest.mark.parametrize("method_name", METHODS.names())
def test_trains_without_nan_and_moves_the_parameters(
    multimnist: DatasetSplits, method_name: str, optimizer_name: str
) -> None:
    torch.manual_seed(0)
    network = build_network("multilenet", multimnist.tasks, multimnist.input_shape)
    method = build_method(method_name, len(multimnist.tasks))
    parameters = list(network.parameters()) + method.parameters()
    optimizer = build_optimizer(
        optimizer_name,
        [{"params": parameters}],
        lr=LEARNING_RATES.get(optimizer_name, 1e-3),
        weight_decay=0.0,
    )
    step = TrainingStep(network, method, multimnist.tasks, optimizer, jacobian_mode="loop")
    before = {name: p.detach().clone() for name, p in network.named_parameters()}
    for start in (0, 16):
        ((inputs, targets),) = multimnist.train.__getitems__(list(range(start, start + 16)))
        losses = step(inputs, targets)
        assert losses.shape == (2,) and torch.isfinite(losses).all()
    after = dict(network.named_parameters())
    assert all(torch.isfinite(p).all() for p in after.values())
    for part in ("encoder.", "heads.left.", "heads.right."):
        assert any(
            not torch.equal(before[name], p.detach())
            for name, p in after.items()
            if name.startswith(part)
        ), f"{method_name}/{optimizer_name} left {part} unchanged"

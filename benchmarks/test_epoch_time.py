"""Wall time of one MultiMNIST training epoch and one evaluation pass (pytest-benchmark).

Run with ``make bench`` (not part of ``make test``: timings are measurements, not assertions).
Setting: 20,000 training pairs, batch 256, MultiLeNet, EW + Adam, on the CPU threads torch uses.
"""

from __future__ import annotations

import pytest
import torch

from mtlx.data import build_dataset
from mtlx.engine.step import TrainingStep
from mtlx.engine.trainer import evaluate, make_loader, train_epoch
from mtlx.methods import build_method
from mtlx.models import build_network
from mtlx.optim import build_optimizer


@pytest.fixture(scope="module")
def multimnist():
    return build_dataset("multimnist")


@pytest.mark.parametrize("method_name", ["ew", "uw"])
def test_training_epoch(benchmark, multimnist, method_name: str) -> None:
    torch.manual_seed(0)
    network = build_network("multilenet", multimnist.tasks, multimnist.input_shape)
    method = build_method(method_name, len(multimnist.tasks))
    groups = [{"params": list(network.parameters())}]
    if method.parameters():
        groups.append({"params": method.parameters(), "weight_decay": 0.0})
    optimizer = build_optimizer("adam", groups, lr=1e-3, weight_decay=0.0)
    step = TrainingStep(network, method, multimnist.tasks, optimizer)
    loader = make_loader(multimnist.train, 256, True, 0, 0, "cpu")
    benchmark.pedantic(
        train_epoch,
        args=(step, method, multimnist.tasks, loader, torch.device("cpu")),
        rounds=5,
        warmup_rounds=1,
    )


def test_evaluation_pass(benchmark, multimnist) -> None:
    network = build_network("multilenet", multimnist.tasks, multimnist.input_shape)
    loader = make_loader(multimnist.test, 1000, False, 0, 0, "cpu")
    benchmark.pedantic(
        evaluate,
        args=(network, multimnist.tasks, loader, torch.device("cpu")),
        rounds=5,
        warmup_rounds=1,
    )

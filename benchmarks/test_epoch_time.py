"""Wall time of one MultiMNIST training epoch and one evaluation pass (pytest-benchmark).

Run with ``make bench`` (not part of ``make test``: timings are measurements, not assertions).
Setting: 20,000 training pairs, batch 256, MultiLeNet, EW or UW + Adam, on the CPU threads torch
uses. An epoch is what ``TrainingRun.train_epoch`` does: the training pass, then validation and
test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mtlx.data import build_dataset
from mtlx.engine.trainer import TrainingRun, evaluate
from mtlx.spec import load_spec

EXPERIMENT = Path(__file__).resolve().parents[1] / "experiments" / "multimnist.yaml"


@pytest.fixture(scope="module")
def multimnist():
    return build_dataset("multimnist")


def training_run(method: str, data) -> TrainingRun:
    spec = load_spec(str(EXPERIMENT)).with_overrides(["training.epochs=100"])
    config = spec.run_config(spec.tasks, method, "adam", 1e-3, 0)
    return TrainingRun(config, data, "cpu")


@pytest.mark.parametrize("method_name", ["ew", "uw"])
def test_training_epoch(benchmark, multimnist, method_name: str) -> None:
    run = training_run(method_name, multimnist)
    benchmark.pedantic(run.train_epoch, rounds=5, warmup_rounds=1)


def test_evaluation_pass(benchmark, multimnist) -> None:
    run = training_run("ew", multimnist)
    benchmark.pedantic(
        evaluate,
        args=(run.network, run.tasks, run.eval_loaders["test"], torch.device("cpu")),
        rounds=5,
        warmup_rounds=1,
    )

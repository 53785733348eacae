"""What a checkpoint costs: NYUv2 / SegNet at the paper's 288×384 and batch 8, written as training
writes it (``TrainingRun.state_dict()`` then an atomic, fsynced write), beside a training step and
an evaluation batch of the same run.

Run with ``make bench``. An epoch of the protocol is 80 training steps (636 images at batch 8) and
the evaluation of 159 + 654 images (102 batches of 8): the README quotes the checkpoint's write
time as a fraction of that epoch, from these three medians.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mtlx.data import build_dataset
from mtlx.data.fixtures import write_fixture
from mtlx.engine.checkpoint import save_atomically
from mtlx.engine.trainer import TrainingRun, to_device
from mtlx.spec import load_spec

EXPERIMENT = Path(__file__).resolve().parents[1] / "experiments" / "nyuv2.yaml"


@pytest.fixture(scope="module")
def segnet_run(tmp_path_factory) -> TrainingRun:
    root = write_fixture("nyuv2", tmp_path_factory.mktemp("nyuv2"), 10, 0)
    spec = load_spec(str(EXPERIMENT)).with_overrides(
        ["dataset.val_size=2", "dataset.augment=false", "training.epochs=1"]
    )
    options = {k: v for k, v in spec.dataset.items() if k != "name"}
    data = build_dataset("nyuv2", root, **options)
    config = spec.run_config(spec.tasks, "ew", "adam", 1e-4, 0)
    return TrainingRun(config, data, "cpu")


@pytest.fixture(scope="module")
def batch(segnet_run: TrainingRun):
    inputs, targets = to_device(next(iter(segnet_run.eval_loaders["test"])), torch.device("cpu"))
    return inputs[:8], {task: target[:8] for task, target in targets.items()}


def test_training_step(benchmark, segnet_run: TrainingRun, batch) -> None:
    segnet_run.network.train()
    benchmark.pedantic(segnet_run.step, args=batch, rounds=3, warmup_rounds=1)


def test_evaluation_batch(benchmark, segnet_run: TrainingRun, batch) -> None:
    segnet_run.network.eval()

    @torch.no_grad()
    def forward() -> None:
        segnet_run.network(batch[0])

    benchmark.pedantic(forward, rounds=5, warmup_rounds=1)


def test_checkpoint_write(benchmark, segnet_run: TrainingRun, batch, tmp_path: Path) -> None:
    segnet_run.network.train()
    segnet_run.step(*batch)  # Adam's moments exist, as in any checkpoint after the first step
    path = tmp_path / "a1-e1.pt"
    size = benchmark.pedantic(
        lambda: save_atomically(segnet_run.state_dict(), path), rounds=5, warmup_rounds=1
    )
    benchmark.extra_info["checkpoint_megabytes"] = round(size / 2**20, 1)

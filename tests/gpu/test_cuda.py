"""The CUDA path: every method trains on the GPU, metrics agree with the CPU, a run records its GPU.

Collected everywhere, run only where CUDA is available (CI has no GPU; these run on a lent one).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from mtlx import metrics
from mtlx.cli import app
from mtlx.data import build_dataset
from mtlx.engine.step import TrainingStep
from mtlx.methods import METHODS, build_method
from mtlx.models import build_network
from mtlx.optim import build_optimizer
from mtlx.store.database import open_database
from mtlx.store.runs import RunStore

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def multimnist():
    return build_dataset("multimnist", train_pairs=512, val_pairs=64, test_pairs=64)


@pytest.mark.parametrize("method_name", METHODS.names())
def test_every_method_trains_on_the_gpu(multimnist, method_name: str) -> None:
    torch.manual_seed(0)
    device = torch.device("cuda")
    network = build_network("multilenet", multimnist.tasks, multimnist.input_shape).to(device)
    method = build_method(method_name, len(multimnist.tasks)).to("cuda")
    groups = [{"params": list(network.parameters())}]
    if method.parameters():
        groups.append({"params": method.parameters(), "weight_decay": 0.0})
    optimizer = build_optimizer("adam", groups, lr=1e-3, weight_decay=0.0)
    step = TrainingStep(network, method, multimnist.tasks, optimizer)
    before = [p.detach().clone() for p in network.parameters()]
    inputs, targets = multimnist.train.__getitems__(list(range(128)))[0]
    for _ in range(3):
        losses = step(inputs.to(device), {k: v.to(device) for k, v in targets.items()})
    assert losses.device.type == "cuda" and torch.isfinite(losses).all()
    assert any(not torch.equal(a, b) for a, b in zip(before, network.parameters(), strict=True))
    if method.task_weights is not None:
        assert method.task_weights.device.type == "cuda"


def test_dense_metrics_agree_between_cpu_and_gpu() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 13, 16, 24, generator=generator)
    labels = torch.randint(-1, 13, (2, 16, 24), generator=generator)
    depth_pred = torch.rand(2, 1, 16, 24, generator=generator)
    depth_true = torch.rand(2, 1, 16, 24, generator=generator) * (torch.rand(2, 1, 16, 24) > 0.2)
    normal_pred = torch.randn(2, 3, 16, 24, generator=generator)
    normal_true = torch.nn.functional.normalize(
        torch.randn(2, 3, 16, 24, generator=generator), dim=1
    )
    cases = [
        (metrics.segmentation, (logits, labels), {"num_classes": 13}),
        (metrics.depth, (depth_pred, depth_true), {}),
        (metrics.normal, (normal_pred, normal_true), {}),
    ]
    for score, arrays, options in cases:
        on_cpu = score(*arrays, **options)
        on_gpu = score(*(a.cuda() for a in arrays), **options)
        assert on_cpu.keys() == on_gpu.keys()
        for key in on_cpu:
            assert on_gpu[key] == pytest.approx(on_cpu[key], rel=1e-5, abs=1e-6), key


def test_a_run_on_the_gpu_records_its_device(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MTLX_EXPERIMENTS", str(REPO / "experiments"))
    db = str(tmp_path / "gpu.sqlite")
    result = CliRunner().invoke(
        app,
        [
            "train",
            "multimnist",
            "--device",
            "cuda",
            "--epochs",
            "2",
            "--db",
            db,
            "--set",
            "dataset.train_pairs=2000",
            "--method",
            "uw",
        ],
    )
    assert result.exit_code == 0, result.output
    run = RunStore(open_database(db)).runs_frame().iloc[0]
    assert run["status"] == "FINISHED"
    assert run["device"].startswith("cuda") and torch.cuda.get_device_name() in run["device"]

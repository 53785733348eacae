"""Gradient similarity (Section 4.2): the measures against a hand-computed loop, what identical
samples and identical tasks must give, a probe that leaves training exactly as it was, and the
command's numbers in the database."""

from __future__ import annotations

import json
import math
from itertools import combinations
from pathlib import Path

import pytest
import torch

from mtlx.data import build_dataset
from mtlx.engine.trainer import StepEvent, TrainingRun
from mtlx.models import build_network
from mtlx.models.base import MultiTaskNetwork
from mtlx.spec import load_spec
from mtlx.store.database import open_database
from mtlx.store.studies import StudyStore
from mtlx.studies.grads import (
    COMPARISONS,
    MEASURES,
    GradientProbe,
    gradient_similarities,
    metric_name,
    per_sample_task_gradients,
)
from mtlx.tasks import ClassificationTask

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = str(REPO / "experiments" / "multimnist.yaml")
TINY = (
    "dataset.train_pairs=128",
    "dataset.val_pairs=32",
    "dataset.test_pairs=32",
    "training.eval_batch_size=32",
)


def lenet(tasks: list[ClassificationTask], seed: int = 0) -> MultiTaskNetwork:
    torch.manual_seed(seed)
    return build_network("multilenet", tasks, (1, 28, 28)).eval()


def batch(samples: int, tasks: list[ClassificationTask], seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.rand(samples, 1, 28, 28, generator=generator)
    targets = {t.name: torch.randint(10, (samples,), generator=generator) for t in tasks}
    return inputs, targets


def loop_gradients(network, tasks, inputs, targets) -> list[list[torch.Tensor]]:
    """g[n][t], one backward per sample and task: the reference the batched probe must match."""
    shared = [p for p in network.shared_parameters() if p.requires_grad]
    gradients = []
    for n in range(len(inputs)):
        predictions = network(inputs[n : n + 1])
        row = []
        for task in tasks:
            loss = task.loss(predictions[task.name], targets[task.name][n : n + 1])
            parts = torch.autograd.grad(loss, shared, retain_graph=True)
            row.append(torch.cat([p.reshape(-1) for p in parts]).double())
        gradients.append(row)
    return gradients


def hand_measures(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float, float]:
    dot = float((a * b).sum())
    na, nb = math.sqrt(float((a * a).sum())), math.sqrt(float((b * b).sum()))
    conflicts = int(((a * b) < 0).sum())  # component by component
    return dot / (na * nb), 2 * na * nb / (na**2 + nb**2), conflicts / len(a)


def test_batched_gradients_and_measures_match_a_hand_computed_loop() -> None:
    tasks = [ClassificationTask(name, 10) for name in ("a", "b", "c")]
    network = lenet(tasks)
    inputs, targets = batch(5, tasks)
    batched = per_sample_task_gradients(network, tasks, inputs, targets)
    reference = loop_gradients(network, tasks, inputs, targets)
    flat = torch.cat([g.reshape(5, 3, -1) for g in batched.values()], dim=2)
    for n in range(5):
        for t in range(3):
            torch.testing.assert_close(flat[n, t].double(), reference[n][t], rtol=1e-5, atol=1e-7)
    assert all(p.grad is None for p in network.parameters())  # the probe writes no .grad

    measures = gradient_similarities(batched.values(), 5, 3)
    expected = {
        "inter_task": [
            hand_measures(reference[n][s], reference[n][t])
            for n in range(5)
            for s, t in combinations(range(3), 2)
        ],
        "inter_sample": [
            hand_measures(reference[m][t], reference[n][t])
            for t in range(3)
            for m, n in combinations(range(5), 2)
        ],
    }
    for comparison, rows in expected.items():
        got = measures[comparison]
        assert len(got.cosine) == len(rows)
        for position, name in enumerate(("cosine", "magnitude", "conflict")):
            values = getattr(got, name).tolist()
            assert values == pytest.approx([r[position] for r in rows], rel=1e-5, abs=1e-6)


def test_identical_samples_have_inter_sample_cosine_one_and_identical_tasks_inter_task_one():
    tasks = [ClassificationTask(name, 10) for name in ("a", "b")]
    network = lenet(tasks)
    network.heads["b"].load_state_dict(network.heads["a"].state_dict())  # task b is task a
    inputs, targets = batch(4, tasks)
    inputs[2], targets["a"][2], targets["b"][2] = inputs[0], targets["a"][0], targets["b"][0]
    targets["b"] = targets["a"].clone()
    measures = gradient_similarities(
        per_sample_task_gradients(network, tasks, inputs, targets).values(), 4, 2
    )
    sample_pairs = list(combinations(range(4), 2))
    twins = [t * len(sample_pairs) + sample_pairs.index((0, 2)) for t in range(2)]
    inter_sample = measures["inter_sample"]
    for index in twins:
        assert float(inter_sample.cosine[index]) == pytest.approx(1.0, abs=1e-6)
        assert float(inter_sample.magnitude[index]) == pytest.approx(1.0, abs=1e-6)
        assert float(inter_sample.conflict[index]) == 0.0
    others = [i for i in range(len(inter_sample.cosine)) if i not in twins]
    assert (inter_sample.cosine[others] < 0.999).all()  # distinct samples are not aligned
    inter_task = measures["inter_task"]
    assert inter_task.cosine.tolist() == pytest.approx([1.0] * 4, abs=1e-6)
    assert inter_task.conflict.tolist() == [0.0] * 4


def test_a_zero_gradient_has_no_cosine_and_counts_no_conflict() -> None:
    gradients = [torch.tensor([[[1.0, -2.0]], [[0.0, 0.0]], [[-3.0, 1.0]]])]  # N = 3, T = 1
    inter_sample = gradient_similarities(gradients, 3, 1)["inter_sample"]
    # pairs (0, 1), (0, 2), (1, 2)
    assert math.isnan(inter_sample.cosine[0]) and math.isnan(inter_sample.cosine[2])
    assert float(inter_sample.cosine[1]) == pytest.approx(-5 / (math.sqrt(5) * math.sqrt(10)))
    assert inter_sample.magnitude.tolist()[0] == 0.0
    assert inter_sample.conflict.tolist() == [0.0, 1.0, 0.0]


def test_the_probe_draws_eight_of_more_tasks_and_restores_the_network() -> None:
    tasks = [ClassificationTask(f"t{i}", 10) for i in range(11)]
    network = lenet(tasks).train()
    inputs, targets = batch(12, tasks)
    probe = GradientProbe(every=2, samples=8, tasks=8)
    for step in (1, 2, 3):
        event = StepEvent(1, step, inputs, targets, torch.zeros(11), network, tasks)
        probe.after_step(event)
    assert all(module.training for module in network.modules())
    metrics = probe.end_epoch(1)
    assert metrics["grads.probes"] == 2  # steps 1 and 3
    assert metrics[metric_name("inter_task", "cosine", "pairs")] == 2 * 8 * 28
    assert metrics[metric_name("inter_sample", "cosine", "pairs")] == 2 * 8 * 28
    assert probe.end_epoch(2)["grads.probes"] == 0


def tiny_run(observers=()) -> tuple[list, dict]:
    spec = load_spec(EXPERIMENT).with_overrides(
        [*TINY, "training.batch_size=32", "training.epochs=2"]
    )
    config = spec.run_config(spec.tasks, "ew", "adam", 1e-3, 0)
    options = {k: v for k, v in config.dataset.items() if k != "name"}
    data = build_dataset("multimnist", None, **options)
    run = TrainingRun(config, data, "cpu", observers=observers)
    results = []
    while not run.finished:
        results.append(run.train_epoch())
    return results, run.network.state_dict()


def test_the_probe_does_not_change_training() -> None:
    plain, plain_weights = tiny_run()
    probe = GradientProbe(every=1)
    probed, probed_weights = tiny_run([probe])
    for without, with_probe in zip(plain, probed, strict=True):
        train = {k: v for k, v in with_probe.metrics["train"].items() if not k.startswith("grads.")}
        assert train == without.metrics["train"]
        assert with_probe.metrics["val"] == without.metrics["val"]
        assert with_probe.metrics["test"] == without.metrics["test"]
        assert with_probe.metrics["train"]["grads.probes"] == 4  # 128 samples / 32, every step
        for comparison in COMPARISONS:
            for measure in MEASURES:
                assert math.isfinite(
                    with_probe.metrics["train"][metric_name(comparison, measure, "mean")]
                )
    for name, tensor in plain_weights.items():
        assert torch.equal(tensor, probed_weights[name]), name


def test_grads_command_stores_every_epoch_and_draws_figure_4(workdir: Path, invoke) -> None:
    sets = [flag for value in TINY for flag in ("--set", value)]
    result = invoke(
        "grads",
        EXPERIMENT,
        *sets,
        "--set",
        "training.batch_size=64",
        "--epochs",
        "2",
        "--every",
        "1",
        "--device",
        "cpu",
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {(r["epoch"], r["comparison"], r["measure"]) for r in rows} == {
        (epoch, comparison, measure)
        for epoch in (1, 2)
        for comparison in COMPARISONS
        for measure in MEASURES
    }
    pairs = {(r["epoch"], r["comparison"]): r["pairs"] for r in rows if r["measure"] == "conflict"}
    # two probed steps an epoch: 8 samples × 1 task pair, 2 tasks × 28 sample pairs
    assert pairs == {(e, "inter_task"): 16 for e in (1, 2)} | {
        (e, "inter_sample"): 112 for e in (1, 2)
    }
    for r in rows:
        low, high = (-1, 1) if r["measure"] == "cosine" else (0, 1)
        assert low <= r["mean"] <= high and r["std"] >= 0

    store = StudyStore(open_database("results.sqlite", create=False))
    study = store.latest("grads")
    assert study.parameters["every"] == 1 and study.parameters["config"]["tasks"] == [
        "left",
        "right",
    ]
    values = store.values(study.id)
    stored = values[values.metric == "mean"].set_index(["step", "comparison", "measure"])["value"]
    for r in rows:
        assert stored[(r["epoch"], r["comparison"], r["measure"])] == pytest.approx(r["mean"])
    accuracy = values[(values.split == "test") & (values.metric == "left.acc")]
    assert sorted(accuracy.step) == [1, 2]
    figure = workdir / "grads.png"
    assert figure.stat().st_size > 10_000


def test_grads_refuses_a_single_task_run_in_one_line(workdir: Path, invoke) -> None:
    result = invoke("grads", EXPERIMENT, "--set", "tasks=[left]", "--device", "cpu")
    assert result.exit_code == 2
    assert "inter-task similarity needs a multi-task run" in result.output
    assert "Traceback" not in result.output


def test_dense_tasks_on_segnet_match_the_loop() -> None:
    """The paper's setting: segmentation (ignored pixels), depth (invalid pixels) and normals on
    SegNet, whose max-unpooling has no batching rule."""
    from mtlx.tasks.depth import DepthTask
    from mtlx.tasks.normal import NormalTask
    from mtlx.tasks.segmentation import SegmentationTask

    tasks = [SegmentationTask(7), DepthTask(), NormalTask()]
    torch.manual_seed(0)
    network = build_network("segnet", tasks, (3, 32, 32)).eval()
    generator = torch.Generator().manual_seed(2)
    inputs = torch.rand(2, 3, 32, 32, generator=generator)
    depth = torch.rand(2, 1, 32, 32, generator=generator)
    depth[:, :, :8] = 0  # invalid
    normals = torch.nn.functional.normalize(torch.randn(2, 3, 32, 32, generator=generator), dim=1)
    targets = {
        "seg": torch.randint(-1, 7, (2, 32, 32), generator=generator),
        "depth": depth,
        "normal": normals,
    }
    batched = per_sample_task_gradients(network, tasks, inputs, targets)
    flat = torch.cat([g.reshape(2, 3, -1) for g in batched.values()], dim=2)
    reference = loop_gradients(network, tasks, inputs, targets)
    for n in range(2):
        for t in range(3):
            # an untrained SegNet's gradients reach 10⁵: float32 sums agree to their scale
            error = (flat[n, t].double() - reference[n][t]).abs().max()
            assert error <= 1e-4 * reference[n][t].abs().max(), (n, t)

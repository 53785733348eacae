"""Robustness under corruptions (appendix A6) on a tiny MultiMNIST: a multi-task run and its
single-task baselines trained through the real commands, their kept weights, the relative
robustness from the stored scores, and one-line refusals of runs the study cannot use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner, Result

import mtlx.provenance
from mtlx.cli import app
from mtlx.data import build_dataset
from mtlx.engine.checkpoint import load_checkpoint
from mtlx.spec import load_spec
from mtlx.store.database import open_database
from mtlx.store.runs import RunStore
from mtlx.store.studies import StudyStore
from mtlx.studies.robustness import (
    RobustnessPlan,
    networks_to_compare,
    relative_robustness,
    run_robustness,
)

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = str(REPO / "experiments" / "multimnist.yaml")
TINY = (
    "dataset.train_pairs=256",
    "dataset.val_pairs=64",
    "dataset.test_pairs=64",
    "training.eval_batch_size=64",
    "training.batch_size=64",
)
FLAGS = [*(flag for value in TINY for flag in ("--set", value)), "--epochs", "1", "--device", "cpu"]
FEW = ("--corruptions", "gaussian_noise,contrast", "--severities", "1,5")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@dataclass(frozen=True)
class Trained:
    """A database with a multi-task run, its baselines and runs the study must refuse."""

    folder: Path
    db: str
    mtl: str  # finished, weights kept, baselines there
    no_weights: str  # finished with --keep none
    no_baseline: str  # finished, but trained in a setting no baseline was trained in

    def run(self, *args: str) -> Result:
        return invoke("robustness", *args, "--db", self.db, "--device", "cpu")


def run_key(*overrides: str, lr: float = 0.01) -> str:
    spec = load_spec(EXPERIMENT).with_overrides([*TINY, "training.epochs=1", *overrides])
    return spec.run_config(spec.tasks, "ew", "adam", lr, 0).run_key


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    folder = tmp_path_factory.mktemp("robustness")
    db = str(folder / "results.sqlite")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setattr(mtlx.provenance, "git_commit", lambda: "0" * 40)
        commands = [
            ("stl-baseline", EXPERIMENT, *FLAGS, "--lrs", "0.01", "--seeds", "1"),
            ("train", EXPERIMENT, *FLAGS, "--lr", "0.01"),
            ("train", EXPERIMENT, *FLAGS, "--lr", "0.003", "--keep", "none"),
            ("train", EXPERIMENT, *FLAGS, "--lr", "0.01", "--set", "training.weight_decay=1e-4"),
        ]
        for command in commands:
            result = invoke(*command, "--db", db)
            assert result.exit_code == 0, result.output
        yield Trained(
            folder,
            db,
            mtl=run_key(),
            no_weights=run_key(lr=0.003),
            no_baseline=run_key("training.weight_decay=1e-4"),
        )


def test_kept_weights_reproduce_the_runs_test_metrics(trained: Trained) -> None:
    store = RunStore(open_database(trained.db, create=False))
    networks = networks_to_compare(store, trained.mtl)
    assert [n.role for n in networks] == ["mtl", "stl", "stl"]
    assert [n.tasks for n in networks] == [("left", "right"), ("left",), ("right",)]
    options = {k: v for k, v in networks[0].config["dataset"].items() if k != "name"}
    data = build_dataset("multimnist", None, **options)
    plan = RobustnessPlan(trained.mtl, epochs=0, corruptions=("contrast",), severities=(5,))
    run = run_robustness(plan, networks, data, "cpu")
    scores = run.scores.set_index(["run_key", "metric", "stage", "corruption"])["value"]
    for network in networks:
        recorded = store.selected_metrics(run_key=network.run_key)
        test = recorded[recorded["split"] == "test"].iloc[0]
        for task in network.tasks:
            metric = f"{task}.acc"
            assert scores[(network.run_key, metric, "kept", "none")] == test[metric]
            # no fine-tuning: the clean test split scores the same again
            assert scores[(network.run_key, metric, "fine-tuned", "none")] == test[metric]


def test_backbones_stay_frozen_and_identical_networks_are_equally_robust(
    trained: Trained,
) -> None:
    store = RunStore(open_database(trained.db, create=False))
    mtl = networks_to_compare(store, trained.mtl)[0]
    twin = replace(mtl, role="stl")  # the same network as its own baseline
    data = build_dataset(
        "multimnist", None, **{k: v for k, v in mtl.config["dataset"].items() if k != "name"}
    )
    plan = RobustnessPlan(trained.mtl, epochs=1, corruptions=("gaussian_noise", "snow"))
    run = run_robustness(plan, [mtl, twin], data, "cpu")
    kept = load_checkpoint(mtl.checkpoint_path)["model"]
    for network in run.fine_tuned:
        for name, tensor in network.state_dict().items():
            if name.startswith("encoder."):
                assert torch.equal(tensor, kept[name]), name
        heads = [n for n in kept if n.startswith("heads.") and n.endswith("weight")]
        assert any(not torch.equal(network.state_dict()[n], kept[n]) for n in heads)
    # both saw the same corrupted images and the same dropout: R is exactly 0 everywhere
    frame = relative_robustness(run.scores, run.directions, run.families)
    assert len(frame) == 2 * 5 * 2
    assert (frame["relative_robustness"] == 0).all()
    assert (frame["mtl_drop"] == frame["stl_drop"]).all()


def test_robustness_command_stores_every_score_and_prints_r(trained: Trained) -> None:
    result = trained.run(trained.mtl, "--epochs", "1", *FEW, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["corruption"], r["metric"]) for r in rows] == [
        ("gaussian_noise", "left.acc"),
        ("gaussian_noise", "right.acc"),
        ("contrast", "left.acc"),
        ("contrast", "right.acc"),
    ]
    studies = StudyStore(open_database(trained.db, create=False))
    study = studies.latest("robustness")
    assert study.parameters["networks"][0] == trained.mtl
    values = studies.values(study.id)
    scores = values[values["stage"].notna()]
    # 4 (network, metric) pairs × (kept, clean after fine-tuning, 2 corruptions × 2 severities)
    assert len(scores) == 4 * (2 + 2 * 2)
    # R from the stored scores, by the paper's formula: accuracy, higher is better
    reference = scores[scores.stage == "kept"].set_index(["role", "metric"])["value"]
    corrupted = scores[(scores.stage == "fine-tuned") & (scores.corruption != "none")]
    for row in rows:
        drops = {}
        for role in ("mtl", "stl"):
            these = corrupted[
                (corrupted.role == role)
                & (corrupted.metric == row["metric"])
                & (corrupted.corruption == row["corruption"])
            ]
            before = reference[(role, row["metric"])]
            drops[role] = ((before - these["value"]) / before).mean()
        assert row["mtl_drop"] == pytest.approx(drops["mtl"])
        assert row["stl_drop"] == pytest.approx(drops["stl"])
        assert row["relative_robustness"] == pytest.approx(drops["stl"] - drops["mtl"])
    assert (trained.folder / "robustness.png").stat().st_size > 10_000

    table = trained.run(trained.mtl, "--epochs", "1", *FEW, "--no-plot")
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())
    assert "relative robustness R (> 0: MTL more robust)" in text
    assert "gaussian noise" in text and "contrast" in text and "left.acc" in text


def test_relative_robustness_is_signed_for_lower_is_better_metrics() -> None:
    """MTL's error grows by 10 %, STL's by 30 %: MTL is more robust, R = +0.2."""
    scores = pd.DataFrame(
        [
            ("mtl", "d", "d.err", "kept", "none", 0, 1.0),
            ("stl", "d", "d.err", "kept", "none", 0, 2.0),
            ("mtl", "d", "d.err", "fine-tuned", "fog", 3, 1.1),
            ("stl", "d", "d.err", "fine-tuned", "fog", 3, 2.6),
        ],
        columns=["role", "task", "metric", "stage", "corruption", "severity", "value"],
    )
    frame = relative_robustness(scores, {"d.err": False}, {"fog": "weather"})
    row = frame.iloc[0]
    assert row["mtl_drop"] == pytest.approx(0.1) and row["stl_drop"] == pytest.approx(0.3)
    assert row["relative_robustness"] == pytest.approx(0.2)


def test_runs_the_study_cannot_use_are_refused_in_one_line(trained: Trained) -> None:
    store = RunStore(open_database(trained.db, create=False))
    stl_key = store.runs(kind="stl")[0].run_key
    cases = {
        "feedfacefeedface": "no run 'feedfacefeedface' in this database",
        stl_key: f"run {stl_key} is a single-task run",
        trained.no_weights: f"run {trained.no_weights} kept no weights (trained with --keep none)",
        trained.no_baseline: f"run {trained.no_baseline} has no single-task baseline for task "
        "'left'",
    }
    for key, message in cases.items():
        result = trained.run(key, *FEW)
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_an_unfinished_run_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mtlx.provenance, "git_commit", lambda: "0" * 40)
    db = str(tmp_path / "results.sqlite")
    store = RunStore(open_database(db))
    spec = load_spec(EXPERIMENT).with_overrides(TINY)
    config = spec.run_config(spec.tasks, "ew", "adam", 0.01, 0)
    provenance = mtlx.provenance.provenance("cpu")
    assert store.claim(config, "multimnist", provenance).lease is not None  # now RUNNING
    result = invoke("robustness", config.run_key, "--db", db)
    assert result.exit_code == 2
    assert f"run {config.run_key} is RUNNING, not FINISHED" in result.output


def test_weights_kept_of_another_epoch_than_the_selected_one_are_refused(trained: Trained):
    from mtlx.studies.robustness import RobustnessError, load_network

    store = RunStore(open_database(trained.db, create=False))
    mtl = networks_to_compare(store, trained.mtl)[0]
    data = build_dataset(
        "multimnist", None, **{k: v for k, v in mtl.config["dataset"].items() if k != "name"}
    )
    later = replace(mtl, selected_epoch=mtl.selected_epoch + 1)  # as if --keep last had kept it
    with pytest.raises(RobustnessError, match=r"kept the weights of epoch 1 \(--keep last\), not"):
        load_network(later, data, "cpu")

"""The whole path on fixtures of the paper's datasets, through the command line.

``mtlx data fixture`` writes each dataset in its real on-disk format; the *real* experiment files
(experiments/nyuv2.yaml, cityscapes.yaml, celeba.yaml) are then run with command-line overrides
only — tiny images, one epoch — through ``train``, ``stl-baseline``, ``sweep``, ``pareto`` and
``report``, for both dense networks.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import mtlx.provenance
from mtlx.cli import app
from mtlx.store.database import open_database
from mtlx.store.runs import RunStore

REPO = Path(__file__).resolve().parents[2]

# dataset → (fixture flags, experiment overrides, networks)
CASES = {
    "nyuv2": (
        ["--n", "4", "--height", "32", "--width", "64"],
        ["dataset.val_size=2", "dataset.augment=true", "training.batch_size=2"],
        ["segnet", "deeplabv3"],
    ),
    "cityscapes": (
        ["--n", "4", "--height", "32", "--width", "64"],
        ["dataset.val_size=2", "dataset.augment=true", "training.batch_size=2"],
        ["segnet", "deeplabv3"],
    ),
    "celeba": (
        ["--n", "60"],
        ["dataset.tasks=[Smiling, Male]", "tasks=[Smiling, Male]", "training.batch_size=8"],
        ["resnet18"],
    ),
}


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, f"mtlx {' '.join(args)}\n{result.output}"
    return result.output


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MTLX_EXPERIMENTS", str(REPO / "experiments"))
    for variable in ("MTLX_DB", "MTLX_DATA"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(mtlx.provenance, "git_commit", lambda: "test-commit")


@pytest.mark.parametrize(
    ("dataset", "network"),
    [(dataset, network) for dataset, case in CASES.items() for network in case[2]],
)
def test_fixture_through_every_command(tmp_path: Path, dataset: str, network: str) -> None:
    fixture_flags, overrides, _ = CASES[dataset]
    root = tmp_path / "data"
    invoke("data", "fixture", dataset, "--out", str(root), *fixture_flags)
    invoke("data", "check", dataset, str(root))
    db = str(tmp_path / "results.sqlite")
    common = [
        *(flag for value in [*overrides, f"network.name={network}"] for flag in ("--set", value)),
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--data-root",
        str(root),
        "--db",
        db,
    ]
    invoke("train", dataset, "--method", "ew", "--lr", "1e-3", *common)
    invoke("stl-baseline", dataset, "--lrs", "1e-3", "--seeds", "1", *common)
    invoke(
        "sweep",
        dataset,
        "--methods",
        "ew,uw",
        "--optimizers",
        "adam",
        "--lrs",
        "1e-3",
        "--seeds",
        "1",
        *common,
    )
    invoke("pareto", "--dataset", dataset, "--db", db)
    csv = tmp_path / "report.csv"
    invoke("report", "--dataset", dataset, "--db", db, "--format", "csv", "--output", str(csv))

    store = RunStore(open_database(db))
    runs = store.runs_frame()
    assert set(runs["status"]) == {"FINISHED"}
    assert set(runs["network"]) == {network}
    tasks = runs.loc[runs["kind"] == "mtl", "tasks"].iloc[0].split(",")
    assert sorted(runs.loc[runs["kind"] == "stl", "tasks"]) == sorted(tasks)
    # every run records where its data came from and the exact samples of its splits
    for provenance in runs["data_provenance"]:
        assert provenance["root"].startswith(str(root))
        assert set(provenance["samples"]) == {"train", "val", "test"}
        assert "split_indices_digest" in provenance or "partition_digest" in provenance
    # `train` and the sweep asked for the same EW config: one run, not two
    assert (runs["method"] == "ew").sum() == 1
    table = pd.read_csv(csv)
    assert "delta_m" in table.columns
    assert table.loc[table["method"] == "single-task", "delta_m"].iloc[0] == 0.0
    assert table["delta_m"].notna().all()

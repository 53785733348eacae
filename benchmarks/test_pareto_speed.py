"""``mtlx pareto`` over 100,000 finished NYUv2-shaped runs, the whole command timed as a user runs
it: process start, imports, loading from SQLite, learning-rate selection, front and counts.

    make bench   # or: pytest benchmarks/test_pareto_speed.py --benchmark-only -o addopts=""
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mtlx.store.database import open_database
from mtlx.store.fixtures import SyntheticSweep, write_sweep
from mtlx.tasks.kinds import DEPTH, NORMAL, SEGMENTATION

METHODS = tuple(f"method{index:02d}" for index in range(20))
LRS = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1, 5e-1)
SEEDS = tuple(range(167))  # 20 × 3 × 10 × 167 = 100,200 runs


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "runs.sqlite"
    sweep = SyntheticSweep(
        "nyuv2",
        "segnet",
        {"seg": SEGMENTATION, "depth": DEPTH, "normal": NORMAL},
        methods=METHODS,
        optimizers=("adam", "sgd", "signsgd"),
        lrs=LRS,
        seeds=SEEDS,
        training={"epochs": 1},
    )
    assert write_sweep(open_database(str(path)), sweep) >= 100_000
    return path


@pytest.mark.parametrize(
    "options",
    [
        ["--objectives", "tasks"],
        ["--objectives", "metrics"],
        ["--all-lrs", "--objectives", "tasks"],
    ],
    ids=["selected-tasks", "selected-metrics", "all-lrs-tasks"],
)
def test_pareto_over_100k_runs(benchmark, database: Path, options: list[str]) -> None:
    command = [sys.executable, "-m", "mtlx", "pareto", "--db", str(database), "--format", "csv"]

    def run() -> str:
        return subprocess.run(
            [*command, *options], capture_output=True, text=True, check=True
        ).stdout

    output = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    assert output.count("\n") > 1

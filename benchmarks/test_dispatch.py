"""Dispatch in figures, each the real command in a fresh process (pytest-benchmark, ``make bench``):

- planning the paper's full NYUv2 grid (1,800 runs) as a dry run;
- re-running a finished 1,200-run sweep (every run skipped);
- the local pool on tiny runs: runs per minute and overhead per run, 1 worker against 2;
- ``kill -9`` of a sweep, then an immediate re-run: seconds until the run is training again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtlx.provenance import provenance
from mtlx.spec import load_spec, sweep_grid
from mtlx.store.database import SchemaVersionError, open_database
from mtlx.store.runs import RunStore

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENT = {**os.environ, "MTLX_EXPERIMENTS": str(REPO / "experiments"), "COLUMNS": "200"}


def mtlx(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "mtlx", *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENVIRONMENT,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_dry_run_of_the_papers_nyuv2_grid(benchmark, tmp_path: Path) -> None:
    arguments = ("sweep", "nyuv2", "--methods", "all", "--optimizers", "adam,sgd,signsgd")
    arguments += ("--lrs", "grid", "--seeds", "3", "--dry-run", "--db", "results.sqlite")
    result = benchmark.pedantic(mtlx, args=arguments, kwargs={"cwd": tmp_path}, rounds=5)
    assert "1800 runs planned: 1800 new" in result.stdout


GRID = ("--methods", "all", "--optimizers", "adam,sgd", "--lrs", "grid", "--seeds", "3")


def test_rerunning_a_finished_1200_run_sweep(benchmark, tmp_path: Path) -> None:
    spec = load_spec(str(REPO / "experiments" / "multimnist.yaml"))
    configs = spec.expand(spec.tasks, *sweep_grid(spec, "all", "adam,sgd", "grid", "3"))
    store = RunStore(open_database(str(tmp_path / "results.sqlite")))
    described = provenance("cpu")
    for config in configs:  # finished, as far as the database knows
        claim = store.claim(config, spec.name, described)
        store.finish(claim.lease, 1, "val_loss")
    store.engine.dispose()
    result = benchmark.pedantic(
        mtlx, args=("sweep", "multimnist", *GRID), kwargs={"cwd": tmp_path}, rounds=3
    )
    assert f"{len(configs)} planned, {len(configs)} already finished" in " ".join(
        result.stdout.split()
    )


TINY = (
    "--set", "dataset.train_pairs=64", "--set", "dataset.val_pairs=32",
    "--set", "dataset.test_pairs=32", "--set", "training.eval_batch_size=32",
    "--epochs", "1", "--device", "cpu", "--keep", "none",
)  # fmt: skip
TINY_RUNS = ("--methods", "ew,uw,rlw,dwa", "--optimizers", "adam,sgd", "--lrs", "0.001,0.01")
TINY_RUNS += ("--seeds", "3")  # 48 runs of one 1-step epoch each: all overhead


@pytest.mark.parametrize("workers", [1, 2])
def test_pool_on_tiny_runs(benchmark, tmp_path: Path, workers: int) -> None:
    counter = iter(range(100))

    def sweep() -> None:
        folder = tmp_path / f"round-{next(counter)}"
        folder.mkdir()
        mtlx("sweep", "multimnist", *TINY_RUNS, *TINY, "--workers", str(workers), cwd=folder)

    benchmark.pedantic(sweep, rounds=3)
    seconds = benchmark.stats.stats.median
    benchmark.extra_info["runs_per_minute"] = round(48 / seconds * 60, 1)
    benchmark.extra_info["seconds_per_run"] = round(seconds / 48, 3)


def test_kill_9_to_training_again(benchmark, tmp_path: Path) -> None:
    sizes = ("--set", "dataset.train_pairs=4096", "--set", "training.batch_size=32")
    arguments = ("sweep", "multimnist", "--methods", "ew", "--lrs", "0.001", "--seeds", "1")
    arguments += (*sizes, "--epochs", "20", "--device", "cpu", "--db", "results.sqlite")
    command = [sys.executable, "-m", "mtlx", *arguments]
    database = tmp_path / "results.sqlite"

    def once() -> float:
        for path in tmp_path.iterdir():
            if path.is_file():
                path.unlink()
        worker = subprocess.Popen(command, cwd=tmp_path, env=ENVIRONMENT, stdout=subprocess.DEVNULL)
        while not database.exists() or not _epochs(database):
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed = time.monotonic()
        rerun = subprocess.Popen(command, cwd=tmp_path, env=ENVIRONMENT, stdout=subprocess.DEVNULL)
        while _attempt(database) < 2:
            time.sleep(0.01)
        claimed = time.monotonic() - killed
        rerun.kill()
        rerun.wait()
        return claimed

    claims = [once() for _ in range(3)]
    benchmark.extra_info["seconds_from_kill_to_claim"] = [round(c, 2) for c in claims]
    benchmark.pedantic(lambda: None, rounds=1)


def _epochs(database: Path) -> int:
    try:
        store = RunStore(open_database(str(database), create=False))
    except SchemaVersionError:  # being created
        return 0
    try:
        runs = store.runs()
        return runs[0].epochs_completed if runs else 0
    finally:
        store.engine.dispose()


def _attempt(database: Path) -> int:
    store = RunStore(open_database(str(database), create=False))
    try:
        return store.runs()[0].attempt
    finally:
        store.engine.dispose()

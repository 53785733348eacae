"""Sweeps: a re-run trains nothing finished; a failing run is recorded and the others go on."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select

from mtlx.dispatch.plan import RunPlan
from mtlx.dispatch.sweep import run_sweep
from mtlx.store.database import open_database
from mtlx.store.runs import RunStore
from mtlx.store.schema import EpochMetric

GRID = ["--methods", "ew,uw", "--optimizers", "adam", "--lrs", "0.001", "--seeds", "1"]


def database(path: Path) -> tuple[RunStore, pd.DataFrame, int]:
    store = RunStore(open_database(str(path), create=False))
    with store.sessions() as session:
        metric_rows = session.scalar(select(func.count()).select_from(EpochMetric))
    return store, store.runs_frame(), metric_rows


def test_rerunning_a_sweep_trains_nothing_new(spine, isolated: Path) -> None:
    db = str(isolated / "results.sqlite")
    first = spine.invoke("sweep", "multimnist", *GRID, *spine.flags(), "--db", db)
    assert first.exit_code == 0, first.output
    assert "2 planned, 0 already finished, 2 finished" in spine.flat(first.output)
    _, runs, metric_rows = database(isolated / "results.sqlite")
    assert len(runs) == 2
    assert set(runs["status"]) == {"FINISHED"}
    assert set(runs["method"]) == {"ew", "uw"}
    assert runs["finished_at"].notna().all()
    assert metric_rows > 0

    second = spine.invoke("sweep", "multimnist", *GRID, *spine.flags(), "--db", db)
    assert second.exit_code == 0, second.output
    output = spine.flat(second.output)
    assert "2 run(s) already finished in the database: skipped" in output
    assert "2 planned, 2 already finished" in output
    assert "FINISHED multimnist" not in output  # no run reported as trained
    _, rerun_runs, rerun_metric_rows = database(isolated / "results.sqlite")
    pd.testing.assert_frame_equal(rerun_runs, runs)  # every column, finished_at included
    assert rerun_metric_rows == metric_rows

    # A grid naming the same config twice plans it once
    twice = spine.invoke(
        "sweep", "multimnist", *GRID[:-2], "--seeds", "0,0", *spine.flags(), "--db", db
    )
    assert twice.exit_code == 0
    assert "2 planned, 2 already finished" in spine.flat(twice.output)


def test_a_failing_run_is_recorded_and_the_rest_finish(
    spine, isolated: Path, register_bomb
) -> None:
    bomb = register_bomb(RuntimeError)
    spec = spine.spec("training.batch_size=128", epochs=2)  # the bomb's 2nd step is in epoch 1
    plans = [
        RunPlan(config, spec.name)
        for config in spec.expand(spec.tasks, [bomb, "ew"], ["adam"], [1e-3], [0])
    ]
    bomb_key, ew_key = (plan.run_key for plan in plans)
    context = spine.runtime(isolated / "results.sqlite")
    store = context.store

    summary = run_sweep(plans, context)
    assert summary.counts() == {"FAILED": 1, "FINISHED": 1}
    runs = store.runs_frame().set_index("run_key")
    failed, finished = runs.loc[bomb_key], runs.loc[ew_key]
    assert failed["status"] == "FAILED"
    assert "Traceback (most recent call last)" in failed["error"]
    assert failed["error"].rstrip().endswith("RuntimeError: step bomb went off")
    assert "combine" in failed["error"]  # the frame that raised is in the tail
    assert failed["attempt"] == 1 and failed["finished_at"] is not None
    assert finished["status"] == "FINISHED" and finished["epochs_completed"] == 2
    assert pd.isna(finished["error"])

    again = run_sweep(plans, context)
    assert again.already_finished == 1
    assert [outcome.run_key for outcome in again.outcomes] == [bomb_key]  # ew is not retrained
    assert again.outcomes[0].reason == "retry FAILED"
    rerun = store.runs_frame().set_index("run_key")
    assert rerun.loc[bomb_key, "attempt"] == 2
    assert rerun.loc[bomb_key, "status"] == "FAILED"
    assert "step bomb went off" in rerun.loc[bomb_key, "error"]
    assert rerun.loc[ew_key, "attempt"] == 1
    assert rerun.loc[ew_key, "finished_at"] == finished["finished_at"]


def test_the_cli_exits_1_when_a_run_failed(spine, isolated: Path, register_bomb) -> None:
    bomb = register_bomb(RuntimeError)
    db = str(isolated / "results.sqlite")
    args = ["--optimizers", "adam", "--lrs", "0.001", "--seeds", "1", "--db", db]
    args += [*spine.flags(), "--set", "training.batch_size=128"]
    result = spine.invoke("sweep", "multimnist", "--methods", f"ew,{bomb}", *args)
    assert result.exit_code == 1, result.output
    output = spine.flat(result.output)
    assert "1 failed" in output and "1 finished" in output
    assert "step bomb went off" in output
    assert "some runs failed" in output

    listed = spine.invoke("runs", "--db", db, "--status", "FAILED", "--errors")
    assert listed.exit_code == 0
    assert "1 run(s)" in listed.output
    assert "Traceback" in listed.output and "step bomb went off" in listed.output

    # without the broken method the sweep succeeds (its ew run finished the first time)
    ok = spine.invoke("sweep", "multimnist", "--methods", "ew", *args)
    assert ok.exit_code == 0, ok.output
    assert "1 planned, 1 already finished" in spine.flat(ok.output)


def test_off_a_terminal_every_epoch_is_one_line(spine, isolated: Path) -> None:
    """A Slurm log or ``nohup`` file says where a run got to: run, epoch, losses, score, time."""
    result = spine.invoke(
        "sweep",
        "multimnist",
        "--methods",
        "ew",
        "--optimizers",
        "adam",
        "--lrs",
        "0.001",
        "--seeds",
        "1",
        *spine.flags(epochs=2),
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if " epoch " in line]
    assert len(lines) == 2
    for epoch, line in enumerate(lines, start=1):
        assert re.fullmatch(
            rf"[0-9a-f]{{16}} ew adam lr=0\.001 seed=0 epoch {epoch}/2  left\.loss [\d.]+  "
            r"right\.loss [\d.]+  val [\d.]+  [\d.]+ s",
            line,
        ), line

"""Faults, as clusters deal them, against the real command in its own process: signals, kill -9,
a worker paused past the stale window. Each run must end FINISHED exactly once, with exactly the
metrics of the same run trained without interruption."""

from __future__ import annotations

import random
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from mtlx.dispatch.plan import RunPlan
from mtlx.dispatch.sweep import run_sweep
from mtlx.store.database import open_database
from mtlx.store.entities import RunRecord
from mtlx.store.runs import RunStore
from mtlx_processes import SIZES, finish, runs_in, start, wait_until
from mtlx_processes import sweep_command as command_for

EPOCHS = 5


def sweep_command(db: Path, *args: str, epochs: int = EPOCHS, seeds: str = "1") -> list[str]:
    return command_for(db, *args, epochs=epochs, seeds=seeds)


def read_run(db: Path, run_key: str) -> RunRecord | None:
    return next((run for run in runs_in(db) if run.run_key == run_key), None)


def epochs_done(db: Path, run_key: str, at_least: int) -> Callable[[], bool]:
    def check() -> bool:
        run = read_run(db, run_key)
        return run is not None and run.epochs_completed >= at_least

    return check


def history(db: Path, run_key: str) -> pd.DataFrame:
    store = RunStore(open_database(str(db), create=False))
    frame = store.epoch_history(run_key).drop(columns="attempt")
    store.engine.dispose()
    return frame.sort_values(["epoch", "split", "metric"], ignore_index=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, spine) -> Callable[[int], pd.DataFrame]:
    """The uninterrupted run's history, trained once in this process."""
    folder = tmp_path_factory.mktemp("reference")
    cache: dict[int, pd.DataFrame] = {}

    def uninterrupted(epochs: int = EPOCHS) -> pd.DataFrame:
        if epochs not in cache:
            plan = plan_for(spine, epochs)
            runtime = spine.runtime(folder / f"reference-{epochs}.sqlite")
            assert run_sweep([plan], runtime).counts() == {"FINISHED": 1}
            cache[epochs] = history(folder / f"reference-{epochs}.sqlite", plan.run_key)
        return cache[epochs]

    return uninterrupted


def plan_for(spine, epochs: int = EPOCHS) -> RunPlan:
    spec = spine.spec(*SIZES, epochs=epochs)
    return RunPlan(spec.run_config(spec.tasks, "ew", "adam", 1e-3, 0), spec.name)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGUSR1])
def test_a_signal_stops_the_run_at_a_step_with_a_checkpoint_and_the_rerun_resumes(
    spine, isolated: Path, reference, signum: signal.Signals
) -> None:
    db = isolated / "results.sqlite"
    key = plan_for(spine).run_key
    worker = start(sweep_command(db))
    wait_until(epochs_done(db, key, 1))
    worker.send_signal(signum)
    code, output = finish(worker)
    assert code == 128 + signum, output
    assert f"stopped by {signum.name}" in output

    run = read_run(db, key)
    assert run is not None and run.status == "KILLED"
    assert run.error.startswith(f"killed by {signum.name} at epoch ")
    assert Path(run.checkpoint_path).is_file()
    stopped_at = run.checkpoint_epoch

    code, output = finish(start(sweep_command(db)))
    assert code == 0, output
    assert f"resume KILLED from epoch {stopped_at}" in output
    run = read_run(db, key)
    assert (run.status, run.attempt, run.resumed_from_epoch) == ("FINISHED", 2, stopped_at)
    pd.testing.assert_frame_equal(history(db, key), reference(), check_exact=True)


def test_kill_9_and_an_immediate_rerun_takes_the_run_over_at_once(
    spine, isolated: Path, reference
) -> None:
    db = isolated / "results.sqlite"
    key = plan_for(spine).run_key
    worker = start(sweep_command(db))
    wait_until(epochs_done(db, key, 1))
    worker.kill()
    finish(worker)
    killed_at = time.monotonic()
    assert read_run(db, key).status == "RUNNING"  # nobody could say otherwise

    rerun = start(sweep_command(db))
    wait_until(lambda: read_run(db, key).attempt == 2, timeout=300)
    taken_over_after = time.monotonic() - killed_at
    code, output = finish(rerun)
    assert code == 0, output
    assert (
        f"take over RUNNING: its worker (host {socket.gethostname()} pid {worker.pid}) is gone"
        in (" ".join(output.split()))
    )
    assert taken_over_after < 60  # not the 10-minute stale window
    run = read_run(db, key)
    assert run.status == "FINISHED" and run.attempt == 2
    pd.testing.assert_frame_equal(history(db, key), reference(), check_exact=True)


def test_a_worker_paused_past_the_stale_window_stops_at_its_next_write(
    spine, isolated: Path, reference
) -> None:
    db = isolated / "results.sqlite"
    epochs = 4
    key = plan_for(spine, epochs).run_key
    paused = start(sweep_command(db, epochs=epochs))
    wait_until(epochs_done(db, key, 1))
    paused.send_signal(signal.SIGSTOP)
    try:
        time.sleep(2.0)  # its heartbeat ages past the 1.2 s window below
        code, output = finish(start(sweep_command(db, "--stale-after", "0.02", epochs=epochs)))
        assert code == 0, output
        assert "take over stale RUNNING" in output
        assert read_run(db, key).status == "FINISHED"
    finally:
        paused.send_signal(signal.SIGCONT)
    code, output = finish(paused)
    assert "was taken over" in output, output
    run = read_run(db, key)
    assert (run.status, run.attempt) == ("FINISHED", 2)
    # one training's record: the epochs up to the checkpoint it resumed from by attempt 1, all
    # later ones by attempt 2, none written by the paused worker after it lost the run
    store = RunStore(open_database(str(db), create=False))
    attempts = store.epoch_history(key).groupby("epoch")["attempt"].agg(set)
    store.engine.dispose()
    resumed = run.resumed_from_epoch
    assert all(attempts[e] == {1} for e in range(1, resumed + 1))
    assert all(attempts[e] == {2} for e in range(resumed + 1, epochs + 1))
    pd.testing.assert_frame_equal(history(db, key), reference(epochs), check_exact=True)
    checkpoint = Path(run.checkpoint_path)
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == ["selected.pt"]


@pytest.mark.slow
def test_twenty_kill_9_at_random_moments_lose_and_duplicate_nothing(spine, isolated: Path) -> None:
    """A 3-run sweep killed with SIGKILL at 20 random moments, re-run at once each time, then
    run to its end: every run FINISHED once, no epoch missing or twice, every run exactly the
    same as trained without interruption."""
    db = isolated / "results.sqlite"
    epochs = 12
    args = ("--set", "dataset.train_pairs=4096")  # ~1 s per epoch
    rng = random.Random(0)
    kills = 0
    while kills < 20:
        worker = start(sweep_command(db, *args, epochs=epochs, seeds="3"))
        time.sleep(rng.uniform(0.5, 4.0))
        assert worker.poll() is None, "the sweep finished before 20 kills: make its runs longer"
        worker.kill()
        finish(worker)
        kills += 1
    code, output = finish(start(sweep_command(db, *args, epochs=epochs, seeds="3")), timeout=1800)
    assert code == 0, output

    spec = spine.spec(*SIZES, "dataset.train_pairs=4096", epochs=epochs)
    store = RunStore(open_database(str(db), create=False))
    attempts = 0
    for seed in range(3):
        config = spec.run_config(spec.tasks, "ew", "adam", 1e-3, seed)
        run = store.run(config.run_key)
        assert run.status == "FINISHED"
        attempts += run.attempt
        rows = store.epoch_history(config.run_key)
        assert not rows.duplicated(["epoch", "split", "metric"]).any()
        assert sorted(set(rows["epoch"])) == list(range(1, epochs + 1))
        reference_runtime = spine.runtime(isolated / f"reference-{seed}.sqlite")
        run_sweep([RunPlan(config, spec.name)], reference_runtime)
        expected = history(isolated / f"reference-{seed}.sqlite", config.run_key)
        pd.testing.assert_frame_equal(history(db, config.run_key), expected, check_exact=True)
    assert attempts > 3  # the kills did interrupt the runs, which resumed
    print(f"{kills} kills, {attempts - 3} resumed attempts")

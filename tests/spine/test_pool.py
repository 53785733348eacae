"""The local pool, through the real command: workers share a sweep through their claims, record
where each run was trained, are replaced when they crash (their run resumed), and all stop cleanly
with their runs checkpointed on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from mtlx.store.database import open_database
from mtlx.store.runs import RunStore
from mtlx_processes import runs_in, start, sweep_command, wait_until


def command(db: Path, *args: str, epochs: int = 2, seeds: str = "4") -> list[str]:
    return sweep_command(db, *args, epochs=epochs, seeds=seeds)


def running(db: Path) -> list:
    return [run for run in runs_in(db) if run.status == "RUNNING"]


def running_with_an_epoch(db: Path) -> list:
    return [run for run in running(db) if run.epochs_completed >= 1]


def store_of(db: Path) -> RunStore:
    return RunStore(open_database(str(db), create=False))


def test_two_workers_share_a_sweep_and_record_where_each_run_trained(isolated: Path) -> None:
    db = isolated / "results.sqlite"
    result = subprocess.run(
        command(db, "--workers", "2"), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 planned, 0 already finished, 4 finished" in " ".join(result.stdout.split())
    store = store_of(db)
    runs = store.runs()
    assert [run.status for run in runs] == ["FINISHED"] * 4
    assert all(run.attempt == 1 for run in runs)  # each trained once, by one worker
    slots = {run.worker["slot"] for run in runs}
    assert slots == {0, 1}
    assert all(run.worker["executor"] == "local" and run.worker["host"] for run in runs)
    assert len({run.pid for run in runs}) == 2  # one process per worker, many runs each

    # the same sweep again trains nothing
    again = subprocess.run(
        command(db, "--workers", "2"), capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0
    assert "4 planned, 4 already finished" in " ".join(again.stdout.split())


def test_a_crashed_worker_is_replaced_and_its_run_resumes(isolated: Path) -> None:
    db = isolated / "results.sqlite"
    pool = start(command(db, "--workers", "2", epochs=3, seeds="2"), own_group=True)
    wait_until(lambda: bool(running_with_an_epoch(db)))
    victim = running_with_an_epoch(db)[0]
    os.kill(victim.pid, signal.SIGKILL)  # out of memory, a segfault…
    output, _ = pool.communicate(timeout=600)
    assert pool.returncode == 0, output
    assert "died" in output and "starting another" in output
    store = store_of(db)
    run = store.run(victim.run_key)
    assert (run.status, run.attempt) == ("FINISHED", 2)
    assert run.resumed_from_epoch is not None and run.resumed_from_epoch >= 1
    first, second = store.attempts(victim.run_key)
    assert first.status == "TAKEN OVER" and first.pid == victim.pid
    assert second.reason.startswith("take over RUNNING: its worker")
    assert second.pid != victim.pid
    assert [r.status for r in store.runs()] == ["FINISHED", "FINISHED"]


def test_ctrl_c_stops_every_worker_with_its_run_checkpointed(isolated: Path) -> None:
    db = isolated / "results.sqlite"
    pool = start(command(db, "--workers", "2", epochs=8, seeds="4"), own_group=True)
    wait_until(lambda: len(running(db)) == 2 and any(r.epochs_completed >= 1 for r in running(db)))
    os.killpg(pool.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    output, _ = pool.communicate(timeout=300)
    assert pool.returncode == 128 + signal.SIGINT, output
    store = store_of(db)
    runs = store.runs()
    killed = [run for run in runs if run.status == "KILLED"]
    assert len(killed) == 2, output  # the run of each worker; nothing is left RUNNING
    assert {run.status for run in runs} <= {"KILLED", "FINISHED"}
    for run in killed:
        assert run.error.startswith("killed by SIGINT at epoch")
        assert Path(run.checkpoint_path).is_file()
    # nothing left behind: no worker process survives its pool
    for run in killed:
        with pytest.raises(ProcessLookupError):
            os.kill(run.pid, 0)

    resumed = subprocess.run(
        command(db, "--workers", "2", epochs=8, seeds="4"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stdout
    assert [r.status for r in store.runs()] == ["FINISHED"] * 4
    assert all(store.run(r.run_key).resumed_from_epoch is not None for r in killed)

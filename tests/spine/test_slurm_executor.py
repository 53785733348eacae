"""``--executor slurm`` against a real single-node Slurm cluster (``tests/servers``): a sweep is
submitted as a job array and returns at once; every run ends FINISHED with its job id; a
cancelled task's run is checkpointed and resumes when submitted again; a preempted task requeues
itself and resumes."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from mtlx_processes import runs_in, sweep_command, wait_until


def sweep(db: Path, *args: str, epochs: int = 2, seeds: str = "2") -> subprocess.CompletedProcess:
    arguments = sweep_command(db, "--executor", "slurm", "--time", "30", "--cpus", "1", *args,
                              epochs=epochs, seeds=seeds)  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(
        arguments, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"}
    )
    result.seconds = time.monotonic() - started  # type: ignore[attr-defined]
    return result


def runs(db: Path) -> list:
    return runs_in(db)


def test_a_submitted_sweep_trains_every_run_on_the_cluster(slurm_cluster, isolated: Path) -> None:
    db = isolated / "results.sqlite"
    submitted = sweep(db, "--array-parallelism", "2")
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert "submitted 2 run(s) as Slurm array job(s)" in submitted.stdout
    assert submitted.seconds < 120  # submits and returns: nothing waits on the login node
    (array,) = re.findall(r"array job\(s\) (\d+)", submitted.stdout)

    wait_until(lambda: [r.status for r in runs(db)] == ["FINISHED", "FINISHED"])
    for run in runs(db):
        assert run.slurm_job_id is not None and run.slurm_job_id.startswith(f"{array}_")
        assert run.worker["executor"] == "slurm"
        assert Path(run.checkpoint_path).name == "selected.pt"
    assert (isolated / "results.slurm").is_dir()  # the tasks' logs, beside the database

    again = sweep(db)
    assert again.returncode == 0
    assert "nothing to submit" in again.stdout and "2 finished" in again.stdout


def test_a_cancelled_task_is_checkpointed_and_resumes_when_submitted_again(
    slurm_cluster, isolated: Path
) -> None:
    db = isolated / "results.sqlite"
    submitted = sweep(db, epochs=20, seeds="1")
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    wait_until(lambda: any(r.epochs_completed >= 1 for r in runs(db)))
    (run,) = runs(db)
    slurm_cluster.run("scancel", run.slurm_job_id)
    wait_until(lambda: runs(db)[0].status == "KILLED", timeout=120)
    (run,) = runs(db)
    assert run.error.startswith("killed by SIGTERM at epoch")
    assert Path(run.checkpoint_path).is_file()

    resubmitted = sweep(db, epochs=20, seeds="1")
    assert resubmitted.returncode == 0
    assert "submitted 1 run(s)" in resubmitted.stdout
    wait_until(lambda: runs(db)[0].status == "FINISHED")
    (run,) = runs(db)
    assert run.attempt == 2 and run.resumed_from_epoch is not None
    assert run.resumed_from_epoch >= 1


@pytest.mark.slow
def test_a_preempted_task_requeues_itself_and_resumes(slurm_cluster, isolated: Path) -> None:
    db = isolated / "results.sqlite"
    submitted = sweep(db, epochs=20, seeds="1")
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    wait_until(lambda: any(r.epochs_completed >= 1 for r in runs(db)))
    (run,) = runs(db)
    job = run.slurm_job_id
    slurm_cluster.run("scancel", "--signal=USR2", job)  # preemption / time limit warning
    wait_until(lambda: runs(db)[0].attempt == 2, timeout=180)
    wait_until(lambda: runs(db)[0].status == "FINISHED", timeout=300)
    (run,) = runs(db)
    assert run.slurm_job_id == job  # the same task, requeued by submitit
    assert run.resumed_from_epoch is not None and run.resumed_from_epoch >= 1

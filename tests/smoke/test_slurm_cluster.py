"""The single-node Slurm cluster the tests start: jobs, arrays, cancel, requeue, submitit."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import submitit

from servers.daemons import wait_until


def test_a_batch_job_runs_and_writes_a_file(slurm_cluster, tmp_path: Path) -> None:
    job_id = slurm_cluster.submit(
        f"--chdir={tmp_path}",
        "--output=job.out",
        "--wrap",
        'echo "$SLURM_JOB_ID $SLURM_CONF" > written.txt',
    )
    (job,) = slurm_cluster.wait_for(job_id, ["COMPLETED"])
    assert job.exit_code == "0:0"
    assert (tmp_path / "written.txt").read_text().split() == [job_id, str(slurm_cluster.conf)]


def test_an_array_honours_its_concurrency_limit(slurm_cluster, tmp_path: Path) -> None:
    # --array=0-1%1: two tasks, at most one running at a time.
    job_id = slurm_cluster.submit(
        f"--chdir={tmp_path}",
        "--array=0-1%1",
        "--output=task-%a.out",
        "--wrap",
        "date +%s.%N > start-$SLURM_ARRAY_TASK_ID; sleep 1; date +%s.%N > end-$SLURM_ARRAY_TASK_ID",
    )
    tasks = slurm_cluster.wait_for(job_id, ["COMPLETED"])
    assert sorted(task.job_id for task in tasks) == [f"{job_id}_0", f"{job_id}_1"]

    def interval(task: int) -> tuple[float, float]:
        return tuple(float((tmp_path / f"{edge}-{task}").read_text()) for edge in ("start", "end"))

    first, second = sorted([interval(0), interval(1)])
    assert first[1] <= second[0], f"array tasks overlapped: {first} and {second}"


def test_scancel_ends_a_running_job(slurm_cluster, tmp_path: Path) -> None:
    job_id = slurm_cluster.submit(
        f"--chdir={tmp_path}", "--output=job.out", "--wrap", "echo $$ > pid; exec sleep 300"
    )
    slurm_cluster.wait_for(job_id, ["RUNNING"])
    assert wait_until(lambda: (tmp_path / "pid").is_file(), 10.0)
    pid = int((tmp_path / "pid").read_text())
    assert Path(f"/proc/{pid}").exists()

    slurm_cluster.run("scancel", job_id)
    slurm_cluster.wait_for(job_id, ["CANCELLED"], timeout=10.0)
    assert wait_until(lambda: not Path(f"/proc/{pid}").exists(), 10.0), "the job's sleep survived"


def test_scontrol_requeue_reruns_a_job_with_its_restart_count(
    slurm_cluster, tmp_path: Path
) -> None:
    job_id = slurm_cluster.submit(
        f"--chdir={tmp_path}",
        "--output=job.out",
        "--wrap",
        'echo "run ${SLURM_RESTART_COUNT:-0}" >> runs.txt; '
        '[ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] || exec sleep 300',
    )
    slurm_cluster.wait_for(job_id, ["RUNNING"])
    assert wait_until(lambda: (tmp_path / "runs.txt").is_file(), 10.0)

    slurm_cluster.run("scontrol", "requeue", job_id)
    (job,) = slurm_cluster.wait_for(job_id, ["COMPLETED"], timeout=60.0)
    assert job.restarts == 1
    assert (tmp_path / "runs.txt").read_text().splitlines() == ["run 0", "run 1"]


def test_submitit_runs_a_python_function_on_the_cluster(slurm_cluster, tmp_path: Path) -> None:
    executor = submitit.AutoExecutor(folder=tmp_path / "submitit")
    executor.update_parameters(
        timeout_min=5, slurm_partition=slurm_cluster.partition, cpus_per_task=1
    )
    assert executor.cluster == "slurm"

    def where_and_square(x: int) -> tuple[str, str, int]:  # pickled by value: a local function
        return os.environ["SLURM_JOB_ID"], socket.gethostname(), x * x

    started = time.monotonic()
    job = executor.submit(where_and_square, 7)
    # Without accounting sacct fails and job.state stays UNKNOWN: wait on scontrol, then read
    # the result submitit wrote.
    slurm_cluster.wait_for(job.job_id, ["COMPLETED"])
    assert job.result() == (job.job_id, socket.gethostname(), 49)
    assert time.monotonic() - started < 60

"""What the store hands out: plain, frozen records — never ORM rows bound to a session."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs`` (see :class:`mtlx.store.schema.Run` for what each column means)."""

    id: int
    run_key: str
    kind: str
    experiment: str
    dataset: str
    network: str
    tasks: str
    method: str
    optimizer: str
    lr: float
    seed: int
    baseline_key: str
    config: dict[str, Any]
    status: str
    attempt: int
    owner_token: str | None
    created_at: datetime
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    epochs_completed: int
    selected_epoch: int | None
    selection_rule: str | None
    error: str | None
    note: str | None
    checkpoint_path: str | None
    checkpoint_epoch: int | None
    resumed_from_epoch: int | None
    stop_requested: str | None
    host: str
    device: str
    python_version: str
    torch_version: str
    mtlx_version: str
    git_commit: str | None
    pid: int | None
    process_started: int | None
    boot_id: str | None
    worker: dict[str, Any] | None
    slurm_job_id: str | None
    data_provenance: dict[str, Any]
    task_metrics: dict[str, Any]

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class AttemptRecord:
    """One claim of a run, with the provenance of the process that held it."""

    attempt: int
    reason: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    resumed_from_epoch: int | None
    epochs_completed: int | None
    host: str
    pid: int | None
    device: str
    git_commit: str | None
    worker: dict[str, Any] | None
    slurm_job_id: str | None
    error: str | None

    @classmethod
    def from_row(cls, row: Any) -> AttemptRecord:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class Lease:
    """The right to write for one attempt of one run. Every write names it; a write whose lease is
    no longer the run's (the run was taken over) fails with :class:`RunLostError`."""

    run_id: int
    run_key: str
    attempt: int
    token: str


@dataclass(frozen=True)
class ResumePoint:
    """Where a claimed run continues: the checkpoint recorded with it and the epochs it holds."""

    checkpoint_path: str
    epoch: int


@dataclass(frozen=True)
class Claim:
    """The outcome of asking to train a config: a lease to train under, or why not."""

    lease: Lease | None
    reason: str
    resume: ResumePoint | None = None

    @property
    def run_id(self) -> int | None:
        return None if self.lease is None else self.lease.run_id


@dataclass(frozen=True)
class Holder:
    """The process that claims a run: enough to tell later, on the same machine, whether it is
    still alive — its host, boot, process id and the process's start time (which survives PID
    reuse) — plus what to record about the worker (slot, GPU, executor) and its Slurm job."""

    host: str
    pid: int
    process_started: int | None
    boot_id: str | None
    worker: dict[str, Any] = field(default_factory=dict)
    slurm_job_id: str | None = None

    @classmethod
    def current(cls, **worker: Any) -> Holder:
        """This process, with ``worker`` details (``slot``, ``gpu``, ``executor``…)."""
        pid = os.getpid()
        host = socket.gethostname()
        job = os.environ.get("SLURM_JOB_ID")
        array_task = os.environ.get("SLURM_ARRAY_TASK_ID")
        if job and array_task and os.environ.get("SLURM_ARRAY_JOB_ID"):
            job = f"{os.environ['SLURM_ARRAY_JOB_ID']}_{array_task}"
        return cls(
            host=host,
            pid=pid,
            process_started=process_start_time(pid),
            boot_id=boot_id(),
            worker={"host": host, "pid": pid, **worker},
            slurm_job_id=job,
        )

    def sees_dead(self, host: str, pid: int | None, started: int | None, boot: str | None) -> bool:
        """Whether a run held by (``host``, ``pid``, ``started``, ``boot``) belongs to a process
        that is certainly gone: on this very machine (same host and boot) and no process with that
        id and start time exists. Anything less certain (another host, an unknown boot or start
        time) is left to the heartbeat's staleness."""
        if host != self.host or boot is None or boot != self.boot_id or pid is None:
            return False
        if started is None:
            return not _pid_exists(pid)
        return process_start_time(pid) != started


def boot_id() -> str | None:
    """The kernel's id of the current boot (Linux), None elsewhere."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def process_start_time(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux ``/proc/PID/stat``, field
    22); None if there is no such living process (a zombie is dead) or no ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may itself contain spaces or parentheses
    after_name = stat[stat.rindex(")") + 2 :].split()
    if not after_name or after_name[0] in ("Z", "X"):  # zombie or dead: gone, not yet reaped
        return None
    try:
        return int(after_name[19])  # field 22 overall: 20th after the name and state
    except (IndexError, ValueError):
        return None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True

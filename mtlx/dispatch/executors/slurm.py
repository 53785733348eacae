"""The Slurm executor: job arrays through submitit; it submits and returns.

**One run per array task.** A run is hours of GPU time, so one run per task costs nothing in
start-up and lets Slurm's own tools speak in runs: ``squeue`` shows which run waits or trains,
``scancel`` stops exactly one run, the time limit and the requeue count are per run, and each
run records its job id (``slurm_job_id``). The database's atomic claims still make any
resubmission safe: a task whose run finished or is held by a live worker exits at once.

**Arrays.** Runs are submitted as arrays of at most the cluster's ``MaxArraySize`` tasks; the
concurrency cap (``--array-parallelism``) is shared out over the arrays so that the sweep as a
whole never runs more tasks at once.

**Preemption and time limits.** submitit asks Slurm for ``SIGUSR2`` before the time limit
(``--signal=USR2@90``). A task's run stops at its next step boundary on SIGUSR2 (preemption,
time-out) or SIGTERM (``scancel``, Slurm's own preemption), writes a checkpoint and is recorded
KILLED; on SIGUSR2 the task then requeues itself through submitit's checkpointing
(:meth:`SlurmRun.checkpoint`), and the requeued task resumes the run from its checkpoint.
"""

from __future__ import annotations

import logging
import re
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtlx.dispatch.executors import EXECUTORS
from mtlx.dispatch.plan import RunPlan
from mtlx.dispatch.runtime import WorkerConfig
from mtlx.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_MAX_ARRAY_SIZE = 1001
PREEMPTION_SIGNAL = signal.SIGUSR2  # submitit's: sent before the time limit and on preemption


class SlurmError(UserError, RuntimeError):
    """Slurm cannot be reached or refused the submission."""


@dataclass(frozen=True)
class SlurmOptions:
    """Resources of each task; from the experiment file's ``slurm:`` section, then flags."""

    partition: str | None = None
    time_minutes: int = 24 * 60
    gpus: int = 0
    cpus: int = 1
    mem_gb: float | None = None
    account: str | None = None
    qos: str | None = None
    array_parallelism: int = 64
    sbatch: tuple[str, ...] = ()  # extra #SBATCH lines, e.g. "--constraint=a100"
    setup: tuple[str, ...] = ()  # shell lines run before the task (module load, …)

    def submitit_parameters(self, name: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        for line in self.sbatch:
            key, separator, value = line.removeprefix("--").partition("=")
            if not key:
                raise SlurmError(f"--sbatch {line!r}: expected --key=value or --flag")
            extra[key.replace("-", "_")] = value if separator else True
        parameters: dict[str, Any] = {
            "name": name,
            "timeout_min": self.time_minutes,
            "slurm_cpus_per_task": self.cpus,
            "slurm_array_parallelism": self.array_parallelism,
            "slurm_additional_parameters": extra,
            "slurm_setup": list(self.setup),
        }
        if self.gpus:
            parameters["slurm_gpus_per_node"] = self.gpus
        if self.partition:
            parameters["slurm_partition"] = self.partition
        if self.mem_gb is not None:
            parameters["slurm_mem_gb"] = self.mem_gb
        if self.account:
            parameters["slurm_account"] = self.account
        if self.qos:
            parameters["slurm_qos"] = self.qos
        return parameters


def parse_time(text: str | int) -> int:
    """Slurm's time formats (``90``, ``1:30:00``, ``2-00:00:00``, ``1-12``) → minutes."""
    if isinstance(text, int):
        if text < 1:
            raise ValueError(f"time must be positive, got {text}")
        return text
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if match is None:
        raise ValueError(f"time {text!r} is not a Slurm time (minutes, H:MM:SS or D-HH:MM:SS)")
    days, first, second, third = match.groups()
    if days is not None:  # D-HH[:MM[:SS]]
        minutes = (
            int(days) * 1440 + int(first) * 60 + int(second or 0) + (1 if int(third or 0) else 0)
        )
    elif third is not None:  # HH:MM:SS
        minutes = int(first) * 60 + int(second) + (1 if int(third) else 0)
    elif second is not None:  # MM:SS
        minutes = int(first) + (1 if int(second) else 0)
    else:
        minutes = int(first)
    if minutes < 1:
        raise ValueError(f"time {text!r} is shorter than a minute")
    return minutes


def parse_memory(text: str | float | int) -> float:
    """``32G``, ``500M``, ``1T`` or a number of GB → GB."""
    if isinstance(text, int | float):
        return float(text)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)B?", text.strip().upper())
    if match is None:
        raise ValueError(f"memory {text!r} is not like 32G, 500M or 1T")
    scale = {"K": 1 / 1024**2, "M": 1 / 1024, "G": 1.0, "T": 1024.0, "": 1.0}[match.group(2)]
    return float(match.group(1)) * scale


class SlurmRun:
    """What one array task runs: one planned run, by a worker that builds everything itself from
    plain configuration (submitit pickles this object into the job)."""

    def __init__(self, config: WorkerConfig, plan: RunPlan) -> None:
        self.config = config
        self.plan = plan

    def __call__(self) -> str:
        from mtlx.dispatch.progress import epoch_line
        from mtlx.dispatch.runtime import WorkerRuntime
        from mtlx.dispatch.signals import StopRequest, handle_signals
        from mtlx.dispatch.worker import execute

        class Lines:
            """The task's log: a line per epoch (a Slurm log is not a terminal)."""

            def run_started(self, plan: RunPlan, reason: str) -> None:
                print(f"{plan.run_key} {plan.label()}: {reason}", flush=True)

            def epoch_finished(self, plan: RunPlan, result: Any) -> None:
                print(epoch_line(plan, result), flush=True)

            def run_finished(self, plan: RunPlan, outcome: Any) -> None:
                print(f"{outcome.status} {plan.run_key} {outcome.error or ''}", flush=True)

            def sweep_started(self, total: int, skipped: int) -> None:
                return None

            def sweep_finished(self) -> None:
                return None

        runtime = WorkerRuntime(self.config.with_device(), reporter=Lines())
        stop = StopRequest()
        with handle_signals(stop, extra=(PREEMPTION_SIGNAL,)):
            outcome = execute(self.plan, runtime, stop)
        print(f"{outcome.status} {outcome.run_key} {outcome.reason}".rstrip(), flush=True)
        if stop.signal == PREEMPTION_SIGNAL:
            # preempted or out of time: the run is KILLED with a checkpoint; let submitit's own
            # handler requeue this task (it calls checkpoint() below, then exits)
            previous = stop.previous_handlers.get(PREEMPTION_SIGNAL)
            if callable(previous):
                previous(PREEMPTION_SIGNAL, None)
        return f"{outcome.status} {outcome.run_key}"

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """submitit's hook on preemption: requeue this same task. The run's own state is in the
        database and its checkpoint file; the requeued task claims the run and resumes it."""
        import submitit

        return submitit.helpers.DelayedSubmission(SlurmRun(self.config, self.plan))


def max_array_size() -> int:
    """The cluster's MaxArraySize (an array's largest index is one less)."""
    scontrol = shutil.which("scontrol")
    if scontrol is None:
        raise SlurmError("scontrol is not on PATH: is this a Slurm login node?")
    result = subprocess.run(
        [scontrol, "show", "config"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        raise SlurmError(f"Slurm is not answering: {reason[0] if reason else 'scontrol failed'}")
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", result.stdout, flags=re.MULTILINE)
    return int(match.group(1)) if match else DEFAULT_MAX_ARRAY_SIZE


def chunks(plans: Sequence[RunPlan], size: int) -> list[list[RunPlan]]:
    return [list(plans[start : start + size]) for start in range(0, len(plans), size)]


@dataclass
class Submission:
    """What was submitted: job ids (``<array>_<task>``) per run key, and where the logs go."""

    jobs: dict[str, str] = field(default_factory=dict)
    arrays: list[str] = field(default_factory=list)
    logs: Path | None = None


@EXECUTORS.register("slurm")
class SlurmExecutor:
    """Submit every plan as one array task (see the module docstring) and return."""

    def __init__(self, options: SlurmOptions, logs: Path) -> None:
        self.options = options
        self.logs = logs

    def submit(self, plans: Sequence[RunPlan], config: WorkerConfig, name: str) -> Submission:
        if shutil.which("sbatch") is None:
            raise SlurmError("sbatch is not on PATH: --executor slurm runs on a Slurm login node")
        import submitit

        self.logs.mkdir(parents=True, exist_ok=True)
        submission = Submission(logs=self.logs)
        groups = chunks(plans, max_array_size())
        parallelism = max(1, self.options.array_parallelism // max(1, len(groups)))
        parameters = self.options.submitit_parameters(name)
        parameters["slurm_array_parallelism"] = parallelism
        executor = submitit.AutoExecutor(folder=self.logs / "%j", cluster="slurm")
        executor.update_parameters(**parameters)
        for group in groups:
            jobs = []
            try:
                with executor.batch():
                    for plan in group:
                        jobs.append(executor.submit(SlurmRun(config, plan)))
            except (subprocess.CalledProcessError, RuntimeError) as error:
                raise SlurmError(f"sbatch refused the submission: {error}") from None
            if jobs:
                submission.arrays.append(str(jobs[0].job_id).split("_")[0])
            for plan, job in zip(group, jobs, strict=True):
                submission.jobs[plan.run_key] = str(job.job_id)
        return submission


def describe_submission(submission: Submission, experiment: str) -> list[str]:
    """What to tell the user after submitting: ids and how to watch the sweep."""
    if not submission.jobs:
        return ["nothing to submit: every planned run is finished or running"]
    arrays = ", ".join(submission.arrays)
    return [
        f"submitted {len(submission.jobs)} run(s) as Slurm array job(s) {arrays}",
        f"watch:  mtlx status {experiment}     squeue -j {','.join(submission.arrays)}",
        f"logs:   {submission.logs}/<job id>/",
        f"stop:   scancel {' '.join(submission.arrays)}   (runs stop KILLED with a checkpoint)",
    ]


def slurm_options(section: Mapping[str, Any], **flags: Any) -> SlurmOptions:
    """The experiment file's ``slurm:`` section, overridden by the flags that were given."""
    merged = {**section, **{k: v for k, v in flags.items() if v not in (None, (), [])}}
    options: dict[str, Any] = {}
    if "partition" in merged:
        options["partition"] = str(merged["partition"])
    if "time" in merged:
        options["time_minutes"] = parse_time(merged["time"])
    if "gpus" in merged:
        options["gpus"] = int(merged["gpus"])
    if "cpus" in merged:
        options["cpus"] = int(merged["cpus"])
    if "mem" in merged:
        options["mem_gb"] = parse_memory(merged["mem"])
    for key in ("account", "qos"):
        if key in merged:
            options[key] = str(merged[key])
    if "array_parallelism" in merged:
        options["array_parallelism"] = int(merged["array_parallelism"])
    if "sbatch" in merged:
        options["sbatch"] = tuple(str(line) for line in merged["sbatch"])
    if "setup" in merged:
        options["setup"] = tuple(str(line) for line in merged["setup"])
    return SlurmOptions(**options)

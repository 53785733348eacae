"""The local executor: runs in this process, or a pool of worker processes on this machine.

One worker (the default, ``--workers 1``) trains the runs one after another in this process. A
pool (``--workers N`` on the CPU; ``--gpus 0,1,2,3 --jobs-per-gpu K``) starts one process per
slot, each seeing only its GPU (``CUDA_VISIBLE_DEVICES``, set before CUDA initialises) or its share
of the CPU's threads. A worker lives for many runs — one ``import torch``, datasets loaded once —
and takes its next run by claiming it in the database, starting its pass over the sweep at its
own offset so that workers rarely contend. Pools on several machines sharing one PostgreSQL
therefore cooperate with no other coordination.

A worker that crashes (out of memory, a segfault) is replaced; its run is taken over at once by
its replacement (a dead process on this host) and resumes from its checkpoint. A signal to this
process (Ctrl-C, SIGTERM, SIGHUP) reaches every worker: each stops its run at the next step with a
checkpoint (KILLED) and exits; nothing is left RUNNING. The parent shows progress read from the
database. Workers die with their parent (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from typing import Any

from mtlx.dispatch.executors import EXECUTORS
from mtlx.dispatch.plan import RunOutcome, RunPlan
from mtlx.dispatch.progress import epoch_line
from mtlx.dispatch.runtime import WorkerConfig, WorkerRuntime
from mtlx.dispatch.signals import StopRequest, handle_signals
from mtlx.dispatch.worker import execute
from mtlx.store.schema import RunStatus

log = logging.getLogger(__name__)

CRASHES_BEFORE_GIVING_UP = 3  # consecutive crashes of one slot's worker
POLL_SECONDS = 0.5
SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class Slot:
    """One worker of a pool: its index and the GPU it sees (None: the CPU)."""

    index: int
    gpu: int | None = None

    def describe(self) -> dict[str, Any]:
        gpu = {} if self.gpu is None else {"gpu": self.gpu}
        return {"executor": "local", "slot": self.index, **gpu}


def pool_slots(workers: int, gpus: Sequence[int] | None, jobs_per_gpu: int) -> list[Slot]:
    """``--gpus 0,1 --jobs-per-gpu 2`` → slots (0, gpu 0), (1, gpu 0), (2, gpu 1), (3, gpu 1)."""
    if jobs_per_gpu < 1:
        raise ValueError(f"--jobs-per-gpu must be at least 1, got {jobs_per_gpu}")
    if gpus:
        if len(set(gpus)) != len(gpus):
            raise ValueError(f"--gpus lists a GPU twice: {','.join(map(str, gpus))}")
        return [Slot(i, gpu) for i, gpu in enumerate(g for g in gpus for _ in range(jobs_per_gpu))]
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    return [Slot(i) for i in range(workers)]


def cpu_threads(workers: int) -> int:
    """torch threads per worker: the CPUs this process may use, shared out."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        available = os.cpu_count() or 1
    return max(1, available // workers)


@EXECUTORS.register("local")
class LocalExecutor:
    """In this process (one worker, no GPU list), else a pool of worker processes."""

    def __init__(
        self,
        workers: int = 1,
        gpus: Sequence[int] | None = None,
        jobs_per_gpu: int = 1,
        progress: Any | None = None,
    ) -> None:
        self.slots = pool_slots(workers, gpus, jobs_per_gpu)
        self.in_process = len(self.slots) == 1 and self.slots[0].gpu is None
        self.progress = progress  # a PoolProgress-like monitor for the pool (None: quiet)

    def run(
        self, plans: Sequence[RunPlan], runtime: WorkerRuntime, stop: StopRequest
    ) -> list[RunOutcome]:
        if self.in_process:
            outcomes = []
            for plan in plans:
                if stop.signal is not None:
                    break
                outcomes.append(execute(plan, runtime, stop))
            return outcomes
        return _Pool(self.slots, plans, runtime, stop, self.progress).run()


class _Pool:
    """The parent of a pool: starts, watches, replaces and stops its workers."""

    def __init__(
        self,
        slots: list[Slot],
        plans: Sequence[RunPlan],
        runtime: WorkerRuntime,
        stop: StopRequest,
        progress: Any | None,
    ) -> None:
        self.slots = slots
        self.plans = list(plans)
        self.runtime = runtime
        self.stop = stop
        self.progress = progress
        self.context = multiprocessing.get_context("spawn")
        self.messages: Any = self.context.Queue()
        self.processes: dict[int, BaseProcess] = {}
        self.finished_slots: set[int] = set()
        self.crashes: dict[int, int] = {}
        self.outcomes: dict[str, RunOutcome] = {}
        self.forwarded = False
        self.threads = cpu_threads(len(slots)) if slots[0].gpu is None else None
        self.ended_before = runtime.policy.ended_before
        self.print_epochs = progress is None or not getattr(progress, "is_terminal", False)

    def _start(self, slot: Slot) -> None:
        start = slot.index * len(self.plans) // len(self.slots)
        worker = {**self.runtime.config.worker, **slot.describe()}
        config = replace(self.runtime.config, worker=worker)
        process = self.context.Process(
            target=worker_main,
            args=(
                config,
                self.plans,
                start,
                slot,
                self.threads,
                self.ended_before,
                self.messages,
                os.getpid(),
                self.print_epochs,
            ),
            name=f"mtlx-worker-{slot.index}",
            daemon=False,
        )
        process.start()
        self.processes[slot.index] = process

    def run(self) -> list[RunOutcome]:
        for slot in self.slots:
            self._start(slot)
        slots = {slot.index: slot for slot in self.slots}
        if self.progress is not None:
            self.progress.start(self.plans, self.processes)
        try:
            while self.processes:
                self._drain(POLL_SECONDS)
                if self.stop.signal is not None and not self.forwarded:
                    self._forward(signal.SIGTERM)
                for index, process in list(self.processes.items()):
                    if process.is_alive():
                        continue
                    process.join()
                    del self.processes[index]
                    self._drain(0)
                    if index in self.finished_slots or self.stop.signal is not None:
                        continue
                    self._replace(slots[index], process.exitcode)
                if self.progress is not None:
                    self.progress.refresh(self.processes)
        finally:
            if self.processes:  # leaving on an exception: no worker outlives the pool
                self._forward(signal.SIGTERM)
                for process in self.processes.values():
                    process.join(timeout=60)
            if self.progress is not None:
                self.progress.stop()
        return list(self.outcomes.values())

    def _replace(self, slot: Slot, exitcode: int | None) -> None:
        self.crashes[slot.index] = self.crashes.get(slot.index, 0) + 1
        if self.crashes[slot.index] > CRASHES_BEFORE_GIVING_UP:
            log.error(
                "worker %d crashed %d times in a row (exit code %s); not replaced",
                slot.index,
                self.crashes[slot.index],
                exitcode,
            )
            return
        log.warning(
            "worker %d died (exit code %s); starting another, which resumes its run",
            slot.index,
            exitcode,
        )
        self._start(slot)

    def _forward(self, signum: int) -> None:
        self.forwarded = True
        for process in self.processes.values():
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signum)

    def _drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                kind, slot, payload = self.messages.get(timeout=remaining)
            except queue.Empty:
                return
            if kind == "outcome":
                self._record(payload)
                self.crashes[slot] = 0
            elif kind == "done":
                self.finished_slots.add(slot)
            elif kind == "error":
                log.error("worker %d failed outside any run:\n%s", slot, payload)
                self.finished_slots.add(slot)
            if self.progress is not None and kind == "outcome":
                self.progress.outcome(payload)

    def _record(self, outcome: RunOutcome) -> None:
        """One outcome per run: a trained one wins over a skip by another worker."""
        known = self.outcomes.get(outcome.run_key)
        if known is None or (known.status == SKIPPED and outcome.status != SKIPPED):
            self.outcomes[outcome.run_key] = outcome


def _die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (a clean, checkpointed stop)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return


def worker_main(
    config: WorkerConfig,
    plans: list[RunPlan],
    start: int,
    slot: Slot,
    threads: int | None,
    ended_before: Any,
    messages: Any,
    parent: int,
    print_epochs: bool,
) -> None:
    """One pool worker: claim and train runs from ``start`` on, wrapping around, until every plan
    was visited; report each outcome to the parent."""
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the request above took effect
        return
    if slot.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(slot.gpu)  # before torch initialises CUDA
    try:
        import torch

        if threads is not None:
            torch.set_num_threads(threads)
        reporter = _EpochLines(slot) if print_epochs else None
        runtime = WorkerRuntime(config, reporter=reporter)
        runtime.policy = replace(runtime.policy, ended_before=ended_before)
        stop = StopRequest()
        finished = runtime.store.statuses(plan.run_key for plan in plans)
        order = plans[start:] + plans[:start]
        with handle_signals(stop):
            for plan in order:
                if stop.signal is not None:
                    break
                if finished.get(plan.run_key) == RunStatus.FINISHED.value:
                    continue
                outcome = execute(plan, runtime, stop)
                messages.put(("outcome", slot.index, outcome))
        messages.put(("done", slot.index, stop.signal))
    except KeyboardInterrupt:
        messages.put(("done", slot.index, signal.SIGINT))
    except Exception:  # a worker that cannot even start: the parent says why and goes on
        messages.put(("error", slot.index, traceback.format_exc()))


class _EpochLines:
    """A worker's report when the output is not a terminal: a line per epoch and per run."""

    def __init__(self, slot: Slot) -> None:
        self.prefix = f"[worker {slot.index}{'' if slot.gpu is None else f' gpu {slot.gpu}'}]"

    def sweep_started(self, total: int, skipped: int) -> None:
        return None

    def run_started(self, plan: RunPlan, reason: str) -> None:
        print(f"{self.prefix} {plan.run_key} {plan.label()}: {reason}", flush=True)

    def epoch_finished(self, plan: RunPlan, result: Any) -> None:
        print(f"{self.prefix} {epoch_line(plan, result)}", flush=True)

    def run_finished(self, plan: RunPlan, outcome: RunOutcome) -> None:
        detail = f"  ({outcome.error.strip().splitlines()[-1]})" if outcome.error else ""
        print(f"{self.prefix} {outcome.status} {plan.run_key} {plan.label()}{detail}", flush=True)

    def sweep_finished(self) -> None:
        return None

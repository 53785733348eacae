"""Executing one planned run: claim it, resume or start it, train, checkpoint, record, close it.

The order of writes is what makes a run survive anything: after an epoch, the checkpoint file is
written (atomically) first, then the epoch's metrics and the checkpoint's path are committed in one
transaction — so the recorded epochs and the recorded checkpoint always agree, whatever moment a
worker dies at. A resumed run loads that checkpoint; epochs recorded after it are dropped by the
claim and trained again, identically.

A run that raises is recorded FAILED with its traceback tail (its checkpoint kept, so a retry
resumes) and the caller goes on. A stop request (a signal, ``mtlx cancel``, a database that cannot
be reached) ends the run at its next step boundary with a checkpoint, recorded KILLED. A worker
that lost its run to another worker (it was paused past the stale window) writes nothing more.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from mtlx.analysis.delta_m import delta_m
from mtlx.dispatch.plan import RunOutcome, RunPlan
from mtlx.dispatch.runtime import WorkerRuntime
from mtlx.dispatch.signals import StopRequest
from mtlx.spec import RunConfig
from mtlx.store.entities import Lease, ResumePoint
from mtlx.store.runs import RunLostError, RunStore
from mtlx.store.schema import RunStatus

if TYPE_CHECKING:
    from mtlx.engine.trainer import SelectionRule, TrainingRun
    from mtlx.tasks import Task

log = logging.getLogger(__name__)

HEARTBEAT_FAILURES_BEFORE_STOP = 5
SELECTED_CHECKPOINT_KEY = "selected_checkpoint"


def selection_rule(
    config: RunConfig, tasks: list[Task], store: RunStore, rule: str | None = None
) -> SelectionRule:
    """Validation ΔM against the stored single-task baseline when one exists, else validation loss.

    A single-task baseline selects on its validation loss (the seed paper, appendix A3.2: "The
    training was stopped early based on the validation loss"). ``rule``: the rule a resumed run
    started with, kept for the whole run.
    """
    from mtlx.engine.trainer import SelectionRule, validation_loss_rule

    if config.kind == "stl" or rule == "val_loss":
        return validation_loss_rule(tasks)
    directions = {m.name: m.higher_is_better for task in tasks for m in task.metrics}
    baseline = store.baseline_values(config.baseline_key, "val")
    if all(name in baseline for name in directions):
        return SelectionRule(
            "val_delta_m",
            lambda metrics: delta_m({k: metrics[k] for k in directions}, baseline, directions),
        )
    return validation_loss_rule(tasks)


def describe_metrics(tasks: list[Task]) -> dict[str, dict[str, object]]:
    return {
        task.name: {
            "primary": task.primary_metric,
            "metrics": {metric.name: metric.higher_is_better for metric in task.metrics},
        }
        for task in tasks
    }


class Heartbeat:
    """Refreshes a run's heartbeat every ``interval`` seconds on a daemon thread.

    It survives transient database errors; after several failed beats in a row it asks the run to
    stop (a worker that cannot beat would soon be taken over). A beat that finds the run taken
    over, or a stop request from ``mtlx cancel``, stops the run at its next step boundary.
    """

    def __init__(self, store: RunStore, lease: Lease, stop: StopRequest, interval: float) -> None:
        self.store, self.lease, self.stop, self.interval = store, lease, stop, interval
        self.lost: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="mtlx-heartbeat")

    def _beat(self) -> None:
        failures = 0
        while not self._done.wait(self.interval):
            try:
                requested = self.store.heartbeat(self.lease)
            except RunLostError as error:
                self.lost = str(error)
                self.stop.stop_run(f"lost: {error}")
                return
            except (SQLAlchemyError, OSError) as error:
                failures += 1
                log.warning(
                    "heartbeat of run %s failed (%d in a row): %s",
                    self.lease.run_key,
                    failures,
                    str(error).splitlines()[0],
                )
                if failures >= HEARTBEAT_FAILURES_BEFORE_STOP:
                    self.stop.stop_run(
                        f"stopped: no heartbeat reached the database {failures} times in a row"
                    )
                continue
            failures = 0
            if requested:
                self.stop.stop_run(f"cancelled: {requested}")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()


class _Checkpoints:
    """The checkpoint files of one attempt: which one holds the selected epoch, which the last."""

    def __init__(self, runtime: WorkerRuntime, lease: Lease) -> None:
        from mtlx.engine.checkpoint import CheckpointFolder

        self.folder = CheckpointFolder(Path(runtime.config.checkpoint_root), lease.run_key)
        self.attempt = lease.attempt
        self.selected: str | None = None  # the file holding the selected epoch's state
        self.latest: str | None = None

    def write(self, run: TrainingRun, step: int | None = None) -> ResumePoint:
        from mtlx.engine.checkpoint import save_atomically

        path = self.folder.path(self.attempt, run.epoch, step)
        if step is None and run.is_new_best:
            self.selected = str(path)
        state = run.state_dict()
        state[SELECTED_CHECKPOINT_KEY] = self.selected
        save_atomically(state, path)
        return ResumePoint(str(path), run.epoch)

    def committed(self, point: ResumePoint) -> None:
        """``point`` is now the recorded checkpoint: older files but the selected one can go."""
        self.latest = point.checkpoint_path
        self.folder.remove_except(self.latest, self.selected, up_to_attempt=self.attempt)

    def discard(self, point: ResumePoint) -> None:
        """A file written but never recorded (the run was lost meanwhile)."""
        Path(point.checkpoint_path).unlink(missing_ok=True)

    def keep(self, run: TrainingRun, policy: str) -> str | None:
        """After the run finished: the weights to keep (``selected``, ``last`` or ``none``)."""
        from mtlx.engine.checkpoint import load_checkpoint, save_atomically

        if policy == "none":
            self.folder.remove_except()
            return None
        if policy == "last" or run.best_epoch == run.epoch:
            model, epoch = run.network.state_dict(), run.epoch
        elif self.selected is not None:
            state = load_checkpoint(self.selected)
            model, epoch = state["model"], int(state["epoch"])
        else:  # every new best is checkpointed, so only a lost file gets here
            raise FileNotFoundError(
                f"run {run.config.run_key}: no checkpoint holds its selected epoch {run.best_epoch}"
            )
        target = self.folder.kept(policy)
        save_atomically(
            {
                "format": 1,
                "kind": f"{policy} weights",
                "run_key": run.config.run_key,
                "epoch": epoch,
                "model": model,
                "config": run.config.as_dict(),
            },
            target,
        )
        self.folder.remove_except(target)
        return str(target)


def execute(plan: RunPlan, runtime: WorkerRuntime, stop: StopRequest | None = None) -> RunOutcome:
    """Train ``plan`` unless it is finished or held by a live worker; record everything."""
    from mtlx.provenance import provenance

    stop = stop or StopRequest()
    stop.next_run()
    store, config = runtime.store, plan.config
    claim = store.claim(
        config,
        plan.experiment,
        provenance(runtime.config.device),
        runtime.holder,
        runtime.policy,
    )
    if claim.lease is None:
        return RunOutcome(plan.run_key, "SKIPPED", claim.reason)
    lease = claim.lease
    runtime.reporter.run_started(plan, claim.reason)
    try:
        with Heartbeat(store, lease, stop, runtime.config.heartbeat_s) as heartbeat:
            outcome = replace(_train(plan, runtime, lease, claim.resume, stop), reason=claim.reason)
        if heartbeat.lost and outcome.status != "LOST":
            outcome = RunOutcome(plan.run_key, "LOST", claim.reason, heartbeat.lost)
    except RunLostError as error:
        log.warning("%s", error)
        outcome = RunOutcome(plan.run_key, "LOST", claim.reason, str(error))
    except KeyboardInterrupt:
        _record_failure(store, lease, "interrupted (KeyboardInterrupt)", RunStatus.KILLED)
        runtime.reporter.run_finished(plan, RunOutcome(plan.run_key, RunStatus.KILLED.value))
        raise
    except Exception:  # a failing run is recorded and the sweep goes on
        error = traceback.format_exc()
        _record_failure(store, lease, error, RunStatus.FAILED)
        outcome = RunOutcome(plan.run_key, RunStatus.FAILED.value, claim.reason, error)
    runtime.reporter.run_finished(plan, outcome)
    return outcome


def _record_failure(store: RunStore, lease: Lease, error: str, status: RunStatus) -> None:
    try:
        store.fail(lease, error, status)
    except RunLostError as lost:
        log.warning("%s", lost)
    except SQLAlchemyError as database_error:
        log.error(
            "run %s could not be recorded %s: %s",
            lease.run_key,
            status.value,
            str(database_error).splitlines()[0],
        )


def _train(
    plan: RunPlan,
    runtime: WorkerRuntime,
    lease: Lease,
    resume: ResumePoint | None,
    stop: StopRequest,
) -> RunOutcome:
    from mtlx.engine.checkpoint import CheckpointError, load_checkpoint
    from mtlx.engine.trainer import TrainingRun

    store, config, settings = runtime.store, plan.config, runtime.config
    data = runtime.dataset(config)
    tasks = [data.task(name) for name in config.tasks]
    store.set_data(lease, data.provenance, describe_metrics(tasks))
    checkpoints = _Checkpoints(runtime, lease)
    state: Mapping[str, Any] | None = None
    restart_note: str | None = None
    if resume is not None:
        try:
            state = load_checkpoint(resume.checkpoint_path)
        except CheckpointError as error:
            restart_note = f"{error}; trained again from epoch 0"
            log.warning("run %s: %s", lease.run_key, restart_note)
            store.restart(lease, restart_note)
    rule = state["selection"]["rule"] if state is not None else None
    run = TrainingRun(
        config,
        data,
        settings.device,
        selection_rule(config, tasks, store, rule),
        jacobian_mode=settings.jacobian_mode,
        num_workers=settings.loader_workers,
    )
    if state is not None:
        run.load_state_dict(state)
        checkpoints.selected = state.get(SELECTED_CHECKPOINT_KEY)
        checkpoints.latest = resume.checkpoint_path if resume else None

    while not run.finished:
        result = run.train_epoch(stop)
        if result is None:
            return _stopped(plan, runtime, lease, run, checkpoints, stop)
        due = run.epoch % plan.checkpoint_every == 0 or run.is_new_best or run.finished
        point = checkpoints.write(run) if due else None
        try:
            store.record_epoch(lease, result.epoch, result.metrics, point)
        except RunLostError:
            if point is not None:
                checkpoints.discard(point)
            raise
        if point is not None:
            checkpoints.committed(point)
        runtime.reporter.epoch_finished(plan, result)

    outcome = run.outcome()
    kept = checkpoints.keep(run, settings.keep)
    note = "; ".join(n for n in (restart_note, outcome.note) if n) or None
    store.finish(lease, outcome.selected_epoch, outcome.selection_rule, note, kept)
    return RunOutcome(plan.run_key, RunStatus.FINISHED.value, "", note)


def _stopped(
    plan: RunPlan,
    runtime: WorkerRuntime,
    lease: Lease,
    run: TrainingRun,
    checkpoints: _Checkpoints,
    stop: StopRequest,
) -> RunOutcome:
    """Stopped between steps: checkpoint exactly there, record KILLED with the reason."""
    reason = stop.run_reason() or "stopped"
    if reason.startswith("lost: "):
        raise RunLostError(reason.removeprefix("lost: "))
    progress = run.progress
    step = progress.steps if progress is not None else 0
    point = checkpoints.write(run, step=step)
    where = f"epoch {run.epoch + 1} step {step}" if progress is not None else f"epoch {run.epoch}"
    message = f"{reason} at {where}; resumes from checkpoint {Path(point.checkpoint_path).name}"
    try:
        runtime.store.fail(lease, message, RunStatus.KILLED, checkpoint=point)
    except RunLostError:
        checkpoints.discard(point)
        raise
    checkpoints.committed(point)
    return RunOutcome(plan.run_key, RunStatus.KILLED.value, "", message)

"""Progress of a sweep in this process: live bars on a terminal, one line per epoch elsewhere.

On a terminal, a bar over runs and one over the current run's epochs (rich). When the output is
not a terminal — a Slurm log, ``nohup``, a pipe — one plain line per epoch (run, epoch, losses,
validation score, seconds) and per finished run, so a log file tells where a run got to.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from mtlx.dispatch.plan import RunOutcome, RunPlan
    from mtlx.engine.trainer import EpochResult


class Reporter(Protocol):
    def sweep_started(self, total: int, skipped: int) -> None: ...
    def run_started(self, plan: RunPlan, reason: str) -> None: ...
    def epoch_finished(self, plan: RunPlan, result: EpochResult) -> None: ...
    def run_finished(self, plan: RunPlan, outcome: RunOutcome) -> None: ...
    def sweep_finished(self) -> None: ...


class NullReporter:
    def sweep_started(self, total: int, skipped: int) -> None:
        return None

    def run_started(self, plan: RunPlan, reason: str) -> None:
        return None

    def epoch_finished(self, plan: RunPlan, result: EpochResult) -> None:
        return None

    def run_finished(self, plan: RunPlan, outcome: RunOutcome) -> None:
        return None

    def sweep_finished(self) -> None:
        return None


def epoch_line(plan: RunPlan, result: EpochResult) -> str:
    """``<run_key> <label> epoch e/E  left.loss 0.412 right.loss 0.388  val 0.801  12.3 s``."""
    epochs = plan.config.training["epochs"]
    losses = "  ".join(
        f"{name} {value:.4g}"
        for name, value in result.metrics["train"].items()
        if name.endswith(".loss")
    )
    return (
        f"{plan.run_key} {plan.label()} epoch {result.epoch}/{epochs}  {losses}  "
        f"val {result.score:.4g}  {result.seconds:.1f} s"
    )


class RichReporter:
    """Live bars on a terminal; one line per epoch and per finished run when not a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self.runs_bar = None
        self.epoch_bar = None

    def _print(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def sweep_started(self, total: int, skipped: int) -> None:
        if skipped:
            self._print(f"{skipped} run(s) already finished in the database: skipped")
        self.progress.start()
        self.runs_bar = self.progress.add_task("runs", total=total)

    def run_started(self, plan: RunPlan, reason: str) -> None:
        epochs = plan.config.training["epochs"]
        if self.epoch_bar is not None:
            self.progress.remove_task(self.epoch_bar)
        self.epoch_bar = self.progress.add_task(f"  {plan.label()}", total=epochs)
        if reason != "new":
            self._print(f"{plan.label()} [{plan.run_key}]: {reason}")

    def epoch_finished(self, plan: RunPlan, result: EpochResult) -> None:
        if self.epoch_bar is not None:
            self.progress.update(self.epoch_bar, completed=result.epoch)
        if self.progress.disable:
            self._print(epoch_line(plan, result))

    def run_finished(self, plan: RunPlan, outcome: RunOutcome) -> None:
        if self.runs_bar is not None:
            self.progress.advance(self.runs_bar)
        line = (
            f"{outcome.status:<8} {plan.config.dataset['name']} {plan.label()} [{outcome.run_key}]"
        )
        if outcome.status == "FAILED" and outcome.error:
            line += f"\n  {outcome.error.strip().splitlines()[-1]}"
        elif outcome.error:
            line += f"  ({outcome.error})"
        if self.progress.disable or outcome.status != "FINISHED":
            self._print(line)

    def sweep_finished(self) -> None:
        self.progress.stop()


class PoolProgress:
    """A pool's progress on a terminal, read from the database every few seconds: runs done out
    of the sweep's, and what each worker is training (epoch, heartbeat age). Off a terminal the
    workers print their own lines and this stays quiet."""

    REFRESH_SECONDS = 2.0

    def __init__(self, console: Console, store: Any) -> None:
        self.console = console
        self.store = store
        self.is_terminal = console.is_terminal
        self.live: Any = None
        self.keys: list[str] = []
        self.labels: dict[str, str] = {}
        self.epochs: dict[str, int] = {}
        self.counts: Counter[str] = Counter()
        self.last = 0.0

    def start(self, plans: Sequence[RunPlan], processes: Mapping[int, Any]) -> None:
        self.keys = [plan.run_key for plan in plans]
        self.labels = {plan.run_key: plan.label() for plan in plans}
        self.epochs = {plan.run_key: plan.config.training["epochs"] for plan in plans}
        if self.is_terminal:
            from rich.live import Live

            self.live = Live(self._render(processes), console=self.console, auto_refresh=False)
            self.live.start()

    def outcome(self, outcome: RunOutcome) -> None:
        if outcome.status != "SKIPPED":
            self.counts[outcome.status] += 1
            if outcome.status != "FINISHED" and self.live is not None:
                detail = outcome.error.strip().splitlines()[-1] if outcome.error else ""
                label = self.labels.get(outcome.run_key, "")
                self.live.console.print(
                    f"{outcome.status} {label} [{outcome.run_key}] {detail}",
                    markup=False,
                    highlight=False,
                )

    def refresh(self, processes: Mapping[int, Any]) -> None:
        if self.live is None or time.monotonic() - self.last < self.REFRESH_SECONDS:
            return
        self.last = time.monotonic()
        self.live.update(self._render(processes), refresh=True)

    def _render(self, processes: Mapping[int, Any]) -> Any:
        from rich.console import Group
        from rich.table import Table

        pids = {process.pid: slot for slot, process in processes.items()}
        running = [run for run in self.store.runs(status="RUNNING") if run.pid in pids]
        now = self.store.server_time()
        table = Table(box=None, pad_edge=False)
        for column in ("worker", "run", "epoch", "heartbeat"):
            table.add_column(column)
        for run in sorted(running, key=lambda r: pids[r.pid]):
            slot = (run.worker or {}).get("gpu")
            where = f"{pids[run.pid]}" + (f" (gpu {slot})" if slot is not None else "")
            table.add_row(
                where,
                f"{self.labels.get(run.run_key, run.method)} [{run.run_key}]",
                f"{run.epochs_completed}/{self.epochs.get(run.run_key, '?')}",
                f"{(now - run.heartbeat_at).total_seconds():.0f} s ago",
            )
        done = ", ".join(f"{n} {status.lower()}" for status, n in sorted(self.counts.items()))
        header = (
            f"{sum(self.counts.values())} of {len(self.keys)} runs done"
            + (f" ({done})" if done else "")
            + f", {len(processes)} worker(s)"
        )
        return Group(header, table)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

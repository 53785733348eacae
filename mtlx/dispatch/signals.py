"""Stopping cleanly: signals become a request that training reads between steps.

SIGTERM and SIGHUP (what Slurm, docker and systemd send), SIGINT (Ctrl-C) and SIGUSR1 (Slurm's
warning before a time limit, with ``sbatch --signal=USR1@120``) all ask the run in progress to stop
at its next step boundary, write a checkpoint and be recorded KILLED with the signal's name; the
command then exits with the conventional status 128 + the signal's number. A second Ctrl-C stops
at once (``KeyboardInterrupt``). A cancel request from the database (``mtlx cancel``) or a worker
that lost its database stops the run the same way without stopping the worker.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGUSR1)


class StopRequest:
    """Whether the run in progress should stop, and why; callable as ``should_stop``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reason: str | None = None
        self.signal: int | None = None  # set when a signal asked: the worker stops too
        self._run_reason: str | None = None  # a request for the current run only (cancel)
        self.previous_handlers: dict[int, object] = {}  # what handle_signals replaced

    def __call__(self) -> bool:
        return self.reason is not None or self._run_reason is not None

    def signal_received(self, signum: int) -> None:
        with self._lock:
            if self.signal is None:
                self.signal = signum
                self.reason = f"killed by {signal.Signals(signum).name}"

    def stop_run(self, reason: str) -> None:
        """Stop the current run only (cancelled, database unreachable); the worker goes on."""
        with self._lock:
            if self._run_reason is None:
                self._run_reason = reason

    def run_reason(self) -> str | None:
        return self.reason or self._run_reason

    def next_run(self) -> None:
        """Forget a request that concerned the previous run only."""
        with self._lock:
            self._run_reason = None

    @property
    def exit_code(self) -> int | None:
        """128 + the signal's number, the shell's convention, once a signal was received."""
        return None if self.signal is None else 128 + self.signal


@contextmanager
def handle_signals(stop: StopRequest, extra: tuple[int, ...] = ()) -> Iterator[StopRequest]:
    """Route the stop signals (and ``extra`` ones) to ``stop`` while the block runs (main thread
    only); the handlers they replaced are in ``stop.previous_handlers``."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and stop.signal == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now
        stop.signal_received(signum)

    previous = {signum: signal.signal(signum, on_signal) for signum in (*STOP_SIGNALS, *extra)}
    stop.previous_handlers = dict(previous)
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

"""The real ``mtlx`` command in processes of its own, for the tests that signal, kill, pause or
submit it (faults, the pool, Slurm): building its command line, starting and finishing it, and
reading its database while it runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mtlx.store.database import SchemaVersionError, open_database
from mtlx.store.entities import RunRecord
from mtlx.store.runs import RunStore

# MultiMNIST with 16 steps of 32 per epoch, so that a signal or a kill lands inside an epoch
SIZES = (
    "dataset.train_pairs=512",
    "dataset.val_pairs=64",
    "dataset.test_pairs=64",
    "training.batch_size=32",
    "training.eval_batch_size=64",
)


def sweep_command(
    db: Path, *args: str, epochs: int, seeds: str = "1", sizes: Sequence[str] = SIZES
) -> list[str]:
    """``python -m mtlx sweep multimnist`` of EW + Adam at lr 1e-3 on the CPU into ``db``."""
    sets = [flag for value in sizes for flag in ("--set", value)]
    return [
        sys.executable, "-m", "mtlx", "sweep", "multimnist", "--methods", "ew",
        "--optimizers", "adam", "--lrs", "0.001", "--seeds", seeds, "--epochs", str(epochs),
        "--device", "cpu", "--db", str(db), *sets, *args,
    ]  # fmt: skip


def start(command: list[str], own_group: bool = False) -> subprocess.Popen[str]:
    """Start ``command`` (stdout and stderr together); ``own_group``: in a process group of its
    own, as a terminal's foreground job, so that ``killpg`` reaches it and its workers."""
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=own_group,
        env={**os.environ, "COLUMNS": "200"},
    )


def finish(process: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def runs_in(db: Path) -> list[RunRecord]:
    """The runs of ``db`` by id; none while it does not exist or is being created (creation is
    one transaction: every table or none)."""
    if not db.exists():
        return []
    try:
        store = RunStore(open_database(str(db), create=False))
    except SchemaVersionError:
        return []
    try:
        return store.runs()
    finally:
        store.engine.dispose()


def wait_until(condition: Callable[[], bool], timeout: float = 300, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(interval)

"""Checkpoint files: written atomically, read back with ``torch.load(weights_only=True)``.

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and dicts (a
:meth:`~mtlx.engine.trainer.TrainingRun.state_dict`), so loading it never runs pickled code.
Writing goes to a temporary file in the same folder, is flushed to disk (``fsync``), then renamed
over the final name and the folder synced: a reader sees the old file or the complete new one,
never a torn one, whatever kills the writer.

Layout under the checkpoint folder, one sub-folder per run key::

    <run_key>/a<attempt>-e<epoch>.pt          after epoch <epoch> of attempt <attempt>
    <run_key>/a<attempt>-e<epoch>-s<step>.pt  stopped by a signal after <step> steps of the next
    <run_key>/selected.pt | last.pt           the weights kept once the run finished
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mtlx.errors import UserError


class CheckpointError(UserError, RuntimeError):
    """A checkpoint that cannot be read (missing, truncated, or not an mtlx checkpoint)."""


def save_atomically(state: Mapping[str, Any], path: Path) -> int:
    """Write ``state`` to ``path`` atomically and durably; returns the file's size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            torch.save(dict(state), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_folder(path.parent)
    return path.stat().st_size


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX: fsync the directory)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # platforms without directory descriptors
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename itself is atomic
    finally:
        os.close(descriptor)


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """A checkpoint's state on the CPU, loaded with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a torn or foreign file fails in any of unpickling's many ways
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"checkpoint {path} cannot be read ({reason})") from None
    if not isinstance(state, dict) or "format" not in state:
        raise CheckpointError(f"{path} is not an mtlx checkpoint")
    return state


_ATTEMPT = re.compile(r"^a(\d+)-e\d+(?:-s\d+)?\.pt$")


class CheckpointFolder:
    """The checkpoint files of one run: ``<root>/<run_key>/``."""

    def __init__(self, root: Path, run_key: str) -> None:
        self.folder = Path(root) / run_key

    def path(self, attempt: int, epoch: int, step: int | None = None) -> Path:
        name = f"a{attempt}-e{epoch}" + (f"-s{step}" if step is not None else "") + ".pt"
        return self.folder / name

    def kept(self, which: str) -> Path:
        return self.folder / f"{which}.pt"

    def remove_except(self, *keep: Path | str | None, up_to_attempt: int | None = None) -> None:
        """Delete the files of this run but ``keep``; with ``up_to_attempt``, only checkpoints
        of that attempt and older ones — a worker never deletes what a newer attempt (one that
        took its run over) wrote."""
        if not self.folder.is_dir():
            return
        kept = {Path(p).resolve() for p in keep if p is not None}
        for entry in self.folder.iterdir():
            if not entry.is_file() or entry.resolve() in kept:
                continue
            if up_to_attempt is not None:
                match = _ATTEMPT.match(entry.name)
                if match is None or int(match.group(1)) > up_to_attempt:
                    continue
            entry.unlink(missing_ok=True)
        if up_to_attempt is None and not any(self.folder.iterdir()):
            self.folder.rmdir()

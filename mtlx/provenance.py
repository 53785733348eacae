"""Where and with what a run was produced: host, device, versions, git commit."""

from __future__ import annotations

import platform
import socket
import subprocess
from functools import cache
from pathlib import Path

import torch

import mtlx


@cache
def git_commit() -> str | None:
    """The commit of the mtlx checkout (``+dirty`` if tracked files changed), else of the cwd."""
    for folder in (Path(mtlx.__file__).resolve().parent, Path.cwd()):
        try:
            commit = subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
            dirty = subprocess.run(
                ["git", "diff", "--quiet", "HEAD", "--"],
                cwd=folder,
                capture_output=True,
                timeout=10,
            ).returncode
        except (OSError, subprocess.SubprocessError):
            continue
        return f"{commit}+dirty" if dirty else commit
    return None


def device_description(device: str) -> str:
    torch_device = torch.device(device)
    if torch_device.type == "cuda":
        index = (
            torch_device.index if torch_device.index is not None else torch.cuda.current_device()
        )
        return f"{torch_device} ({torch.cuda.get_device_name(index)})"
    processor = platform.processor() or platform.machine()
    return f"{torch_device} ({processor}, {torch.get_num_threads()} threads)"


def provenance(device: str) -> dict[str, str | None]:
    return {
        "host": socket.gethostname(),
        "device": device_description(device),
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "mtlx_version": mtlx.__version__,
        "git_commit": git_commit(),
    }


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N``, refused if this machine cannot run it."""
    try:
        torch_device = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be cpu, cuda or cuda:N, but got {device!r}") from None
    if torch_device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asked for, but this machine has no CUDA device")
        if torch_device.index is not None and torch_device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device!r} asked for, but there are {torch.cuda.device_count()} GPUs"
            )
    elif torch_device.type != "cpu":
        raise ValueError(f"device must be cpu, cuda or cuda:N, but got {device!r}")
    return device

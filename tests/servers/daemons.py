"""What both servers need to run daemons: programs, system users, free ports, logs, stopping."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from servers.requirement import ServerUnavailableError

# Debian keeps daemons in sbin, which an unprivileged PATH may lack.
SYSTEM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


class ServerError(RuntimeError):
    """A server did not come up or would not stop; the message carries the tail of its log."""


@dataclass(frozen=True)
class SystemUser:
    """An unprivileged account a daemon runs as (``postgres``, ``munge``)."""

    name: str
    uid: int
    gid: int

    @classmethod
    def named(cls, name: str, package: str) -> SystemUser:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise ServerUnavailableError(
                f"no system user {name!r} (apt-get install {package})"
            ) from None
        return cls(name, entry.pw_uid, entry.pw_gid)

    def owns(self, path: Path) -> None:
        os.chown(path, self.uid, self.gid)

    def process_credentials(self) -> dict[str, object]:
        """Arguments of :mod:`subprocess` that run a program as this user, without root's groups."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def find_programs(
    names: Sequence[str], package: str, extra_dirs: Sequence[str] = ()
) -> dict[str, Path]:
    """``{name: absolute path}`` of every program, searched on PATH, then ``extra_dirs``."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *extra_dirs, *SYSTEM_DIRS])
    found = {name: shutil.which(name, path=search) for name in names}
    missing = sorted(name for name, path in found.items() if path is None)
    if missing:
        raise ServerUnavailableError(f"{', '.join(missing)} not found (apt-get install {package})")
    return {name: Path(path) for name, path in found.items() if path is not None}


def free_port() -> int:
    """A TCP port free on every interface now (the caller retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def log_tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a log, indented, for an error message."""
    if not path.is_file():
        return f"  ({path} was not written)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"  {line}" for line in text) or f"  ({path} is empty)"


def stop_process(process: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; always reaped, so no zombie is left."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)

"""A private PostgreSQL server in a temporary folder, one fresh database per test.

``initdb`` refuses to run as root, so under root the server belongs to the unprivileged
``postgres`` user (Debian's package creates it) and lives in a folder that user owns:
``initdb -A trust``, then ``pg_ctl start`` listening on 127.0.0.1 at a free port with its socket
inside the folder, and ``pg_ctl -m fast stop`` at the end. Tests connect as the ``postgres`` role
with psycopg 3, the driver SQLAlchemy 2 uses for ``postgresql+psycopg://``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from servers.daemons import (
    ServerError,
    SystemUser,
    find_programs,
    free_port,
    log_tail,
)

PACKAGE = "postgresql"
DEBIAN_VERSIONS = Path("/usr/lib/postgresql")  # Debian keeps initdb and pg_ctl off PATH
HOST = "127.0.0.1"
ROLE = "postgres"
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it


def postgresql_programs() -> tuple[Path, Path]:
    """``initdb`` and ``pg_ctl`` of one installation: Debian's newest, else the ones on PATH."""
    versions = sorted(
        (path for path in DEBIAN_VERSIONS.glob("*/bin") if path.parent.name.isdigit()),
        key=lambda path: int(path.parent.name),
        reverse=True,
    )
    for bin_dir in versions:
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir / "initdb", bin_dir / "pg_ctl"
    programs = find_programs(["initdb", "pg_ctl"], PACKAGE)
    return programs["initdb"], programs["pg_ctl"]


@dataclass
class PostgresqlServer:
    """A running server: ``url(database)`` for SQLAlchemy, fresh databases on demand."""

    folder: Path
    port: int
    pg_ctl: Path
    owner: SystemUser | None  # None: the server runs as the current (unprivileged) user

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / "postgresql.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{ROLE}@{HOST}:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database with a unique name; returns its name."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        self._administer(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing whatever connections a test left open to it."""
        self._administer(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _administer(self, statement: str) -> None:
        import psycopg  # the test extra's driver; imported here so collection never needs it

        with psycopg.connect(
            host=HOST, port=self.port, user=ROLE, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(statement.encode())

    def stop(self) -> None:
        """``pg_ctl -m fast stop`` (``immediate`` if that fails), then remove the folder."""
        if (self.data_dir / "postmaster.pid").exists():
            fast = _pg_ctl(self, "-m", "fast", "-t", "30", "stop")
            if fast.returncode != 0:
                immediate = _pg_ctl(self, "-m", "immediate", "-t", "30", "stop")
                if immediate.returncode != 0:
                    raise ServerError(
                        f"PostgreSQL on port {self.port} did not stop (its folder {self.folder} "
                        f"is left for inspection):\n{fast.stdout}{immediate.stdout}\n"
                        f"{log_tail(self.log_file)}"
                    )
        shutil.rmtree(self.folder)


def _server_environment() -> dict[str, str]:
    # PGPORT, PGDATA, PGHOST … of the caller must not redirect the private server.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _run(command: list[str], owner: SystemUser | None, cwd: Path) -> subprocess.CompletedProcess:
    credentials = owner.process_credentials() if owner else {}
    return subprocess.run(
        command,
        cwd=cwd,
        env=_server_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        **credentials,  # type: ignore[arg-type]
    )


def _pg_ctl(server: PostgresqlServer, *arguments: str) -> subprocess.CompletedProcess:
    command = [str(server.pg_ctl), "-D", str(server.data_dir), *arguments]
    return _run(command, server.owner, server.folder)


def _port_taken(log_file: Path) -> bool:
    return log_file.is_file() and "Address already in use" in log_file.read_text(errors="replace")


def start_postgresql() -> PostgresqlServer:
    """Create a cluster in a new temporary folder and start it on a free port.

    Raises :class:`ServerUnavailableError` when this machine cannot run PostgreSQL and
    :class:`ServerError` (with the server's log) when it does not come up.
    """
    initdb, pg_ctl = postgresql_programs()
    owner = SystemUser.named("postgres", PACKAGE) if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="mtlx-postgresql-"))
    try:
        if owner:
            owner.owns(folder)
        created = _run(
            [
                str(initdb),
                "--pgdata",
                str(folder / "data"),
                "--auth=trust",
                f"--username={ROLE}",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",  # a throw-away cluster: no need to wait for the disk
            ],
            owner,
            folder,
        )
        if created.returncode != 0:
            raise ServerError(f"initdb failed in {folder}:\n{created.stdout}")
        for attempt in range(1, START_ATTEMPTS + 1):
            server = PostgresqlServer(folder, free_port(), pg_ctl, owner)
            server.log_file.unlink(missing_ok=True)
            options = f"-h {HOST} -p {server.port} -k {folder}"
            started = _pg_ctl(server, "-o", options, "-l", str(server.log_file), "-w", "start")
            if started.returncode == 0:
                return server
            if not _port_taken(server.log_file) or attempt == START_ATTEMPTS:
                raise ServerError(
                    f"PostgreSQL did not start on {HOST}:{server.port} "
                    f"(pg_ctl start -o '{options}', attempt {attempt} of {START_ATTEMPTS}):\n"
                    f"{started.stdout.strip()}\nThe server's log:\n{log_tail(server.log_file)}"
                )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    raise AssertionError("unreachable")

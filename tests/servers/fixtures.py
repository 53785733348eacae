"""The servers as pytest fixtures; ``tests/conftest.py`` imports them for the whole suite.

- ``postgresql_server`` (session): a private PostgreSQL; ``postgresql_url``: a fresh empty
  database on it for one test, as a ``postgresql+psycopg://`` URL, dropped afterwards.
- ``store_url``: parametrized over ``sqlite`` (a fresh file under ``tmp_path``) and
  ``postgresql`` (a fresh database), so one store suite runs unchanged on both — Optuna's
  ``STORAGE_MODES``.
- ``slurm_cluster_session`` (session): a single-node Slurm cluster; ``slurm_cluster``: the same
  cluster with ``SLURM_CONF`` and the Slurm commands' folder set in this process's environment for
  one test (submitit and mtlx read them from there); jobs the test leaves queued are cancelled.

The session fixtures stop their server at the end of the session whatever the tests did. A test
that uses them is marked ``postgres`` or ``slurm`` (see :func:`pytest_collection_modifyitems`);
it skips when this machine cannot run the server, and fails under ``MTLX_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from servers.postgresql import PostgresqlServer, start_postgresql
from servers.requirement import ServerUnavailableError, unavailable
from servers.slurm import SlurmCluster, start_slurm_cluster

T = TypeVar("T")

# Each fixture that starts a server, and the marker its tests carry.
SERVER_MARKERS = {
    "postgresql_server": "postgres",
    "slurm_cluster_session": "slurm",
}


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that (through any fixture) starts a server with that server's marker."""
    for item in items:
        for fixture, marker in SERVER_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


def start_or_skip(start: Callable[[], T], server: str) -> T:
    """``start()``, or skip (fail, when servers are required) if this machine cannot run it."""
    try:
        return start()
    except ServerUnavailableError as missing:
        reason = f"{server}: {missing}"
    unavailable(reason)  # outside the except: the report shows one line, not a chain


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresqlServer]:
    server = start_or_skip(start_postgresql, "PostgreSQL")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgresql_url(postgresql_server: PostgresqlServer) -> Iterator[str]:
    name = postgresql_server.create_database()
    yield postgresql_server.url(name)
    postgresql_server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty results database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.sqlite'}"
    return request.getfixturevalue("postgresql_url")


@pytest.fixture(scope="session")
def slurm_cluster_session() -> Iterator[SlurmCluster]:
    cluster = start_or_skip(start_slurm_cluster, "Slurm")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def slurm_cluster(
    slurm_cluster_session: SlurmCluster, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SlurmCluster]:
    environment = slurm_cluster_session.environment()
    monkeypatch.setenv("SLURM_CONF", environment["SLURM_CONF"])
    monkeypatch.setenv("PATH", environment["PATH"])
    yield slurm_cluster_session
    slurm_cluster_session.cancel_all()  # a test's leftover jobs never run into the next test

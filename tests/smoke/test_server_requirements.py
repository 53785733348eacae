"""When a server cannot run: a skip naming what to install, a failure when servers are required."""

from __future__ import annotations

from pathlib import Path

import pytest

import servers.daemons
import servers.postgresql
from servers.daemons import ServerError
from servers.postgresql import start_postgresql
from servers.requirement import REQUIRE_SERVERS, ServerUnavailableError, unavailable
from servers.slurm import start_slurm_cluster


@pytest.fixture
def no_server_programs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without Debian's server packages: nothing on PATH or in the system folders."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(servers.daemons, "SYSTEM_DIRS", ())
    monkeypatch.setattr(servers.postgresql, "DEBIAN_VERSIONS", tmp_path)


def test_an_unavailable_server_skips_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_SERVERS, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no initdb"):
        unavailable("no initdb")


def test_an_unavailable_server_fails_the_test_when_servers_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REQUIRE_SERVERS, "1")
    with pytest.raises(pytest.fail.Exception, match=rf"no initdb \({REQUIRE_SERVERS}=1"):
        unavailable("no initdb")


@pytest.mark.usefixtures("no_server_programs")
def test_missing_postgresql_programs_name_the_package() -> None:
    with pytest.raises(ServerUnavailableError, match=r"initdb, pg_ctl not found \(apt-get install"):
        start_postgresql()


@pytest.mark.usefixtures("no_server_programs")
def test_missing_slurm_programs_name_the_packages() -> None:
    with pytest.raises(ServerUnavailableError, match=r"apt-get install slurmctld|needs root"):
        start_slurm_cluster()


def test_a_server_that_cannot_start_reports_its_log(
    postgresql_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every port offered is the one the session's server already listens on.
    monkeypatch.setattr(servers.postgresql, "free_port", lambda: postgresql_server.port)
    with pytest.raises(ServerError, match=r"(?s)did not start.*Address already in use"):
        start_postgresql()

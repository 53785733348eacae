"""Skip a test whose server cannot run here, unless the servers are required (CI)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_SERVERS = "MTLX_REQUIRE_SERVERS"


class ServerUnavailableError(RuntimeError):
    """This machine lacks what a server needs (its programs, a system user, root)."""


def servers_required() -> bool:
    return os.environ.get(REQUIRE_SERVERS) == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip the test for ``reason``; fail it instead when ``MTLX_REQUIRE_SERVERS=1``."""
    if servers_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVERS}=1 requires it)", pytrace=False)
    pytest.skip(f"{reason} (set {REQUIRE_SERVERS}=1 to fail instead)")

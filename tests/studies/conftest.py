"""Fixtures of the studies' tests: a temporary working directory and the real command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import mtlx.provenance
from mtlx.cli import app


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh working directory; provenance does not shell out to git."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MTLX_DB", raising=False)
    monkeypatch.setattr(mtlx.provenance, "git_commit", lambda: "0" * 40)
    yield tmp_path


@pytest.fixture
def invoke():
    def run(*args: str) -> Result:
        return CliRunner().invoke(app, list(args))

    return run

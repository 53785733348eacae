"""Fixtures of the store suite, which runs unchanged on SQLite and on a real PostgreSQL
(``store_url``, from ``tests/servers``): configs to claim, a provenance, an open store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mtlx.spec import RunConfig, load_spec
from mtlx.store.database import open_database
from mtlx.store.runs import RunStore

REPO = Path(__file__).resolve().parents[2]
PROVENANCE = {
    "host": "test-host",
    "device": "cpu (test)",
    "python_version": "3",
    "torch_version": "2",
    "mtlx_version": "0",
    "git_commit": "test-commit",
}


def make_config(seed: int = 0, method: str = "ew", lr: float = 1e-3) -> RunConfig:
    spec = load_spec(str(REPO / "experiments" / "multimnist.yaml"))
    return spec.run_config(spec.tasks, method, "adam", lr, seed)


@pytest.fixture(name="make_config")
def config_factory():
    """``make_config(seed, method, lr)``: a resolved MultiMNIST config (no torch imported)."""
    return make_config


@pytest.fixture
def config() -> RunConfig:
    return make_config()


@pytest.fixture
def provenance() -> dict[str, str]:
    return dict(PROVENANCE)


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    store = RunStore(open_database(store_url))
    yield store
    store.engine.dispose()

"""Fixtures of the whole suite: the real servers of ``tests/servers`` (PostgreSQL, Slurm).

Imported by name so that pytest sees them here; ``pythonpath = ["tests"]`` in ``pyproject.toml``
makes the ``servers`` package importable although the suite imports test modules with
``importlib`` (test modules cannot import each other: fixtures are the way to share).
"""

from servers.fixtures import (
    postgresql_server,
    postgresql_url,
    pytest_collection_modifyitems,
    slurm_cluster,
    slurm_cluster_session,
    store_url,
)

__all__ = [
    "postgresql_server",
    "postgresql_url",
    "pytest_collection_modifyitems",
    "slurm_cluster",
    "slurm_cluster_session",
    "store_url",
]

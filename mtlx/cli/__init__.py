"""The ``mtlx`` command line: a thin layer over spec → dispatch → store → analysis → report.

``app`` (:mod:`mtlx.cli.app`) holds the command groups; each sibling module adds its commands.
"""

from mtlx.cli import bench, catalog, data, results, runs, training  # noqa: F401  (commands)
from mtlx.cli.app import app

__all__ = ["app"]

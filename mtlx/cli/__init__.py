"""The ``mtlx`` command line: a thin layer over spec → dispatch → store → analysis → report.

``app`` (:mod:`mtlx.cli.app`) holds the command groups; each sibling module adds its commands.
"""

from mtlx.cli import (  # noqa: F401  (commands)
    bench,
    catalog,
    data,
    export,
    grads,
    imports,
    invariance,
    manage,
    plot,
    results,
    robustness,
    runs,
    toy,
    training,
    watch,
)
from mtlx.cli.app import app

__all__ = ["app"]

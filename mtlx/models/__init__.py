"""Networks with hard parameter sharing, registered by name.

The registry imports no torch (see :mod:`mtlx.registry`); ``MultiTaskNetwork`` loads on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from mtlx.models.registry import NETWORKS, build_network


def __getattr__(name: str) -> Any:
    if name == "MultiTaskNetwork":
        return importlib.import_module("mtlx.models.base").MultiTaskNetwork
    raise AttributeError(f"module 'mtlx.models' has no attribute {name!r}")


__all__ = ["NETWORKS", "MultiTaskNetwork", "build_network"]

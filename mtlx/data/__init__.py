"""Datasets, registered by name; each yields ``(input, {task: target})`` for three splits.

The registry imports no torch (see :mod:`mtlx.registry`); the dataset classes load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from mtlx.data.registry import DATASETS, DataFormatError, build_dataset

_LAZY = {"DatasetSplits": "mtlx.data.base", "InMemoryDataset": "mtlx.data.base"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mtlx.data' has no attribute {name!r}")


__all__ = ["DATASETS", "DataFormatError", "DatasetSplits", "InMemoryDataset", "build_dataset"]

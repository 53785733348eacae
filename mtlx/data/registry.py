"""The dataset registry: names and options read from source, a loader imported when built."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mtlx.errors import UserError
from mtlx.registry import Registry

if TYPE_CHECKING:
    from mtlx.data.base import DatasetSplits


class DataFormatError(UserError, ValueError):
    """A dataset folder that is missing or not in the expected format (names file and value)."""


DatasetBuilder = Callable[..., "DatasetSplits"]
"""``builder(root: Path | None, **options) -> DatasetSplits``."""

DATASETS: Registry[DatasetBuilder] = Registry(
    "dataset", package="mtlx.data", symbol="DATASETS", skip=1
)


def build_dataset(name: str, root: Path | None = None, **options: object) -> DatasetSplits:
    return DATASETS.get(name)(root, **options)

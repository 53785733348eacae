"""Datasets, registered by name; each yields ``(input, {task: target})`` for three splits."""

from mtlx.data import celeba, cityscapes, multimnist, nyuv2  # noqa: F401  (registers them)
from mtlx.data.base import (
    DATASETS,
    DataFormatError,
    DatasetSplits,
    InMemoryDataset,
    build_dataset,
)

__all__ = ["DATASETS", "DataFormatError", "DatasetSplits", "InMemoryDataset", "build_dataset"]

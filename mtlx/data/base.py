"""The dataset contract: three splits of ``(input, {task: target})`` samples and their tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset

from mtlx.tasks import Task

Batch = tuple[Tensor, dict[str, Tensor]]


class SeededSample(NamedTuple):
    """A sample asked for with the seed of its random draws (augmentation): the same key gives
    the same sample in any worker process, in any order, after any resume."""

    position: int
    seed: int


@dataclass
class DatasetSplits:
    """Train / validation / test splits of one multi-task dataset.

    ``provenance`` is recorded with every run (split sizes, the seed and the source indices' digest)
    so a result can always be traced to the exact samples it saw.
    """

    train: Dataset
    val: Dataset
    test: Dataset
    tasks: tuple[Task, ...]
    input_shape: tuple[int, ...]
    provenance: dict[str, object] = field(default_factory=dict)

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        known = ", ".join(t.name for t in self.tasks)
        raise KeyError(f"unknown task {name!r}; this dataset has: {known}")


class InMemoryDataset(Dataset):
    """Tensors held in memory, fetched a whole batch at a time (``__getitems__``)."""

    def __init__(self, inputs: Tensor, targets: Mapping[str, Tensor]) -> None:
        for task, values in targets.items():
            if len(values) != len(inputs):
                raise ValueError(
                    f"task {task!r} has {len(values)} targets for {len(inputs)} inputs"
                )
        self.inputs = inputs
        self.targets = dict(targets)

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> Batch:
        return self.inputs[index], {task: values[index] for task, values in self.targets.items()}

    def __getitems__(self, indices: Sequence[int]) -> list[Batch]:
        rows = torch.as_tensor(indices)
        return [(self.inputs[rows], {task: v[rows] for task, v in self.targets.items()})]

    @staticmethod
    def collate(batches: list[Batch]) -> Batch:
        (batch,) = batches
        return batch

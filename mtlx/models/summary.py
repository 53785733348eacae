"""Parameter counts of a registered network: the shared part, each head, the total."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from mtlx.models.registry import build_network
from mtlx.tasks import Task


def count(parameters: Iterable[nn.Parameter]) -> int:
    return sum(p.numel() for p in parameters)


def parameter_counts(
    name: str, tasks: Sequence[Task], input_shape: Sequence[int], **options: object
) -> dict[str, object]:
    """``{"shared": int, "heads": {task: int}, "total": int}`` for network ``name``.

    Built on PyTorch's meta device: shapes only, no memory, no initialisation cost.
    """
    with torch.device("meta"):
        network = build_network(name, tasks, input_shape, **options)
    heads = {task: count(network.task_parameters(task)) for task in network.task_names}
    shared = count(network.shared_parameters())
    return {"shared": shared, "heads": heads, "total": count(network.parameters())}

"""The network registry: names and options read from source, a network imported when built."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mtlx.registry import Registry

if TYPE_CHECKING:
    from mtlx.models.base import MultiTaskNetwork
    from mtlx.tasks import Task

NetworkBuilder = Callable[..., "MultiTaskNetwork"]
"""``builder(tasks, input_shape, **options) -> MultiTaskNetwork``."""

NETWORKS: Registry[NetworkBuilder] = Registry(
    "network", package="mtlx.models", symbol="NETWORKS", skip=2
)


def build_network(
    name: str, tasks: Sequence[Task], input_shape: Sequence[int], **options: object
) -> MultiTaskNetwork:
    """The registered network ``name`` with one head per task in ``tasks``."""
    return NETWORKS.get(name)(tasks, tuple(input_shape), **options)

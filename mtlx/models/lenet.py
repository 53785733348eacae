"""MultiLeNet of Sener & Koltun (2018), the MultiMNIST network.

Encoder: conv5×5(1→10) → max-pool 2 → ReLU → conv5×5(10→20) → Dropout2d → max-pool 2 → ReLU →
flatten(320) → linear(320→50) → ReLU. Head per task: linear(50→50) → ReLU → Dropout → linear(50→K).
Heads return logits (the task applies its own loss).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from mtlx.models.base import MultiTaskNetwork
from mtlx.models.registry import NETWORKS
from mtlx.tasks import Task


class LeNetEncoder(nn.Module):
    def __init__(self, in_channels: int = 1, dropout: float = 0.5) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, 10, kernel_size=5),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Conv2d(10, 20, kernel_size=5),
            nn.Dropout2d(dropout),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(320, 50),
            nn.ReLU(),
        )

    def forward(self, inputs: Tensor) -> Tensor:
        return self.layers(inputs)


def lenet_head(output_size: int, dropout: float = 0.5) -> nn.Module:
    return nn.Sequential(
        nn.Linear(50, 50), nn.ReLU(), nn.Dropout(dropout), nn.Linear(50, output_size)
    )


@NETWORKS.register("multilenet")
def multilenet(
    tasks: Sequence[Task], input_shape: tuple[int, ...], dropout: float = 0.5
) -> MultiTaskNetwork:
    if tuple(input_shape[-2:]) != (28, 28):
        raise ValueError(f"multilenet expects 28×28 inputs, but got {tuple(input_shape)}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), but got {dropout}.")
    return MultiTaskNetwork(
        LeNetEncoder(in_channels=input_shape[0], dropout=dropout),
        {task.name: lenet_head(task.output_size, dropout) for task in tasks},
    )

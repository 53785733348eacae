"""Hard parameter sharing: one shared encoder, one head per task.

The split is declared here and nowhere else: the training step asks the network for its shared
parameters, its per-task head parameters and the shared representation, so a method never has to
reach into a network's attributes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from torch import Tensor, nn


class MultiTaskNetwork(nn.Module):
    """``heads[t](encoder(x))`` for every task ``t``; a single-task network has one head."""

    def __init__(self, encoder: nn.Module, heads: Mapping[str, nn.Module]) -> None:
        super().__init__()
        if not heads:
            raise ValueError("a network needs at least one task head")
        self.encoder = encoder
        self.heads = nn.ModuleDict(dict(heads))

    @property
    def task_names(self) -> list[str]:
        return list(self.heads.keys())

    def forward(self, inputs: Tensor) -> dict[str, Tensor]:
        return self.decode(self.encoder(inputs))

    def decode(self, representation: Tensor) -> dict[str, Tensor]:
        """Every head on the shared representation (the split point for representation methods)."""
        return {task: head(representation) for task, head in self.heads.items()}

    def shared_parameters(self) -> Iterator[nn.Parameter]:
        return self.encoder.parameters()

    def task_parameters(self, task: str) -> Iterator[nn.Parameter]:
        return self.heads[task].parameters()

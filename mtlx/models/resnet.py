"""ResNet-18 with one linear layer per task: the CelebA network of the seed paper (after RLW and
PCGrad), and the local-file weight loading shared with DeepLabV3's ResNet-50.

Encoder: torchvision's ``resnet18`` without its classifier (``fc``), i.e. conv1 → … → layer4 →
global average pooling → 512-d features. Head per task: ``Linear(512, output_size)`` (one logit for
a CelebA attribute).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.models import resnet18 as torchvision_resnet18

from mtlx.models.base import MultiTaskNetwork
from mtlx.models.registry import NETWORKS
from mtlx.tasks import Task


def load_imagenet_weights(backbone: nn.Module, path: str | Path) -> None:
    """Copy a torchvision ImageNet checkpoint (e.g. ``resnet50-0676ba61.pth``) into ``backbone``.

    Only a local file is read — mtlx never downloads. The classifier (``fc.*``) is skipped; every
    other key must match exactly, or the error lists what is missing, unexpected or mis-shaped.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"pretrained weights file not found: {path} (mtlx never downloads weights; save "
            "torchvision's ImageNet checkpoint for this ResNet locally and pass its path)"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict of tensors, but found {type(state)}")
    state = {key.removeprefix("module."): value for key, value in state.items()}
    state = {key: value for key, value in state.items() if not key.startswith("fc.")}
    expected = {k: v for k, v in backbone.state_dict().items() if not k.startswith("fc.")}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mis_shaped = sorted(
        key
        for key in set(expected) & set(state)
        if tuple(expected[key].shape) != tuple(state[key].shape)
    )
    if missing or unexpected or mis_shaped:
        problems = []
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", mis_shaped),
        ):
            if keys:
                problems.append(f"{label}: {', '.join(keys[:5])}{' …' if len(keys) > 5 else ''}")
        raise ValueError(
            f"{path}: keys do not match {type(backbone).__name__} "
            f"({len(expected)} parameters and buffers expected); " + "; ".join(problems)
        )
    backbone.load_state_dict(state, strict=False)


class ResNetFeatures(nn.Module):
    """A torchvision ResNet up to its global average pooling: N×3×H×W → N×C."""

    def __init__(self, resnet: nn.Module) -> None:
        super().__init__()
        resnet.fc = nn.Identity()
        self.resnet = resnet

    def forward(self, inputs: Tensor) -> Tensor:
        return self.resnet(inputs)


@NETWORKS.register("resnet18")
def resnet18(
    tasks: Sequence[Task], input_shape: tuple[int, ...], pretrained: str | None = None
) -> MultiTaskNetwork:
    """ResNet-18 features (512-d) shared, one linear layer per task; ``pretrained`` a local path."""
    if input_shape[-3] != 3:
        raise ValueError(f"resnet18 expects 3-channel images, but got {tuple(input_shape)}.")
    backbone = torchvision_resnet18(weights=None)
    if pretrained is not None:
        load_imagenet_weights(backbone, pretrained)
    features = backbone.fc.in_features
    return MultiTaskNetwork(
        ResNetFeatures(backbone),
        {task.name: nn.Linear(features, task.output_size) for task in tasks},
    )

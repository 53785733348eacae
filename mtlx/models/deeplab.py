"""DeepLabV3 (Chen et al., 2017) with a dilated ResNet-50 backbone, one ASPP head per task — the
seed paper's second dense network (after RLW and LibMTL).

Encoder: torchvision's ``resnet50`` with ``replace_stride_with_dilation=[False, True, True]`` (the
strides of layer3 / layer4 become dilations 2 / 4: output stride 8, 2048 channels), without its
pooling and classifier. Head per task: torchvision's ``DeepLabHead`` — ASPP with rates
(12, 24, 36) and image pooling, 256 channels, dropout 0.5 — then a 3×3 convolution, BatchNorm,
ReLU and a 1×1 convolution to ``output_size``, upsampled bilinearly ×8 to the input resolution.
Inputs need height and width divisible by 8 (NYUv2 288×384, Cityscapes 128×256).

``pretrained`` names a local torchvision ImageNet checkpoint for the ResNet-50
(``resnet50-0676ba61.pth`` or ``resnet50-11ad3fa6.pth``); nothing is ever downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import resnet50
from torchvision.models.segmentation.deeplabv3 import DeepLabHead

from mtlx.models.base import MultiTaskNetwork
from mtlx.models.registry import NETWORKS
from mtlx.models.resnet import load_imagenet_weights
from mtlx.tasks import Task

OUTPUT_STRIDE = 8


class DilatedResNet50(nn.Module):
    """ResNet-50 stem and layers 1–4 at output stride 8: N×3×H×W → N×2048×H/8×W/8."""

    def __init__(self, pretrained: str | None = None) -> None:
        super().__init__()
        resnet = resnet50(weights=None, replace_stride_with_dilation=[False, True, True])
        if pretrained is not None:
            load_imagenet_weights(resnet, pretrained)  # dilation changes no parameter shape
        self.stem = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool)
        self.layer1, self.layer2 = resnet.layer1, resnet.layer2
        self.layer3, self.layer4 = resnet.layer3, resnet.layer4
        self.out_channels = resnet.fc.in_features

    def forward(self, inputs: Tensor) -> Tensor:
        features = self.stem(inputs)
        return self.layer4(self.layer3(self.layer2(self.layer1(features))))


class UpsampledHead(nn.Module):
    """A DeepLabV3 ASPP head whose output is upsampled back to the input resolution."""

    def __init__(self, in_channels: int, output_size: int) -> None:
        super().__init__()
        self.head = DeepLabHead(in_channels, output_size)

    def forward(self, representation: Tensor) -> Tensor:
        return F.interpolate(
            self.head(representation),
            scale_factor=OUTPUT_STRIDE,
            mode="bilinear",
            align_corners=False,
        )


@NETWORKS.register("deeplabv3")
def deeplabv3(
    tasks: Sequence[Task], input_shape: tuple[int, ...], pretrained: str | None = None
) -> MultiTaskNetwork:
    """Dilated ResNet-50 shared, one upsampled ASPP head per task; ``pretrained`` a local path."""
    channels, height, width = input_shape[-3:]
    if channels != 3:
        raise ValueError(f"deeplabv3 expects 3-channel images, but got {tuple(input_shape)}.")
    if height % OUTPUT_STRIDE or width % OUTPUT_STRIDE:
        raise ValueError(
            f"deeplabv3 needs height and width divisible by {OUTPUT_STRIDE} (output stride), "
            f"but got {height}×{width}."
        )
    backbone = DilatedResNet50(pretrained)
    return MultiTaskNetwork(
        backbone,
        {task.name: UpsampledHead(backbone.out_channels, task.output_size) for task in tasks},
    )

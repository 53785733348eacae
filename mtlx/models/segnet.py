"""SegNet (Badrinarayanan et al., 2017) as the "split" multi-task baseline of MTAN (Liu et al.,
2019), used by CAGrad, Nash-MTL and the seed paper for NYUv2 and Cityscapes.

Shared encoder–decoder, filters [64, 128, 256, 512, 512]; every convolution is 3×3 (padding 1)
followed by BatchNorm and ReLU:

- encoder level l = 0..4: a convolution into f_l channels, then 1 (l ≤ 1) or 2 (l ≥ 2) more
  convolutions at f_l (the VGG-16 pattern 2-2-3-3-3), then 2×2 max-pooling that keeps its indices;
- decoder level l = 4..0: max-unpooling with level l's indices, a convolution f_l → f_{l−1}
  (f_{−1} = 64), then 1 (l ≤ 1) or 2 (l ≥ 2) more convolutions at f_{l−1}.

The shared representation is the decoder's 64-channel map at the input resolution. Each task's
head is a 3×3 convolution 64→64 followed by a 1×1 convolution to the task's ``output_size``
(MTAN's ``pred_task`` layers: no normalisation or activation between them). Heads return raw
outputs: logits for segmentation, depth as is, unnormalised normals (the normal task normalises).
Initialisation as MTAN: Xavier-normal convolution weights, zero biases, BatchNorm weight 1 bias 0.
Inputs need height and width divisible by 32 (five poolings): NYUv2 288×384, Cityscapes 128×256.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from mtlx.models.base import MultiTaskNetwork
from mtlx.models.registry import NETWORKS
from mtlx.tasks import Task

FILTERS = (64, 128, 256, 512, 512)


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def conv_stack(in_channels: int, out_channels: int, extra: int) -> nn.Sequential:
    """A convolution into ``out_channels`` followed by ``extra`` more at ``out_channels``."""
    layers = [conv_bn_relu(in_channels, out_channels)]
    layers += [conv_bn_relu(out_channels, out_channels) for _ in range(extra)]
    return nn.Sequential(*layers)


class SegNetEncoderDecoder(nn.Module):
    """The shared body: image → 64-channel features at the input resolution."""

    def __init__(self, in_channels: int = 3, filters: Sequence[int] = FILTERS) -> None:
        super().__init__()
        filters = tuple(filters)
        below = (filters[0], *filters[:-1])  # the decoder's output channels per level
        extra = [1 if level <= 1 else 2 for level in range(len(filters))]
        self.encoder = nn.ModuleList(
            conv_stack(c_in, c_out, n)
            for c_in, c_out, n in zip((in_channels, *filters[:-1]), filters, extra, strict=True)
        )
        self.decoder = nn.ModuleList(
            conv_stack(c_in, c_out, n) for c_in, c_out, n in zip(filters, below, extra, strict=True)
        )
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(kernel_size=2, stride=2)
        self.out_channels = filters[0]

    def forward(self, inputs: Tensor) -> Tensor:
        features = inputs
        indices = []
        for level in self.encoder:
            features, where = self.pool(level(features))
            indices.append(where)
        for level, where in zip(reversed(self.decoder), reversed(indices), strict=True):
            features = level(self.unpool(features, where))
        return features


def segnet_head(in_channels: int, output_size: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, kernel_size=3, padding=1),
        nn.Conv2d(in_channels, output_size, kernel_size=1),
    )


def initialise(module: nn.Module) -> None:
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.xavier_normal_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.ones_(layer.weight)
            nn.init.zeros_(layer.bias)


@NETWORKS.register("segnet")
def segnet(tasks: Sequence[Task], input_shape: tuple[int, ...]) -> MultiTaskNetwork:
    """MTAN's SegNet split: shared encoder–decoder, one conv head per task."""
    channels, height, width = input_shape[-3:]
    if height % 32 or width % 32:
        raise ValueError(
            f"segnet needs height and width divisible by 32 (five 2×2 poolings), but got "
            f"{height}×{width}."
        )
    body = SegNetEncoderDecoder(in_channels=channels)
    network = MultiTaskNetwork(
        body, {task.name: segnet_head(body.out_channels, task.output_size) for task in tasks}
    )
    initialise(network)
    return network

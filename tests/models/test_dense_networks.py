"""SegNet, DeepLabV3 and ResNet-18 at the paper's resolutions; parameter counts; weight loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import resnet18 as torchvision_resnet18
from torchvision.models import resnet50 as torchvision_resnet50

from mtlx.data.check import CELEBA_ATTRIBUTES
from mtlx.models import NETWORKS, build_network
from mtlx.models.summary import parameter_counts
from mtlx.tasks import BinaryAttributeTask, DepthTask, NormalTask, SegmentationTask

NYUV2 = ((SegmentationTask(13), DepthTask(), NormalTask()), (3, 288, 384))
CITYSCAPES = ((SegmentationTask(7), DepthTask()), (3, 128, 256))
CELEBA = (tuple(BinaryAttributeTask(name) for name in CELEBA_ATTRIBUTES), (3, 64, 64))


def forward_shapes(name: str, tasks, input_shape, batch: int = 1) -> dict[str, tuple]:
    torch.manual_seed(0)
    network = build_network(name, tasks, input_shape).eval()
    with torch.no_grad():
        outputs = network(torch.rand(batch, *input_shape))
    return {task: tuple(output.shape) for task, output in outputs.items()}


def test_registered_names():
    assert {"segnet", "deeplabv3", "resnet18"} <= set(NETWORKS.names())


@pytest.mark.parametrize("name", ["segnet", "deeplabv3"])
def test_cityscapes_resolution(name: str):
    tasks, shape = CITYSCAPES
    assert forward_shapes(name, tasks, shape) == {
        "seg": (1, 7, 128, 256),
        "depth": (1, 1, 128, 256),
    }


def test_segnet_nyuv2_resolution():
    tasks, shape = NYUV2
    assert forward_shapes("segnet", tasks, shape) == {
        "seg": (1, 13, 288, 384),
        "depth": (1, 1, 288, 384),
        "normal": (1, 3, 288, 384),
    }


def test_deeplabv3_nyuv2_resolution():
    tasks, shape = NYUV2
    assert forward_shapes("deeplabv3", tasks, shape) == {
        "seg": (1, 13, 288, 384),
        "depth": (1, 1, 288, 384),
        "normal": (1, 3, 288, 384),
    }


def test_resnet18_celeba_resolution():
    tasks, shape = CELEBA
    shapes = forward_shapes("resnet18", tasks, shape, batch=2)
    assert len(shapes) == 40 and set(shapes.values()) == {(2, 1)}


def test_input_sizes_the_networks_cannot_take():
    tasks, _ = CITYSCAPES
    with pytest.raises(ValueError, match="divisible by 32"):
        build_network("segnet", tasks, (3, 100, 256))
    with pytest.raises(ValueError, match="divisible by 8"):
        build_network("deeplabv3", tasks, (3, 130, 256))


def test_segnet_trains_end_to_end_and_heads_only_see_their_loss():
    tasks = (SegmentationTask(7), DepthTask())
    network = build_network("segnet", tasks, (3, 32, 64))
    inputs = torch.rand(2, 3, 32, 64)
    targets = {"seg": torch.randint(-1, 7, (2, 32, 64)), "depth": torch.rand(2, 1, 32, 64)}
    outputs = network(inputs)
    tasks[1].loss(outputs["depth"], targets["depth"]).backward()
    assert all(p.grad is None for p in network.task_parameters("seg"))
    assert all(p.grad is not None for p in network.task_parameters("depth"))
    assert all(p.grad is not None for p in network.shared_parameters())


def counts(name, tasks, shape):
    result = parameter_counts(name, tasks, shape)
    print(f"{name} {shape}: {result['shared']:,} shared + heads {result['heads']} = "
          f"{result['total']:,}")  # fmt: skip
    return result


def test_parameter_counts():
    nyu_tasks, nyu_shape = NYUV2
    # MTAN (model_segnet_split.py) reports sizes relative to 24,981,069: the single-task SegNet for
    # 13-class segmentation, i.e. this encoder–decoder plus one head. Ours matches it exactly.
    single = counts("segnet", nyu_tasks[:1], nyu_shape)
    assert single["total"] == 24_981_069
    split = counts("segnet", nyu_tasks, nyu_shape)
    assert split["shared"] == 24_943_296 and split["total"] == 25_055_185
    assert split["total"] == split["shared"] + sum(split["heads"].values())
    deeplab = counts("deeplabv3", nyu_tasks, nyu_shape)
    assert deeplab["shared"] == 23_508_032  # torchvision ResNet-50 (25.56 M) without fc
    assert 15_000_000 < deeplab["heads"]["seg"] < 17_000_000  # ASPP on 2048 channels
    resnet = counts("resnet18", *CELEBA)
    assert resnet["shared"] == 11_176_512 and set(resnet["heads"].values()) == {513}


def test_pretrained_weights_from_a_local_file(tmp_path: Path):
    source = torchvision_resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    network = build_network("resnet18", *CELEBA, pretrained=str(path))
    assert torch.equal(network.encoder.resnet.conv1.weight, source.conv1.weight)
    assert torch.equal(
        network.encoder.resnet.layer4[1].bn2.running_var, source.layer4[1].bn2.running_var
    )
    with pytest.raises(
        ValueError, match=r"resnet18\.pth: keys do not match.*(missing|wrong shape)"
    ):
        build_network("deeplabv3", *CITYSCAPES, pretrained=str(path))
    with pytest.raises(FileNotFoundError, match="never downloads"):
        build_network("deeplabv3", *CITYSCAPES, pretrained=str(tmp_path / "absent.pth"))


def test_deeplabv3_loads_resnet50_weights(tmp_path: Path):
    source = torchvision_resnet50(weights=None)
    path = tmp_path / "resnet50.pth"
    torch.save(source.state_dict(), path)
    network = build_network("deeplabv3", *CITYSCAPES, pretrained=str(path))
    assert torch.equal(network.encoder.layer3[0].conv2.weight, source.layer3[0].conv2.weight)
    assert network.encoder.layer4[0].conv2.dilation == (2, 2)  # strides became dilations

"""NYUv2 and Cityscapes npy releases: read as specified, split as the paper, augmented correctly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mtlx.data import build_dataset
from mtlx.data.check import check_dataset
from mtlx.data.dense import random_scale_crop_flip, validation_split
from mtlx.data.fixtures import write_fixture

H, W = 32, 64


@pytest.fixture(scope="module")
def nyuv2_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture("nyuv2", tmp_path_factory.mktemp("nyuv2"), n=10, height=H, width=W)


@pytest.fixture(scope="module")
def cityscapes_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture("cityscapes", tmp_path_factory.mktemp("cityscapes"), 8, height=H, width=W)


def test_nyuv2_samples_are_the_files_in_chw(nyuv2_root: Path):
    splits = build_dataset("nyuv2", nyuv2_root, val_size=3)
    assert splits.input_shape == (3, H, W)
    assert [t.name for t in splits.tasks] == ["seg", "depth", "normal"]
    assert splits.tasks[0].output_size == 13
    image, targets = splits.test[4]  # test = val/, all files in order
    folder = nyuv2_root / "val"
    np.testing.assert_allclose(
        image.numpy(), np.load(folder / "image" / "4.npy").transpose(2, 0, 1), rtol=1e-6
    )
    np.testing.assert_array_equal(targets["seg"].numpy(), np.load(folder / "label" / "4.npy"))
    np.testing.assert_array_equal(
        targets["depth"].numpy(), np.load(folder / "depth" / "4.npy").transpose(2, 0, 1)
    )
    np.testing.assert_array_equal(
        targets["normal"].numpy(), np.load(folder / "normal" / "4.npy").transpose(2, 0, 1)
    )
    assert image.dtype == torch.float32 and targets["seg"].dtype == torch.int64
    assert targets["depth"].shape == (1, H, W) and targets["normal"].shape == (3, H, W)
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert targets["seg"].min() == -1  # ignored pixels survive as −1
    assert (targets["depth"] == 0).any() and ((targets["normal"] == 0).all(0)).any()


def test_nyuv2_task_subset(nyuv2_root: Path):
    splits = build_dataset("nyuv2", nyuv2_root, tasks=["normal", "seg"], val_size=3)
    assert [t.name for t in splits.tasks] == ["seg", "normal"]
    assert set(splits.train[0][1]) == {"seg", "normal"}
    with pytest.raises(ValueError, match="tasks must be distinct names among seg, depth, normal"):
        build_dataset("nyuv2", nyuv2_root, tasks=["segmentation"])


def test_validation_is_a_seeded_disjoint_part_of_train(nyuv2_root: Path):
    splits = build_dataset("nyuv2", nyuv2_root, val_size=3, split_seed=5)
    train, val = splits.train.indices, splits.val.indices
    assert len(val) == 3 and len(train) == 7 and len(splits.test) == 10
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(range(10))
    assert splits.provenance["samples"] == {"train": 7, "val": 3, "test": 10}
    again = build_dataset("nyuv2", nyuv2_root, val_size=3, split_seed=5)
    assert again.val.indices == val
    assert again.provenance["split_indices_digest"] == splits.provenance["split_indices_digest"]
    other = build_dataset("nyuv2", nyuv2_root, val_size=3, split_seed=6)
    assert other.provenance["split_indices_digest"] != splits.provenance["split_indices_digest"]
    assert splits.train.augment is False and splits.val.augment is False


def test_paper_validation_sizes():
    train, val = validation_split(795, 159, 0, "nyuv2")
    assert (len(train), len(val)) == (636, 159) and not set(train) & set(val)
    train, val = validation_split(2975, 595, 0, "cityscapes")
    assert (len(train), len(val)) == (2380, 595)
    assert len(validation_split(795, 0.2, 0, "nyuv2")[1]) == 159
    with pytest.raises(ValueError, match=r"val_size must be a count in 1\.\.9"):
        validation_split(10, 159, 0, "train/")


def test_default_validation_size_needs_the_real_release(nyuv2_root: Path):
    with pytest.raises(ValueError, match=r"val_size.*10 training samples"):
        build_dataset("nyuv2", nyuv2_root)


def test_augmentation_only_on_the_training_split(nyuv2_root: Path):
    splits = build_dataset("nyuv2", nyuv2_root, val_size=3, augment=True)
    assert splits.train.augment and not splits.val.augment and not splits.test.augment
    torch.manual_seed(3)
    first = splits.train[0]
    torch.manual_seed(3)
    second = splits.train[0]
    assert torch.equal(first[0], second[0])  # torch's RNG makes it reproducible
    for key in first[1]:
        assert torch.equal(first[1][key], second[1][key])
    image, targets = first
    assert image.shape == (3, H, W) and targets["seg"].shape == (H, W)


def test_cityscapes_label_7_and_19(cityscapes_root: Path):
    splits = build_dataset("cityscapes", cityscapes_root, val_size=2)
    assert [t.name for t in splits.tasks] == ["seg", "depth"]
    assert splits.tasks[0].output_size == 7
    assert splits.provenance["folders"]["seg"] == "label_7"
    _, targets = splits.test[1]
    expected = np.load(cityscapes_root / "val" / "label_7" / "1.npy")
    np.testing.assert_array_equal(targets["seg"].numpy(), expected)
    assert len(splits.val) == 2 and len(splits.train) == 6
    nineteen = build_dataset("cityscapes", cityscapes_root, val_size=2, segmentation_classes=19)
    assert nineteen.tasks[0].output_size == 19
    _, targets = nineteen.test[1]
    expected = np.load(cityscapes_root / "val" / "label_19" / "1.npy")
    np.testing.assert_array_equal(targets["seg"].numpy(), expected)
    with pytest.raises(ValueError, match="segmentation_classes must be 7 or 19"):
        build_dataset("cityscapes", cityscapes_root, segmentation_classes=13)


def test_cityscapes_accepts_libmtl_label_folder(tmp_path: Path):
    root = write_fixture("cityscapes", tmp_path, 3, height=H, width=W, label_folder="label")
    assert not (root / "train" / "label_7").exists()
    splits = build_dataset("cityscapes", root, val_size=1)
    assert splits.provenance["folders"]["seg"] == "label"
    np.testing.assert_array_equal(
        splits.test[0][1]["seg"].numpy(), np.load(root / "val" / "label" / "0.npy")
    )
    assert any("seg: label/" in line for line in check_dataset("cityscapes", root))


def test_fixture_defaults_are_the_real_resolutions(tmp_path: Path):
    nyu = write_fixture("nyuv2", tmp_path / "n", 1)
    assert np.load(nyu / "train" / "image" / "0.npy").shape == (288, 384, 3)
    assert np.load(nyu / "train" / "depth" / "0.npy").shape == (288, 384, 1)
    city = write_fixture("cityscapes", tmp_path / "c", 1)
    assert np.load(city / "val" / "label_7" / "0.npy").shape == (128, 256)


# ---------------------------------------------------------------------------- augmentation


def example(seed: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(3, 12, 16, generator=generator)
    label = torch.randint(-1, 5, (12, 16), generator=generator)
    depth = torch.rand(1, 12, 16, generator=generator) + 1.0
    depth[0, 0, :4] = 0
    normal = torch.nn.functional.normalize(torch.randn(3, 12, 16, generator=generator), dim=0)
    normal[:, 1, :4] = 0
    return image, {"seg": label, "depth": depth, "normal": normal}


KINDS = {"seg": "label", "depth": "depth", "normal": "normal"}


def test_flip_negates_the_normals_x_component():
    image, targets = example()
    flipped_seen = unflipped_seen = False
    for seed in range(20):
        torch.manual_seed(seed)
        out_image, out = random_scale_crop_flip(image, targets, KINDS, scales=(1.0,))
        if torch.allclose(out_image, image):
            unflipped_seen = True
            assert torch.equal(out["normal"], targets["normal"])
            continue
        flipped_seen = True
        assert torch.allclose(out_image, image.flip(-1))
        assert torch.equal(out["seg"], targets["seg"].flip(-1))
        assert torch.equal(out["depth"], targets["depth"].flip(-1))
        expected = targets["normal"].flip(-1).clone()
        expected[0] = -expected[0]
        assert torch.equal(out["normal"], expected)
    assert flipped_seen and unflipped_seen


def test_scale_crop_divides_depth_and_keeps_labels_and_unit_normals():
    image, targets = example()
    torch.manual_seed(0)
    out_image, out = random_scale_crop_flip(image, targets, KINDS, scales=(1.5,))
    assert out_image.shape == image.shape and out["seg"].shape == targets["seg"].shape
    assert set(out["seg"].unique().tolist()) <= set(targets["seg"].unique().tolist())
    source_depths = set(np.round(targets["depth"].numpy().ravel(), 5))
    scaled_back = set(np.round(out["depth"].numpy().ravel() * 1.5, 5))
    assert scaled_back <= source_depths  # nearest samples of depth / 1.5 (0 stays invalid)
    norms = out["normal"].norm(dim=0)
    assert torch.all((norms == 0) | ((norms - 1).abs() < 1e-5))

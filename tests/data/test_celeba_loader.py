"""CelebA in both folder layouts: official partition, attributes −1/1 → 0/1, 64×64 images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mtlx.data import DataFormatError, build_dataset
from mtlx.data.check import CELEBA_ATTRIBUTES, check_dataset
from mtlx.data.fixtures import write_fixture

N = 20  # 16 train, 2 validation, 2 test


def attribute_rows(path: Path) -> dict[str, list[int]]:
    lines = path.read_text().splitlines()[2:]
    return {line.split()[0]: [int(v) for v in line.split()[1:]] for line in lines}


@pytest.mark.parametrize("layout", ["torchvision", "official"])
def test_both_layouts_read_partition_and_attributes(tmp_path: Path, layout: str):
    root = write_fixture("celeba", tmp_path, N, layout=layout)
    splits = build_dataset("celeba", root)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (16, 2, 2)
    assert [t.name for t in splits.tasks] == list(CELEBA_ATTRIBUTES)
    assert splits.tasks[31].primary_metric == "Smiling.acc"
    assert splits.input_shape == (3, 64, 64)
    attribute_file = (
        root / "celeba" / "list_attr_celeba.txt"
        if layout == "torchvision"
        else root / "Anno" / "list_attr_celeba.txt"
    )
    rows = attribute_rows(attribute_file)
    image, targets = splits.test[1]
    expected = rows[splits.test.filenames[1]]
    assert [int(targets[name]) for name in CELEBA_ATTRIBUTES] == [(v + 1) // 2 for v in expected]
    assert image.shape == (3, 64, 64) and image.dtype == torch.float32
    assert image.min() >= 0.0 and image.max() <= 1.0 and image.std() > 0
    assert splits.test.filenames == ["000019.jpg", "000020.jpg"]  # partition 2 rows


def test_root_may_be_the_celeba_folder_itself_and_options(tmp_path: Path):
    root = write_fixture("celeba", tmp_path, N)
    splits = build_dataset("celeba", root / "celeba", tasks=["Smiling", "Male"], image_size=32)
    assert [t.name for t in splits.tasks] == ["Male", "Smiling"]  # official order
    image, targets = splits.train[0]
    assert image.shape == (3, 32, 32) and set(targets) == {"Male", "Smiling"}
    with pytest.raises(ValueError, match="unknown: \\['smiling'\\]"):
        build_dataset("celeba", root, tasks=["smiling"])


def test_dataloader_batches(tmp_path: Path):
    root = write_fixture("celeba", tmp_path, N)
    splits = build_dataset("celeba", root, tasks=["Smiling"])
    images, targets = next(iter(torch.utils.data.DataLoader(splits.train, batch_size=4)))
    assert images.shape == (4, 3, 64, 64) and targets["Smiling"].shape == (4,)
    assert set(targets["Smiling"].tolist()) <= {0.0, 1.0}


def test_missing_list_file(tmp_path: Path):
    root = write_fixture("celeba", tmp_path, N)
    (root / "celeba" / "list_attr_celeba.txt").unlink()
    with pytest.raises(DataFormatError, match=r"list_attr_celeba\.txt: missing file"):
        check_dataset("celeba", root)


def test_missing_partition_file_official_layout(tmp_path: Path):
    root = write_fixture("celeba", tmp_path, N, layout="official")
    (root / "Eval" / "list_eval_partition.txt").unlink()
    with pytest.raises(DataFormatError, match=r"Eval/list_eval_partition\.txt: missing file"):
        build_dataset("celeba", root)


def test_attribute_value_not_plus_minus_one(tmp_path: Path):
    root = write_fixture("celeba", tmp_path, N)
    path = root / "celeba" / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    fields = lines[4].split()
    fields[32] = "0"  # Smiling of the third image
    lines[4] = " ".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataFormatError, match=r"list_attr_celeba\.txt, line 5: attribute Smiling is '0'"
    ):
        check_dataset("celeba", root)


def test_bad_partition_value(tmp_path: Path):
    root = write_fixture("celeba", tmp_path, N)
    path = root / "celeba" / "list_eval_partition.txt"
    path.write_text(path.read_text().replace("000003.jpg 0", "000003.jpg 3"))
    with pytest.raises(DataFormatError, match=r"list_eval_partition\.txt, line 3"):
        check_dataset("celeba", root)


def test_missing_image(tmp_path: Path):
    root = write_fixture("celeba", tmp_path, N)
    (root / "celeba" / "img_align_celeba" / "000007.jpg").unlink()
    with pytest.raises(DataFormatError, match=r"img_align_celeba/000007\.jpg: missing image"):
        check_dataset("celeba", root)


def test_zipped_images_hint(tmp_path: Path):
    root = write_fixture("celeba", tmp_path, N, layout="official")
    image_dir = root / "Img" / "img_align_celeba"
    for path in image_dir.iterdir():
        path.unlink()
    image_dir.rmdir()
    (root / "Img" / "img_align_celeba.zip").write_bytes(b"PK")
    with pytest.raises(DataFormatError, match=r"img_align_celeba\.zip is there: unzip it"):
        check_dataset("celeba", root)


def test_corrupt_jpeg_found_by_full_check(tmp_path: Path):
    root = write_fixture("celeba", tmp_path, N)
    (root / "celeba" / "img_align_celeba" / "000005.jpg").write_bytes(b"not a jpeg")
    check_dataset("celeba", root)
    with pytest.raises(DataFormatError, match=r"000005\.jpg: not a readable image"):
        check_dataset("celeba", root, full=True)


def test_no_celeba_files(tmp_path: Path):
    with pytest.raises(DataFormatError, match="no CelebA files found"):
        check_dataset("celeba", tmp_path)


def test_fixture_writes_real_jpegs_and_all_list_files(tmp_path: Path):
    from PIL import Image

    root = write_fixture("celeba", tmp_path, 3)
    folder = root / "celeba"
    with Image.open(folder / "img_align_celeba" / "000001.jpg") as image:
        assert image.format == "JPEG" and image.size == (178, 218)
    for name in (
        "identity_CelebA.txt",
        "list_bbox_celeba.txt",
        "list_landmarks_align_celeba.txt",
        "list_eval_partition.txt",
        "list_attr_celeba.txt",
    ):
        assert (folder / name).is_file()
    lines = (folder / "list_attr_celeba.txt").read_text().splitlines()
    assert lines[0] == "3" and lines[1].split() == list(CELEBA_ATTRIBUTES)
    assert np.isin([int(v) for v in lines[2].split()[1:]], [-1, 1]).all()

"""Malformed dataset folders fail up front with an error naming the file and what was expected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtlx.data import DataFormatError, build_dataset
from mtlx.data.check import check_dataset
from mtlx.data.fixtures import write_fixture
from mtlx.registry import UnknownNameError

H, W = 32, 64


@pytest.fixture
def nyuv2_root(tmp_path: Path) -> Path:
    return write_fixture("nyuv2", tmp_path, n=4, height=H, width=W)


def test_a_good_folder_gives_a_summary(nyuv2_root: Path):
    summary = check_dataset("nyuv2", nyuv2_root, full=True)
    text = "\n".join(summary)
    assert "train/: 4 samples" in text and "val/: 4 samples" in text
    assert "resolution 32×64 (the paper uses 288×384)" in text


def test_missing_root():
    with pytest.raises(DataFormatError, match="no data folder given"):
        build_dataset("nyuv2", None)


def test_missing_folder(nyuv2_root: Path):
    for path in (nyuv2_root / "val" / "depth").iterdir():
        path.unlink()
    (nyuv2_root / "val" / "depth").rmdir()
    with pytest.raises(DataFormatError, match=r"val/depth: missing folder"):
        check_dataset("nyuv2", nyuv2_root)
    # the builder runs the same check before anything else
    with pytest.raises(DataFormatError, match=r"val/depth: missing folder"):
        build_dataset("nyuv2", nyuv2_root, val_size=1)


def test_gap_in_the_numbering(nyuv2_root: Path):
    (nyuv2_root / "train" / "normal" / "2.npy").unlink()
    with pytest.raises(DataFormatError, match=r"train/normal/2\.npy: missing.*without gaps"):
        check_dataset("nyuv2", nyuv2_root)


def test_folders_of_a_split_disagree_in_count(nyuv2_root: Path):
    (nyuv2_root / "train" / "label" / "3.npy").unlink()
    with pytest.raises(DataFormatError, match=r"train/label: 3 files, but train/image/ has 4"):
        check_dataset("nyuv2", nyuv2_root)


def test_channels_first_image(nyuv2_root: Path):
    path = nyuv2_root / "train" / "image" / "3.npy"
    np.save(path, np.load(path).transpose(2, 0, 1))
    with pytest.raises(DataFormatError, match=r"image/3\.npy: expected shape \(32, 64, 3\).*"
                       r"found \(3, 32, 64\) \(channels first"):  # fmt: skip
        check_dataset("nyuv2", nyuv2_root)


def test_depth_without_channel_axis(nyuv2_root: Path):
    path = nyuv2_root / "val" / "depth" / "0.npy"
    np.save(path, np.load(path)[..., 0])
    with pytest.raises(DataFormatError, match=r"depth/0\.npy: expected shape \(32, 64, 1\)"):
        check_dataset("nyuv2", nyuv2_root)


def test_label_outside_range(nyuv2_root: Path):
    path = nyuv2_root / "train" / "label" / "0.npy"
    label = np.load(path)
    label[5, 5] = 13
    np.save(path, label)
    with pytest.raises(DataFormatError, match=r"label/0\.npy: label 13 outside 0\.\.12"):
        check_dataset("nyuv2", nyuv2_root)


def test_image_outside_unit_range(nyuv2_root: Path):
    path = nyuv2_root / "val" / "image" / "3.npy"
    np.save(path, np.load(path) * 255)
    with pytest.raises(DataFormatError, match=r"image/3\.npy: image values must be in \[0, 1\]"):
        check_dataset("nyuv2", nyuv2_root)


def test_normals_neither_unit_nor_zero(nyuv2_root: Path):
    path = nyuv2_root / "train" / "normal" / "0.npy"
    np.save(path, np.load(path) * 0.5)
    with pytest.raises(DataFormatError, match=r"normal/0\.npy: normals must be unit vectors"):
        check_dataset("nyuv2", nyuv2_root)


def test_negative_depth(nyuv2_root: Path):
    path = nyuv2_root / "train" / "depth" / "3.npy"
    np.save(path, -np.load(path))
    with pytest.raises(DataFormatError, match=r"depth/3\.npy: depth must be >= 0"):
        check_dataset("nyuv2", nyuv2_root)


def test_full_check_reads_middle_files(nyuv2_root: Path):
    path = nyuv2_root / "train" / "label" / "1.npy"
    np.save(path, np.full((H, W), 40.0, dtype=np.float32))
    check_dataset("nyuv2", nyuv2_root)  # the quick check reads the first and last file's values
    with pytest.raises(DataFormatError, match=r"label/1\.npy: label 40"):
        check_dataset("nyuv2", nyuv2_root, full=True)


def test_the_quick_check_reads_every_files_shape(nyuv2_root: Path):
    path = nyuv2_root / "val" / "depth" / "2.npy"
    np.save(path, np.zeros((H, W + 1, 1), dtype=np.float32))
    with pytest.raises(DataFormatError, match=r"val/depth/2\.npy: expected shape \(32, 64, 1\)"
                       r".*found \(32, 65, 1\)"):  # fmt: skip
        check_dataset("nyuv2", nyuv2_root)


def test_the_quick_check_refuses_a_truncated_middle_file(nyuv2_root: Path):
    path = nyuv2_root / "train" / "image" / "1.npy"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataFormatError, match=r"image/1\.npy: truncated: its header declares a "
                       r"float64 array of shape \(32, 64, 3\) \(49,152 bytes\), but the file "
                       r"holds 49,052 bytes of data"):  # fmt: skip
        check_dataset("nyuv2", nyuv2_root)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((H, W, 3), dtype=np.uint8), r"dtype uint8 \(unsigned integers\), but "
         r"image/0\.npy holds floats: every file of a folder must hold the same kind of values"),
        (np.full((H, W, 3), "x"), r"expected a numeric array, but found dtype <U1"),
    ],
)  # fmt: skip
def test_the_quick_check_reads_every_files_dtype(nyuv2_root: Path, array, message):
    np.save(nyuv2_root / "train" / "image" / "2.npy", array)
    with pytest.raises(DataFormatError, match=rf"train/image/2\.npy: {message}"):
        check_dataset("nyuv2", nyuv2_root)


def test_a_pickled_file_is_not_read(nyuv2_root: Path):
    objects = np.empty((H, W), dtype=object)
    np.save(nyuv2_root / "train" / "label" / "1.npy", objects, allow_pickle=True)
    with pytest.raises(DataFormatError, match=r"label/1\.npy: expected a numeric array, but found "
                       r"dtype object"):  # fmt: skip
        check_dataset("nyuv2", nyuv2_root)


def test_badly_named_file(nyuv2_root: Path):
    (nyuv2_root / "train" / "image" / "007.npy").write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"007\.npy: unexpected file name"):
        check_dataset("nyuv2", nyuv2_root)


def test_cityscapes_without_any_label_folder(tmp_path: Path):
    root = write_fixture("cityscapes", tmp_path, 2, height=H, width=W, with_19_classes=False)
    (root / "train" / "label_7").rename(root / "train" / "labels")
    with pytest.raises(DataFormatError, match=r"missing folder train/label_7/ or train/label/"):
        check_dataset("cityscapes", root)


def test_cityscapes_7_class_label_out_of_range(tmp_path: Path):
    root = write_fixture("cityscapes", tmp_path, 2, height=H, width=W)
    path = root / "val" / "label_7" / "1.npy"
    label = np.load(path)
    label[0, 1] = 7
    np.save(path, label)
    with pytest.raises(DataFormatError, match=r"label_7/1\.npy: label 7 outside 0\.\.6"):
        check_dataset("cityscapes", root)


def test_unknown_dataset():
    with pytest.raises(UnknownNameError, match="registered: celeba, cityscapes, nyuv2"):
        check_dataset("imagenet", Path("."))

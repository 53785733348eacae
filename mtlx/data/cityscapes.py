"""Cityscapes (Cordts et al., 2016) in MTAN's 128×256 release: 7-class (or 19-class) segmentation
and inverse depth (disparity; 0 = invalid).

Splits as in the seed paper (appendix A3.1, after Nash-MTL): ``val_size`` = 595 of the 2975
official training images, drawn by a permutation seeded with ``split_seed``, are the validation
split; the release's ``val/`` folder (the official 500 validation images) is the test split.
The 7-class labels are read from ``label_7/`` or, in LibMTL's renamed copy, ``label/``;
``segmentation_classes=19`` reads ``label_19/``. ``augment=True`` applies the random scale-crop +
flip of :mod:`mtlx.data.dense` to the training split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mtlx.data.base import DatasetSplits
from mtlx.data.check import check_cityscapes
from mtlx.data.dense import dense_splits
from mtlx.data.registry import DATASETS
from mtlx.tasks import DepthTask, SegmentationTask, Task


@DATASETS.register("cityscapes")
def cityscapes(
    root: Path | None = None,
    tasks: Sequence[str] = ("seg", "depth"),
    segmentation_classes: int = 7,
    val_size: int | float = 595,
    split_seed: int = 0,
    augment: bool = False,
) -> DatasetSplits:
    """Cityscapes from ``root/{train,val}/{image,label_7|label|label_19,depth}/{i}.npy``."""
    layout = check_cityscapes(root, tasks, segmentation_classes)
    every: dict[str, Task] = {"seg": SegmentationTask(segmentation_classes), "depth": DepthTask()}
    chosen = [every[name] for name in every if name in layout.formats]
    splits = dense_splits(
        layout, chosen, val_size, split_seed, augment, "Cityscapes, MTAN preprocessed 128×256 npy"
    )
    splits.provenance["segmentation_classes"] = segmentation_classes
    return splits

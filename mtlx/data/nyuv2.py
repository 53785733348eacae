"""NYUv2 (Silberman et al., 2012) in MTAN's preprocessed 288×384 release: 13-class segmentation,
depth in metres and surface normals.

Splits as in the seed paper (appendix A3.1, after LibMTL): the official 795 training images give
the training set minus ``val_size`` = 159 images drawn by a permutation seeded with ``split_seed``
for validation; the release's ``val/`` folder (the official 654 test images) is the test split,
used only for reporting. ``augment=True`` applies the random scale-crop + flip of
:mod:`mtlx.data.dense` to the training split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mtlx.data.base import DatasetSplits
from mtlx.data.check import check_nyuv2
from mtlx.data.dense import dense_splits
from mtlx.data.registry import DATASETS
from mtlx.tasks import DepthTask, NormalTask, SegmentationTask, Task

NUM_CLASSES = 13


@DATASETS.register("nyuv2")
def nyuv2(
    root: Path | None = None,
    tasks: Sequence[str] = ("seg", "depth", "normal"),
    val_size: int | float = 159,
    split_seed: int = 0,
    augment: bool = False,
) -> DatasetSplits:
    """NYUv2 from ``root/{train,val}/{image,label,depth,normal}/{i}.npy``; ``tasks`` a subset."""
    layout = check_nyuv2(root, tasks)
    every: dict[str, Task] = {
        "seg": SegmentationTask(NUM_CLASSES),
        "depth": DepthTask(),
        "normal": NormalTask(),
    }
    chosen = [every[name] for name in every if name in layout.formats]
    return dense_splits(
        layout, chosen, val_size, split_seed, augment, "NYUv2, MTAN preprocessed npy release"
    )

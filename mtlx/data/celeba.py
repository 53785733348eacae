"""CelebA (Liu et al., 2015): 40 binary face attributes, one task per attribute.

Read from torchvision's layout (``celeba/img_align_celeba/*.jpg``, ``list_eval_partition.txt``,
``list_attr_celeba.txt``) or the official one (``Img/img_align_celeba/``, ``Eval/…``, ``Anno/…``);
``root`` may be the folder holding the files or its parent. Splits are the official partition
(162,770 / 19,867 / 19,962): train, validation, test — the seed paper's protocol (appendix A3.1).

Each aligned 178×218 JPEG is decoded with Pillow, converted to RGB and resized to
``image_size``×``image_size`` (bilinear, Pillow's antialiasing filter; the whole image, aspect
ratio not kept, as in the RLW/PCGrad CelebA setups), then scaled to [0, 1]. Attributes −1/1 become
0/1 float targets. Images are decoded lazily per sample; use DataLoader workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from mtlx.data.base import DatasetSplits
from mtlx.data.check import CELEBA_ATTRIBUTES, check_celeba
from mtlx.data.registry import DATASETS
from mtlx.tasks import BinaryAttributeTask


class CelebAImages(Dataset):
    """Samples ``(image 3×S×S float32, {attribute: 0./1.})`` of one partition."""

    def __init__(
        self,
        image_dir: Path,
        filenames: Sequence[str],
        attributes: np.ndarray,
        names: Sequence[str],
        image_size: int,
    ) -> None:
        self.image_dir = Path(image_dir)
        self.filenames = list(filenames)
        self.attributes = torch.from_numpy(attributes.astype(np.float32))
        self.names = tuple(names)
        self.image_size = image_size

    def __len__(self) -> int:
        return len(self.filenames)

    def load_image(self, position: int) -> Tensor:
        from PIL import Image

        with Image.open(self.image_dir / self.filenames[position]) as image:
            resized = image.convert("RGB").resize(
                (self.image_size, self.image_size), Image.Resampling.BILINEAR
            )
        pixels = torch.from_numpy(np.asarray(resized, dtype=np.uint8).copy())
        return pixels.permute(2, 0, 1).float().div_(255.0)

    def __getitem__(self, position: int) -> tuple[Tensor, dict[str, Tensor]]:
        row = self.attributes[position]
        return self.load_image(position), {name: row[i] for i, name in enumerate(self.names)}


@DATASETS.register("celeba")
def celeba(
    root: Path | None = None,
    tasks: Sequence[str] | None = None,
    image_size: int = 64,
) -> DatasetSplits:
    """CelebA with one binary task per attribute in ``tasks`` (default: all 40, official order)."""
    if not isinstance(image_size, int) or image_size < 8:
        raise ValueError(f"image_size must be an integer >= 8, but got {image_size!r}.")
    names = CELEBA_ATTRIBUTES if tasks is None else tuple(tasks)
    unknown = [name for name in names if name not in CELEBA_ATTRIBUTES]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(
            f"celeba: tasks must be distinct CelebA attribute names (e.g. Smiling, Male), but got "
            f"{list(names)}; unknown: {unknown}."
        )
    names = tuple(name for name in CELEBA_ATTRIBUTES if name in names)
    layout = check_celeba(root)
    columns = [CELEBA_ATTRIBUTES.index(name) for name in names]
    attributes = layout.attributes[:, columns]

    def split(part: int) -> CelebAImages:
        rows = np.flatnonzero(layout.partition == part)
        filenames = [layout.filenames[i] for i in rows]
        return CelebAImages(layout.image_dir, filenames, attributes[rows], names, image_size)

    train, val, test = split(0), split(1), split(2)
    partition_digest = hashlib.sha256(layout.partition.tobytes()).hexdigest()[:16]
    return DatasetSplits(
        train=train,
        val=val,
        test=test,
        tasks=tuple(BinaryAttributeTask(name) for name in names),
        input_shape=(3, image_size, image_size),
        provenance={
            "source": f"CelebA aligned images ({layout.layout} layout)",
            "root": str(layout.folder),
            "samples": {"train": len(train), "val": len(val), "test": len(test)},
            "validation": "official partition (list_eval_partition.txt = 1)",
            "partition_digest": partition_digest,
            "image_size": image_size,
        },
    )

"""Dense-prediction npy releases (NYUv2, Cityscapes): lazy loading, the validation split, and the
random scale-crop + flip augmentation.

Samples are ``(image 3×H×W float32 in [0, 1], targets)`` with targets ``seg`` H×W int64 (−1
ignored), ``depth`` 1×H×W float32 (0 invalid), ``normal`` 3×H×W float32 (zero vector invalid).
Files are memory-mapped and read when a sample is fetched: NYUv2 alone is ~8 GB as float64.

Augmentation (training split only, ``augment=True``) follows MTAN's ``RandomScaleCrop`` (credited
there to J. Wu, lorenmt/mtan#34), used by CAGrad and Nash-MTL and cited by the seed paper: pick a
scale s ∈ {1.0, 1.2, 1.5}, crop a random ⌊H/s⌋×⌊W/s⌋ window and resize it back to H×W, then flip
horizontally with probability ½. Per modality:

- image: bilinear (``align_corners=False``);
- labels and depth: nearest neighbour; depth is divided by s (zooming in by s brings the scene s
  times closer). The references apply the same ÷s to Cityscapes' *inverse* depth, for which ×s
  would be the physical rule; we keep ÷s so results stay comparable with theirs;
- normals: nearest neighbour, unchanged by the scale (MTAN interpolates them bilinearly, which
  blends valid normals with invalid zero vectors and shortens them; nearest keeps every pixel a
  unit vector or exactly zero); on a flip the x component is negated.

The "nearest" resampling is ``nearest-exact`` (pixel centres), which lines up with bilinear
``align_corners=False``; plain ``nearest`` shifts labels by up to half a pixel against the image.
Random draws use torch's generator, so ``torch.manual_seed`` (and DataLoader worker seeding)
reproduces them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from mtlx.data.base import DatasetSplits, SeededSample
from mtlx.data.check import DenseLayout, NpyFormat, check_shape, open_npy
from mtlx.tasks import Task

SCALES = (1.0, 1.2, 1.5)


def to_tensor(array: np.ndarray, fmt: NpyFormat) -> Tensor:
    """HWC array → CHW float32 tensor; label map → H×W int64 (both copies out of the mmap)."""
    if fmt.kind == "label":
        return torch.from_numpy(np.array(array, dtype=np.int64))
    return torch.from_numpy(np.array(array, dtype=np.float32)).permute(2, 0, 1).contiguous()


def resample(values: Tensor, size: tuple[int, int], mode: str) -> Tensor:
    """C×h×w (float) → C×H×W."""
    extra = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(values[None], size=size, mode=mode, **extra)[0]


def random_scale_crop_flip(
    image: Tensor,
    targets: Mapping[str, Tensor],
    kinds: Mapping[str, str],
    scales: Sequence[float] = SCALES,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """One random scale-crop and flip applied consistently to an image and its dense targets.

    ``kinds[task]`` is "label", "depth" or "normal" (see the module docstring for each rule).
    ``generator``: where the random draws come from (default: torch's global generator).
    """
    height, width = image.shape[-2:]
    scale = float(scales[int(torch.randint(len(scales), (), generator=generator))])
    crop_h, crop_w = int(height / scale), int(width / scale)
    top = int(torch.randint(height - crop_h + 1, (), generator=generator))
    left = int(torch.randint(width - crop_w + 1, (), generator=generator))
    flip = bool(torch.rand((), generator=generator) < 0.5)

    def crop(values: Tensor) -> Tensor:
        return values[..., top : top + crop_h, left : left + crop_w]

    size = (height, width)
    image = resample(crop(image), size, "bilinear").clamp_(0.0, 1.0)
    result: dict[str, Tensor] = {}
    for task, target in targets.items():
        kind = kinds[task]
        if kind == "label":
            out = resample(crop(target)[None].float(), size, "nearest-exact")[0].long()
        else:
            out = resample(crop(target), size, "nearest-exact")
            if kind == "depth":
                out = out / scale
        result[task] = out
    if flip:
        image = image.flip(-1)
        result = {task: target.flip(-1) for task, target in result.items()}
        for task, target in result.items():
            if kinds[task] == "normal":
                target[0].neg_()  # mirrored surface: its normal's x component changes sign
    return image, result


class DenseNpyDataset(Dataset):
    """Samples ``indices`` of one split folder ``<split>/<folder>/{i}.npy``, read lazily.

    With ``augment``, a sample asked for as a :class:`SeededSample` draws its augmentation from a
    generator seeded by the key's seed, so the same key gives the same sample in any process and
    after any resume; a plain position draws from torch's global generator.
    """

    def __init__(
        self,
        split_dir: Path,
        image_format: NpyFormat,
        target_formats: Mapping[str, NpyFormat],
        indices: Sequence[int],
        size: tuple[int, int],
        augment: bool = False,
        scales: Sequence[float] = SCALES,
    ) -> None:
        self.split_dir = Path(split_dir)
        self.image_format = image_format
        self.target_formats = dict(target_formats)
        self.indices = [int(i) for i in indices]
        self.size = size
        self.augment = augment
        self.scales = tuple(scales)

    @property
    def randomized(self) -> bool:
        """Whether a sample depends on random draws (then training asks with seeds)."""
        return self.augment

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, fmt: NpyFormat, index: int) -> Tensor:
        path = self.split_dir / fmt.folder / f"{index}.npy"
        array = open_npy(path)
        check_shape(path, array, fmt, self.size)  # values are checked up front (mtlx.data.check)
        return to_tensor(array, fmt)

    def __getitem__(self, key: int | SeededSample) -> tuple[Tensor, dict[str, Tensor]]:
        position, seed = (key.position, key.seed) if isinstance(key, SeededSample) else (key, None)
        index = self.indices[position]
        image = self.load(self.image_format, index)
        targets = {task: self.load(fmt, index) for task, fmt in self.target_formats.items()}
        if self.augment:
            kinds = {task: fmt.kind for task, fmt in self.target_formats.items()}
            generator = None if seed is None else torch.Generator().manual_seed(seed)
            image, targets = random_scale_crop_flip(
                image, targets, kinds, self.scales, generator=generator
            )
        return image, targets


def validation_split(
    n: int, val_size: int | float, seed: int, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint sorted (train, validation) indices of ``0..n−1``: the first ``val_size`` of a
    permutation seeded by ``seed`` are validation. ``val_size`` is a count, or a fraction in (0, 1).
    """
    count = round(val_size * n) if isinstance(val_size, float) and 0 < val_size < 1 else val_size
    if isinstance(count, float) and count.is_integer():
        count = int(count)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count < n:
        raise ValueError(
            f"val_size must be a count in 1..{n - 1} or a fraction in (0, 1) of the {n} "
            f"training samples in {source}, but got {val_size!r}."
        )
    permutation = np.random.default_rng(seed).permutation(n)
    return np.sort(permutation[count:]), np.sort(permutation[:count])


def indices_digest(*index_sets: np.ndarray) -> str:
    """A short fingerprint of the exact sample indices of each split (recorded in provenance)."""
    digest = hashlib.sha256()
    for indices in index_sets:
        digest.update(np.ascontiguousarray(indices, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()[:16]


def dense_splits(
    layout: DenseLayout,
    tasks: Sequence[Task],
    val_size: int | float,
    split_seed: int,
    augment: bool,
    source: str,
) -> DatasetSplits:
    """Train / validation from ``train/`` (seeded permutation), test = ``val/`` (the official
    held-out split, used only for reporting)."""
    n_train = layout.counts["train"]
    train_indices, val_indices = validation_split(
        n_train, val_size, split_seed, str(layout.root / "train")
    )
    image_format = layout.formats["image"]
    target_formats = {task.name: layout.formats[task.name] for task in tasks}

    def split(folder: str, indices: Sequence[int], augmented: bool) -> DenseNpyDataset:
        return DenseNpyDataset(
            layout.root / folder, image_format, target_formats, indices, layout.size, augmented
        )

    return DatasetSplits(
        train=split("train", train_indices, augment),
        val=split("train", val_indices, False),
        test=split("val", range(layout.counts["val"]), False),
        tasks=tuple(tasks),
        input_shape=(3, *layout.size),
        provenance={
            "source": source,
            "root": str(layout.root),
            "folders": {key: fmt.folder for key, fmt in layout.formats.items()},
            "samples": {
                "train": len(train_indices),
                "val": len(val_indices),
                "test": layout.counts["val"],
            },
            "validation": f"{len(val_indices)} of the {n_train} in train/, seeded permutation",
            "split_seed": split_seed,
            "split_indices_digest": indices_digest(train_indices, val_indices),
            "augment": (
                f"random scale-crop {list(SCALES)} + horizontal flip" if augment else "none"
            ),
        },
    )

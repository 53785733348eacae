import itertools

import numpy as np
import pandas as pd
import pytest

from mtlx.analysis import dominated_by, pareto_mask, pareto_optimal_counts
from mtlx.analysis import pareto as pareto_module


def dominates_reference(a, b, higher_is_better) -> bool:
    """Plain-python definition: a is at least as good everywhere and strictly better somewhere."""
    no_worse = all(
        (x >= y) if higher else (x <= y)
        for x, y, higher in zip(a, b, higher_is_better, strict=True)
    )
    better = any(
        (x > y) if higher else (x < y) for x, y, higher in zip(a, b, higher_is_better, strict=True)
    )
    return no_worse and better


def front_reference(points, higher_is_better) -> list[bool]:
    return [not any(dominates_reference(q, p, higher_is_better) for q in points) for p in points]


def dominated_by_reference(points, others, higher_is_better) -> list[bool]:
    return [any(dominates_reference(q, p, higher_is_better) for q in others) for p in points]


def random_points(seed: int, n: int, m: int) -> np.ndarray:
    """Coarse values (many ties on single coordinates) plus some exact duplicate rows."""
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 6, size=(n, m)).astype(float) / 5
    duplicates = rng.integers(0, n, size=max(1, n // 10))
    points[rng.integers(0, n, size=duplicates.size)] = points[duplicates]
    return points


SHAPES = [(1, 1), (2, 2), (15, 1), (40, 2), (60, 3), (80, 4), (50, 6)]


@pytest.mark.parametrize(("n", "m"), SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pareto_mask_matches_brute_force(n, m, seed):
    points = random_points(seed, n, m)
    directions = [bool(d) for d in np.random.default_rng(seed + 100).integers(0, 2, size=m)]
    expected = front_reference(points.tolist(), directions)
    assert pareto_mask(points, directions).tolist() == expected


@pytest.mark.parametrize("seed", [0, 1])
def test_continuous_points_match_brute_force(seed):
    points = np.random.default_rng(seed).normal(size=(150, 3))
    directions = [True, False, True]
    assert pareto_mask(points, directions).tolist() == front_reference(points.tolist(), directions)


@pytest.mark.parametrize("seed", [0, 3])
def test_chunked_comparison_matches_brute_force(monkeypatch, seed):
    # A tiny block forces many chunks of a few rows each, so n is far above the chunk size.
    monkeypatch.setattr(pareto_module, "_BLOCK_ELEMENTS", 64)
    points = random_points(seed, 300, 3)
    others = random_points(seed + 1, 90, 3)
    directions = [False, True, False]
    assert pareto_mask(points, directions).tolist() == front_reference(points.tolist(), directions)
    assert dominated_by(points, others, directions).tolist() == dominated_by_reference(
        points.tolist(), others.tolist(), directions
    )


def test_large_front_beyond_default_chunk():
    # Every point of an anti-correlated line is optimal; n exceeds one default block of rows.
    n = 3000
    line = np.linspace(0.0, 1.0, n)
    points = np.c_[line, 1.0 - line]
    assert n > pareto_module._BLOCK_ELEMENTS // n
    assert pareto_mask(points, [False, False]).all()
    # Shifting a copy of the line makes every original point dominated by its shifted twin.
    assert dominated_by(points, points - 0.5 / n, [False, False]).all()


@pytest.mark.parametrize(("n", "m"), [(30, 2), (45, 3)])
def test_dominated_by_matches_brute_force(n, m):
    points = random_points(n, n, m)
    others = random_points(n + 1, n // 2, m)
    for directions in itertools.product([True, False], repeat=m):
        expected = dominated_by_reference(points.tolist(), others.tolist(), directions)
        assert dominated_by(points, others, directions).tolist() == expected


def test_exact_duplicates_stay_on_the_front():
    points = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [0.5, 0.5]])
    assert pareto_mask(points, [True, True]).tolist() == [True, True, True, False]


def test_tie_on_one_coordinate_still_dominates():
    points = np.array([[1.0, 2.0], [1.0, 3.0]])
    assert pareto_mask(points, [True, True]).tolist() == [False, True]
    assert pareto_mask(points, [True, False]).tolist() == [True, False]


def test_empty_and_no_rivals():
    assert pareto_mask(np.empty((0, 3)), [True, True, True]).shape == (0,)
    assert not dominated_by(np.ones((4, 2)), np.empty((0, 2)), [True, False]).any()


def test_nan_rows_are_refused_with_their_index():
    points = np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, 3.0]])
    with pytest.raises(ValueError, match=r"row\(s\) \[1\]"):
        pareto_mask(points, [True, True])


def test_direction_count_must_match_metrics():
    with pytest.raises(ValueError, match="one direction per metric"):
        pareto_mask(np.ones((3, 2)), [True])


def test_po_counts_on_hand_made_example():
    # Two metrics, both higher is better.
    frame = pd.DataFrame(
        {
            "optimizer": ["adam", "adam", "adam", "sgd", "sgd", "sgd"],
            "acc": [0.9, 0.7, 0.5, 0.8, 0.6, 0.4],
            "iou": [0.5, 0.7, 0.4, 0.6, 0.8, 0.3],
        }
    )
    counts = pareto_optimal_counts(frame, {"acc": True, "iou": True}, group_by="optimizer")
    assert list(counts.columns) == ["optimizer", "runs", "po_full", "po_vs_rest"]
    # Full front: adam (0.9,0.5), adam (0.7,0.7), sgd (0.8,0.6), sgd (0.6,0.8).
    # adam (0.5,0.4) is dominated by sgd (0.8,0.6); sgd (0.4,0.3) by adam (0.9,0.5).
    adam, sgd = counts.set_index("optimizer").loc["adam"], counts.set_index("optimizer").loc["sgd"]
    assert (adam.runs, adam.po_full, adam.po_vs_rest) == (3, 2, 2)
    assert (sgd.runs, sgd.po_full, sgd.po_vs_rest) == (3, 2, 2)


def test_po_vs_rest_ignores_dominance_within_the_group():
    frame = pd.DataFrame(
        {
            "optimizer": ["adam", "adam", "sgd"],
            "err": [1.0, 2.0, 3.0],
        }
    )
    counts = pareto_optimal_counts(frame, {"err": False}, group_by="optimizer").set_index(
        "optimizer"
    )
    # adam's 2.0 is dominated by adam's 1.0 (not on the full front) but by no sgd run.
    assert counts.loc["adam", "po_full"] == 1
    assert counts.loc["adam", "po_vs_rest"] == 2
    assert counts.loc["sgd", "po_full"] == 0
    assert counts.loc["sgd", "po_vs_rest"] == 0


def test_po_counts_name_missing_columns():
    frame = pd.DataFrame({"optimizer": ["adam"], "acc": [0.5]})
    with pytest.raises(ValueError, match="iou"):
        pareto_optimal_counts(frame, {"acc": True, "iou": True}, group_by="optimizer")

import math

import pandas as pd
import pytest

from mtlx.analysis import learning_rates_on_the_edge, select_best_lr


def runs(rows: list[tuple[str, str, float, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["method", "optimizer", "lr", "seed", "val_delta_m"])


def test_picks_best_seed_mean_and_keeps_all_its_seeds():
    frame = runs(
        [
            # lr 1e-3 has the single best seed (−10) but the worse mean (3.0 vs 1.0).
            ("ew", "adam", 1e-3, 0, -10.0),
            ("ew", "adam", 1e-3, 1, 9.0),
            ("ew", "adam", 1e-3, 2, 10.0),
            ("ew", "adam", 1e-4, 0, 0.0),
            ("ew", "adam", 1e-4, 1, 1.0),
            ("ew", "adam", 1e-4, 2, 2.0),
            ("ew", "sgd", 1e-2, 0, 5.0),
            ("ew", "sgd", 1e-2, 1, 7.0),
            ("ew", "sgd", 1e-1, 0, 4.0),
            ("ew", "sgd", 1e-1, 1, 6.0),
        ]
    )
    chosen = select_best_lr(frame, "val_delta_m")
    assert list(chosen.columns) == list(frame.columns)
    assert list(chosen.index) == [3, 4, 5, 8, 9]
    assert set(chosen.loc[chosen.optimizer == "adam", "lr"]) == {1e-4}
    assert sorted(chosen.loc[chosen.optimizer == "adam", "seed"]) == [0, 1, 2]
    assert set(chosen.loc[chosen.optimizer == "sgd", "lr"]) == {1e-1}


def test_higher_is_better_score():
    frame = runs(
        [
            ("ew", "adam", 1e-3, 0, 0.8),
            ("ew", "adam", 1e-3, 1, 0.9),
            ("ew", "adam", 1e-4, 0, 0.7),
            ("ew", "adam", 1e-4, 1, 0.7),
        ]
    )
    assert set(select_best_lr(frame, "val_delta_m", lower_is_better=False)["lr"]) == {1e-3}
    assert set(select_best_lr(frame, "val_delta_m", lower_is_better=True)["lr"]) == {1e-4}


def test_tie_goes_to_the_smaller_lr():
    frame = runs(
        [
            ("uw", "adam", 1e-2, 0, 1.0),
            ("uw", "adam", 1e-3, 0, 1.0),
            ("uw", "adam", 1e-1, 0, 1.0),
        ]
    )
    assert select_best_lr(frame, "val_delta_m")["lr"].tolist() == [1e-3]


def test_nan_scores_are_ignored_for_the_choice_but_kept_with_their_lr():
    frame = runs(
        [
            ("ew", "adam", 1e-3, 0, math.nan),  # a failed run would otherwise poison the mean
            ("ew", "adam", 1e-3, 1, 1.0),
            ("ew", "adam", 1e-4, 0, 2.0),
            ("ew", "adam", 1e-4, 1, 2.0),
            ("ew", "adam", 1e-5, 0, math.nan),
        ]
    )
    chosen = select_best_lr(frame, "val_delta_m")
    assert list(chosen.index) == [0, 1]


def test_group_with_only_nan_scores_is_named():
    frame = runs(
        [
            ("ew", "adam", 1e-3, 0, 1.0),
            ("pcgrad", "sgd", 1e-3, 0, math.nan),
            ("pcgrad", "sgd", 1e-2, 0, math.nan),
        ]
    )
    with pytest.raises(ValueError, match=r"'method': 'pcgrad', 'optimizer': 'sgd'"):
        select_best_lr(frame, "val_delta_m")


def test_custom_grouping_and_repeated_index():
    frame = runs(
        [
            ("ew", "adam", 1e-3, 0, 1.0),
            ("ew", "sgd", 1e-3, 0, 3.0),
            ("ew", "adam", 1e-2, 0, 2.0),
            ("ew", "sgd", 1e-2, 0, 4.0),
        ]
    )
    frame.index = [0, 0, 1, 1]
    # Grouping by method alone pools both optimizers per lr: 1e-3 → 2.0, 1e-2 → 3.0.
    chosen = select_best_lr(frame, "val_delta_m", group_by=("method",))
    assert chosen["lr"].tolist() == [1e-3, 1e-3]
    assert chosen["optimizer"].tolist() == ["adam", "sgd"]


def test_missing_columns_are_named():
    frame = runs([("ew", "adam", 1e-3, 0, 1.0)])
    with pytest.raises(ValueError, match="val_loss"):
        select_best_lr(frame, "val_loss")
    with pytest.raises(ValueError, match="lr"):
        select_best_lr(frame.drop(columns="lr"), "val_delta_m")


def test_a_choice_on_the_edge_of_the_grid_is_flagged():
    scores = {  # ew × adam: best at the largest lr; ew × sgd: inside; uw × adam: smallest
        ("ew", "adam"): {1e-3: 3.0, 1e-2: 2.0, 1e-1: 1.0},
        ("ew", "sgd"): {1e-3: 3.0, 1e-2: 1.0, 1e-1: 2.0},
        ("uw", "adam"): {1e-3: 1.0, 1e-2: 2.0, 1e-1: 3.0},
        ("uw", "sgd"): {1e-3: 2.0, 1e-2: 1.0},  # two values: no interior, nothing to say
    }
    frame = runs(
        [
            (method, optimizer, lr, seed, score + seed)
            for (method, optimizer), by_lr in scores.items()
            for lr, score in by_lr.items()
            for seed in (0, 1)
        ]
    )
    chosen = select_best_lr(frame, "val_delta_m")
    edges = learning_rates_on_the_edge(frame, chosen)
    assert edges == [
        ({"method": "ew", "optimizer": "adam"}, 1e-1, "largest"),
        ({"method": "uw", "optimizer": "adam"}, 1e-3, "smallest"),
    ]

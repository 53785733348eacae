import math

import pandas as pd
import pytest

from mtlx.analysis import seed_summary


def test_mean_sample_std_and_seed_count():
    frame = pd.DataFrame(
        {
            "method": ["ew", "ew", "ew", "uw", "uw"],
            "optimizer": ["adam"] * 5,
            "seed": [0, 1, 2, 0, 1],
            "miou": [0.50, 0.52, 0.54, 0.40, 0.44],
            "abs_err": [1.0, 2.0, 3.0, 5.0, 5.0],
        }
    )
    summary = seed_summary(frame, ["method", "optimizer"], ["miou", "abs_err"])
    assert list(summary.columns) == [
        "method",
        "optimizer",
        "miou",
        "miou.std",
        "abs_err",
        "abs_err.std",
        "seeds",
    ]
    ew = summary.set_index("method").loc["ew"]
    assert ew["miou"] == pytest.approx(0.52)
    assert ew["miou.std"] == pytest.approx(0.02)  # ddof=1: sqrt((0.02² + 0 + 0.02²) / 2)
    assert ew["abs_err.std"] == pytest.approx(1.0)
    assert ew["seeds"] == 3
    uw = summary.set_index("method").loc["uw"]
    assert uw["miou"] == pytest.approx(0.42)
    assert uw["abs_err.std"] == 0.0
    assert uw["seeds"] == 2


def test_single_seed_keeps_nan_std():
    frame = pd.DataFrame({"method": ["ew"], "acc": [0.9]})
    summary = seed_summary(frame, ["method"], ["acc"])
    assert summary.loc[0, "acc"] == 0.9
    assert math.isnan(summary.loc[0, "acc.std"])
    assert summary.loc[0, "seeds"] == 1


def test_missing_column_is_named():
    frame = pd.DataFrame({"method": ["ew"], "acc": [0.9]})
    with pytest.raises(ValueError, match="miou"):
        seed_summary(frame, ["method"], ["acc", "miou"])

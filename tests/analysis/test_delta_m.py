import math

import numpy as np
import pandas as pd
import pytest

from mtlx.analysis import MissingBaselineError, delta_m, delta_m_column

CITYSCAPES_DIRECTIONS = {"miou": True, "pix_acc": True, "abs_err": False, "rel_err": False}
CITYSCAPES_STL = {"miou": 0.7122, "pix_acc": 0.9221, "abs_err": 0.0134, "rel_err": 29.88}
CITYSCAPES_EW_ADAM = {"miou": 0.6898, "pix_acc": 0.9165, "abs_err": 0.0196, "rel_err": 109.84}


def test_cityscapes_segnet_ew_adam_matches_the_seed_paper():
    # DESIGN.md's check: the paper reports ΔM = 79.43 for this row.
    value = delta_m(CITYSCAPES_EW_ADAM, CITYSCAPES_STL, CITYSCAPES_DIRECTIONS)
    assert value == pytest.approx(79.43, abs=0.05)


def test_hand_computed_two_metrics():
    # acc 0.8 vs 1.0 (higher better): +0.2; err 3 vs 2 (lower better): +0.5 → 100/2 · 0.7 = 35.
    value = delta_m({"acc": 0.8, "err": 3.0}, {"acc": 1.0, "err": 2.0}, {"acc": True, "err": False})
    assert value == pytest.approx(35.0)


def test_better_than_baseline_is_negative():
    # acc 0.6 vs 0.5: −0.2; err 1 vs 4: −0.75; loss 2 vs 2: 0 → 100/3 · (−0.95).
    value = delta_m(
        {"acc": 0.6, "err": 1.0, "loss": 2.0},
        {"acc": 0.5, "err": 4.0, "loss": 2.0},
        {"acc": True, "err": False, "loss": False},
    )
    assert value == pytest.approx(-95.0 / 3.0)
    assert value < 0


def test_equal_to_baseline_is_zero_and_extra_keys_are_ignored():
    value = delta_m({"acc": 0.7, "ignored": 123.0}, {"acc": 0.7, "other": 5.0}, {"acc": True})
    assert value == 0.0


def test_only_metrics_in_directions_count():
    # K counts the metrics in higher_is_better, not those in values.
    value = delta_m({"err": 3.0, "acc": 0.0}, {"err": 2.0, "acc": 1.0}, {"err": False})
    assert value == pytest.approx(50.0)


def test_missing_baseline_names_the_metrics():
    baseline = {"miou": 0.7122, "pix_acc": 0.9221}
    with pytest.raises(MissingBaselineError, match=r"abs_err, rel_err"):
        delta_m(CITYSCAPES_EW_ADAM, baseline, CITYSCAPES_DIRECTIONS)


def test_missing_baseline_is_a_value_error():
    assert issubclass(MissingBaselineError, ValueError)


def test_missing_value_names_the_metric():
    values = {k: v for k, v in CITYSCAPES_EW_ADAM.items() if k != "pix_acc"}
    with pytest.raises(ValueError, match="pix_acc") as caught:
        delta_m(values, CITYSCAPES_STL, CITYSCAPES_DIRECTIONS)
    assert not isinstance(caught.value, MissingBaselineError)


def test_zero_baseline_names_the_metric():
    with pytest.raises(ValueError, match=r"err.*non-zero"):
        delta_m({"err": 1.0}, {"err": 0.0}, {"err": False})


def test_nan_value_is_refused_naming_the_metric():
    with pytest.raises(ValueError, match=r"rel_err.*NaN"):
        delta_m({**CITYSCAPES_EW_ADAM, "rel_err": math.nan}, CITYSCAPES_STL, CITYSCAPES_DIRECTIONS)


def test_no_metrics_is_refused():
    with pytest.raises(ValueError, match="at least one metric"):
        delta_m({"a": 1.0}, {"a": 1.0}, {})


def test_column_matches_scalar_row_by_row():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.uniform(0.01, 2.0, size=(7, 4)),
        columns=list(CITYSCAPES_DIRECTIONS),
        index=list("abcdefg"),
    )
    frame["method"] = "ew"  # a non-metric column is ignored
    column = delta_m_column(frame, CITYSCAPES_STL, CITYSCAPES_DIRECTIONS)
    assert list(column.index) == list(frame.index)
    for label, row in frame.iterrows():
        expected = delta_m(row.to_dict(), CITYSCAPES_STL, CITYSCAPES_DIRECTIONS)
        assert column[label] == pytest.approx(expected, rel=1e-12)


def test_column_nan_row_gives_nan_only_for_that_row():
    frame = pd.DataFrame([CITYSCAPES_EW_ADAM, {**CITYSCAPES_EW_ADAM, "miou": math.nan}])
    column = delta_m_column(frame, CITYSCAPES_STL, CITYSCAPES_DIRECTIONS)
    assert column.iloc[0] == pytest.approx(79.43, abs=0.05)
    assert math.isnan(column.iloc[1])


def test_column_errors_name_missing_baseline_and_column():
    frame = pd.DataFrame([CITYSCAPES_EW_ADAM])
    with pytest.raises(MissingBaselineError, match="rel_err"):
        delta_m_column(
            frame,
            {k: v for k, v in CITYSCAPES_STL.items() if k != "rel_err"},
            CITYSCAPES_DIRECTIONS,
        )
    with pytest.raises(ValueError, match="abs_err"):
        delta_m_column(frame.drop(columns="abs_err"), CITYSCAPES_STL, CITYSCAPES_DIRECTIONS)

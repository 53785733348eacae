import io
import math

import numpy as np
import pandas as pd

from mtlx.analysis import seed_summary
from mtlx.report import FORMATS, ReportTable, render_csv


def test_header_is_keys_with_std_columns(results_table):
    header = render_csv(results_table).splitlines()[0]
    assert header == "method,optimizer,miou,miou.std,abs_err,abs_err.std,delta_m,delta_m.std"


def test_round_trip_through_pandas_keeps_exact_floats(results_table):
    frame = pd.read_csv(io.StringIO(render_csv(results_table)), keep_default_na=True)
    assert len(frame) == len(results_table.rows)
    assert frame["method"].tolist() == ["mgda_ub", "uw-o", "ew {x}"]
    assert frame["miou"].iloc[0] == 0.6898
    assert frame["abs_err"].iloc[1] == 0.0151
    assert math.isnan(frame["abs_err.std"].iloc[1])  # a plain float has no std
    assert math.isnan(frame["miou.std"].iloc[1])  # a NaN std is written empty
    assert math.isnan(frame["miou"].iloc[2])  # a missing mean too
    assert pd.isna(frame["optimizer"].iloc[2])
    assert frame["delta_m"].iloc[2] == -3.25


def test_full_precision_floats_from_a_seed_summary():
    rng = np.random.default_rng(0)
    runs = pd.DataFrame(
        {
            "method": np.repeat(["ew", "pcgrad", "uw_o"], 3),
            "loss": rng.normal(size=9) / 3.0,
            "acc": rng.uniform(size=9) / 7.0,
        }
    )
    summary = seed_summary(runs, ["method"], ["loss", "acc"])
    table = ReportTable.from_frame(summary, "t", ["method"], {"loss": False, "acc": True})
    back = pd.read_csv(io.StringIO(FORMATS["csv"](table)))
    for column in ["loss", "loss.std", "acc", "acc.std"]:
        # Exact equality: the CSV must carry every bit of the floats.
        assert back[column].tolist() == summary[column].tolist()
    assert back["method"].tolist() == ["ew", "pcgrad", "uw_o"]


def test_formats_registry_names_the_text_renderers():
    assert set(FORMATS) == {"latex", "markdown", "csv"}
    assert FORMATS["csv"] is render_csv


def test_from_frame_pairs_std_only_when_present():
    frame = pd.DataFrame(
        {"method": ["ew", "rlw"], "acc": [0.5, 0.75], "acc.std": [0.1, np.nan], "err": [2.0, 1.0]}
    )
    table = ReportTable.from_frame(
        frame, "t", ["method"], {"acc": True, "err": False}, precision={"err": 1}
    )
    assert table.rows[0] == {"method": "ew", "acc": (0.5, 0.1), "err": 2.0}
    assert table.rows[1]["acc"] == (0.75, None)
    assert [c.precision for c in table.columns] == [4, 4, 1]
    assert [c.higher_is_better for c in table.columns] == [None, True, False]
    assert render_csv(table).splitlines() == [
        "method,acc,acc.std,err,err.std",
        "ew,0.5,0.1,2.0,",
        "rlw,0.75,,1.0,",
    ]

"""PO counts on a constructed example, checked by hand; NaN runs left out of the front."""

import numpy as np
import pandas as pd
import pytest

from mtlx.analysis.comparison import Baseline, Comparison
from mtlx.analysis.fronts import ParetoOptionError, pareto_analysis

# Two metrics, both higher-is-better. Points (a, b):
#   ew+adam (3, 1)  ew+sgd (1, 1)   uw+adam (1, 3)  uw+sgd (2, 2)  uw+sgd (2.5, 0.5)
#   ew+adam (nan, 5) — incomplete, left out
# Front: (3,1), (1,3), (2,2), (2.5, 0.5)? (3,1) dominates (2.5,0.5): not on the front.
POINTS = [
    ("ew", "adam", 3.0, 1.0),
    ("ew", "sgd", 1.0, 1.0),
    ("uw", "adam", 1.0, 3.0),
    ("uw", "sgd", 2.0, 2.0),
    ("uw", "sgd", 2.5, 0.5),
    ("ew", "adam", np.nan, 5.0),
]


def comparison() -> Comparison:
    rows = pd.DataFrame(
        [
            {"run_key": f"r{i}", "method": m, "optimizer": o, "lr": 1e-3, "seed": i,
             "selection_rule": "val_delta_m", "t.a": a, "t.b": b}
            for i, (m, o, a, b) in enumerate(POINTS)
        ]
    )  # fmt: skip
    return Comparison(
        dataset="toy",
        network="net",
        setup_key="k",
        setup="toy",
        tasks=("t",),
        directions={"t.a": True, "t.b": True},
        load_val=lambda: rows,
        load_test=lambda ids: rows if ids is None else rows[rows.index.isin(ids)],
        baseline=Baseline({"t.a": 1.0, "t.b": 1.0}, {}, {"t.a": 1.0, "t.b": 1.0}, {}, {}, "s"),
    )


def test_front_and_counts_by_optimizer_by_hand() -> None:
    result = pareto_analysis(comparison(), "metrics", "optimizer", all_lrs=True)
    assert result.left_out == 1
    front = result.points[result.points["pareto_optimal"]]
    assert sorted(zip(front["t.a"], front["t.b"], strict=True)) == [(1, 3), (2, 2), (3, 1)]
    counts = result.counts.set_index("group")
    assert counts.loc["adam", ["runs", "po_full"]].tolist() == [2, 2]
    assert counts.loc["sgd", ["runs", "po_full"]].tolist() == [3, 1]
    # PO w.r.t. the other optimizer: adam runs are dominated by no sgd run (2);
    # sgd: (1,1) dominated by (3,1); (2,2) by none; (2.5,0.5) by (3,1) → 1
    assert counts.loc["adam", "po_vs"] == 2 and counts.loc["sgd", "po_vs"] == 1


def test_counts_by_method_and_optimizer_and_vs() -> None:
    result = pareto_analysis(
        comparison(), "metrics", "method-optimizer", vs="ew+adam", all_lrs=True
    )
    counts = result.counts.set_index("group")
    assert counts["po_full"].to_dict() == {"ew+adam": 1, "ew+sgd": 0, "uw+adam": 1, "uw+sgd": 1}
    assert pd.isna(counts.loc["ew+adam", "po_vs"])
    # w.r.t. ew+adam (3,1) only: (1,1) dominated; (1,3) not; (2,2) not; (2.5,0.5) dominated
    assert counts.loc["ew+sgd", "po_vs"] == 0
    assert counts.loc["uw+adam", "po_vs"] == 1
    assert counts.loc["uw+sgd", "po_vs"] == 1
    with pytest.raises(ParetoOptionError, match="'lion' is not a group"):
        pareto_analysis(comparison(), "metrics", "optimizer", vs="lion", all_lrs=True)


def test_task_objectives_are_each_tasks_delta_m() -> None:
    result = pareto_analysis(comparison(), "tasks", "optimizer", all_lrs=True)
    # one task, ΔM_t = 100/2 · (−(a−1)/1 − (b−1)/1): (3,1) → −100, (1,3) → −100, (2,2) → −100
    values = result.points.set_index("run_key")["delta_m.t"]
    assert values["r0"] == pytest.approx(-100.0) and values["r1"] == pytest.approx(0.0)
    assert result.points["pareto_optimal"].sum() == 3  # three tied at −100

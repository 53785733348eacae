import math

import pytest

from mtlx.report import Column, ReportTable


@pytest.fixture
def results_table() -> ReportTable:
    """Three methods, awkward names, a single-seed row (NaN std) and a missing value."""
    return ReportTable(
        title="Cityscapes 100% test_split & more",
        columns=[
            Column("method", "Method"),
            Column("optimizer", "Optimizer"),
            Column("miou", "mIoU", higher_is_better=True, precision=4),
            Column("abs_err", "Abs Err", higher_is_better=False, precision=3),
            Column("delta_m", "ΔM (%)", higher_is_better=False, precision=2),
        ],
        rows=[
            {
                "method": "mgda_ub",
                "optimizer": "adam",
                "miou": (0.6898, 0.0021),
                "abs_err": (0.0196, 0.0004),
                "delta_m": (79.43, 1.25),
            },
            {
                "method": "uw-o",
                "optimizer": "sgd",
                "miou": (0.7011, math.nan),
                "abs_err": 0.0151,
                "delta_m": (12.5, math.nan),
            },
            {
                "method": "ew {x}",
                "optimizer": None,
                "miou": None,
                "abs_err": (0.0188, 0.001),
                "delta_m": (-3.25, 0.5),
            },
        ],
        notes=["mean ± std over 3 seeds; 50% of #runs"],
    )

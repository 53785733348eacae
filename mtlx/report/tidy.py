"""Tidy exports: one row per observation, the same columns whatever the database holds.

The results export has one row per (dataset, network, setup, source, method, optimizer) — the
single-task row first in each setup — with every metric by its stable name as stored (fractions,
full precision) and ``<metric>.std`` beside it; setups with other metrics leave those cells empty.
The Pareto export has one row per point with its group and flags. ``pandas.read_csv`` reads
either back unchanged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pandas as pd

from mtlx.analysis.comparison import DELTA_M, TRAINED, Comparison
from mtlx.analysis.fronts import GROUP, ParetoResult

SETUP_COLUMNS = ["dataset", "network", "setup", "setup_key"]
RESULT_COLUMNS = [*SETUP_COLUMNS, "source", "imported", "method", "optimizer", "lr", "seeds"]
SINGLE_TASK = "single-task"


def results_frame(items: Sequence[tuple[Comparison, pd.DataFrame]]) -> pd.DataFrame:
    """The tidy results of several setups: ``items`` pairs each comparison with its
    :func:`mtlx.analysis.summaries.method_summary`."""
    records: list[dict[str, object]] = []
    metric_order: list[str] = []
    for comparison, summary in items:
        metric_order += [m for m in comparison.metrics if m not in metric_order]
        setup = _setup(comparison)
        if comparison.has_baseline:
            assert comparison.baseline is not None
            lrs = set(comparison.baseline.task_lrs.values())
            record: dict[str, object] = {
                **setup,
                "source": comparison.baseline.source,
                "imported": False,
                "method": SINGLE_TASK,
                "optimizer": "adam",
                "lr": next(iter(lrs)) if len(lrs) == 1 else None,
                "seeds": min(
                    (n for n in comparison.baseline.task_seeds.values() if n), default=None
                ),
                "task_lrs": ";".join(
                    f"{task}={lr!r}" for task, lr in comparison.baseline.task_lrs.items()
                ),
                DELTA_M: 0.0,
            }
            for metric in comparison.metrics:
                record[metric] = comparison.baseline.test[metric]
                record[f"{metric}.std"] = comparison.baseline.test_std.get(metric)
            records.append(record)
        for row in summary.to_dict("records"):
            record = {
                **setup,
                "source": row["source"],
                "imported": row["source"] != TRAINED,
                "method": row["method"],
                "optimizer": row["optimizer"],
                "lr": row["lr"],
                "seeds": int(row["seeds"]),
                "task_lrs": None,
            }
            for metric in [*comparison.metrics, DELTA_M]:
                record[metric] = row[metric]
                record[f"{metric}.std"] = row[f"{metric}.std"]
            records.append(record)
    values = [n for m in [*metric_order, DELTA_M] for n in (m, f"{m}.std")]
    return pd.DataFrame.from_records(records, columns=[*RESULT_COLUMNS, *values, "task_lrs"])


def pareto_frame(results: Sequence[ParetoResult]) -> pd.DataFrame:
    """One row per point of every setup's population: its setup, group, identity, objectives,
    ΔM, ``pareto_optimal`` (PO full) and ``po_vs`` (PO w.r.t. the other groups or ``vs``)."""
    frames = []
    objective_order: list[str] = []
    for result in results:
        objective_order += [o for o in result.objectives if o not in objective_order]
        points = result.points.assign(
            **_setup(result.comparison),
            imported=result.points["source"] != TRAINED,
            by=result.by,
            vs=result.vs,
        )
        frames.append(points)
    columns = [
        *SETUP_COLUMNS,
        "source",
        "imported",
        "by",
        GROUP,
        "vs",
        "run_key",
        "method",
        "optimizer",
        "lr",
        "seed",
        "seeds",
        *objective_order,
        *([DELTA_M] if DELTA_M not in objective_order else []),
        "pareto_optimal",
        "po_vs",
    ]
    return pd.concat(frames, ignore_index=True).reindex(columns=columns)


def _setup(comparison: Comparison) -> dict[str, object]:
    return {
        "dataset": comparison.dataset,
        "network": comparison.network,
        "setup": comparison.setup,
        "setup_key": comparison.setup_key,
    }


def to_csv(frame: pd.DataFrame) -> str:
    """CSV with shortest round-trip floats (``repr``), missing values empty."""
    return frame.to_csv(index=False, lineterminator="\n")


def to_json(frame: pd.DataFrame) -> str:
    """A JSON list of records; floats as ``repr`` writes them, missing values null."""
    records = [
        {name: _json_value(value) for name, value in record.items()}
        for record in frame.to_dict("records")
    ]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def _json_value(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _json_value(value.item())  # numpy scalar → python
    return value

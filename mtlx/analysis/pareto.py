"""Pareto dominance between runs scored on several metrics, and the seed paper's PO counts.

A point dominates another when it is at least as good on every metric and strictly better on at
least one. Exact duplicates therefore never dominate each other: both stay on the front.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

# Upper bound on the elements of one (chunk × rivals) comparison block: comparing a chunk of rows
# against all rivals at a time keeps memory at a few MB for 20,000 runs instead of an n×n×m array.
_BLOCK_ELEMENTS = 1 << 22


def _as_minimisation(points: np.ndarray, higher_is_better: Sequence[bool], name: str) -> np.ndarray:
    """``points`` as a float (n, m) array where lower is better on every column."""
    array = np.asarray(points, dtype=float)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (runs × metrics) array, but got shape {array.shape}."
        )
    directions = np.asarray(higher_is_better, dtype=bool)
    if directions.shape != (array.shape[1],):
        raise ValueError(
            f"higher_is_better must give one direction per metric ({array.shape[1]}), "
            f"but got {len(directions)}."
        )
    nan_rows = np.flatnonzero(np.isnan(array).any(axis=1))
    if nan_rows.size:
        raise ValueError(
            f"{name} has NaN in row(s) {nan_rows[:10].tolist()}; dominance needs every metric."
        )
    return np.where(directions, -array, array)


def _dominated(candidates: np.ndarray, rivals: np.ndarray) -> np.ndarray:
    """Rows of ``candidates`` dominated by a row of ``rivals``; both already lower-is-better."""
    dominated = np.zeros(candidates.shape[0], dtype=bool)
    if candidates.shape[0] == 0 or rivals.shape[0] == 0:
        return dominated
    chunk = max(1, _BLOCK_ELEMENTS // rivals.shape[0])
    for start in range(0, candidates.shape[0], chunk):
        block = candidates[start : start + chunk]
        # One metric at a time: (chunk × rivals) booleans instead of (chunk × rivals × m).
        no_worse = np.ones((block.shape[0], rivals.shape[0]), dtype=bool)
        better = np.zeros_like(no_worse)
        for k in range(candidates.shape[1]):
            rival_k = rivals[None, :, k]
            point_k = block[:, k, None]
            no_worse &= rival_k <= point_k
            better |= rival_k < point_k
        dominated[start : start + chunk] = (no_worse & better).any(axis=1)
    return dominated


def _front(array: np.ndarray) -> np.ndarray:
    """Non-dominated rows of a lower-is-better array, by successive elimination.

    Surviving points, a batch at a time, remove every point they dominate. A final survivor was
    compared with every other survivor, and a removed dominator is itself dominated by a
    survivor, so the survivors are exactly the front. Visiting points by increasing coordinate
    sum lets strong dominators go first: the cost is about n · (front size) · m, and n² · m when
    every point is on the front.
    """
    with np.errstate(invalid="ignore"):  # inf − inf in the sum only affects the visiting order
        order = np.argsort(array.sum(axis=1), kind="stable")
    survivors = order
    position = 0
    batch = 16
    while position < survivors.size:
        end = position + batch
        # A point never dominates itself or its exact duplicates, so the batch may check itself.
        dominated = _dominated(array[survivors], array[survivors[position:end]])
        position = int((~dominated[:end]).sum())
        survivors = survivors[~dominated]
        # Few eliminations mean a large front: grow the batch to keep numpy busy per iteration.
        batch = min(2 * batch, max(16, _BLOCK_ELEMENTS // max(1, survivors.size)))
    mask = np.zeros(array.shape[0], dtype=bool)
    mask[survivors] = True
    return mask


def dominated_by(
    points: np.ndarray, others: np.ndarray, higher_is_better: Sequence[bool]
) -> np.ndarray:
    """Boolean mask over the rows of ``points``: True where some row of ``others`` dominates it."""
    candidates = _as_minimisation(points, higher_is_better, "points")
    rivals = _as_minimisation(others, higher_is_better, "others")
    # Whatever a row of `others` dominates, a row of its front dominates too (transitivity), and
    # the front is usually far smaller.
    return _dominated(candidates, rivals[_front(rivals)])


def pareto_mask(points: np.ndarray, higher_is_better: Sequence[bool]) -> np.ndarray:
    """Boolean mask over the rows of ``points``: True where no other row dominates it."""
    return _front(_as_minimisation(points, higher_is_better, "points"))


def pareto_optimal_counts(
    frame: pd.DataFrame, metrics: Mapping[str, bool], group_by: str
) -> pd.DataFrame:
    """Per group: ``runs``, ``po_full`` and ``po_vs_rest`` (the seed paper's Table 2).

    ``po_full`` counts the group's rows on the Pareto front of all rows ("PO (full)");
    ``po_vs_rest`` counts its rows dominated by no row of the other groups ("PO w.r.t. SGD" when
    grouping by optimizer). ``metrics`` maps each column to whether higher is better.
    """
    missing = [name for name in [group_by, *metrics] if name not in frame.columns]
    if missing:
        raise ValueError(
            f"pareto_optimal_counts needs column(s) {', '.join(missing)}; "
            f"frame has {list(frame.columns)}."
        )
    if not metrics:
        raise ValueError("pareto_optimal_counts needs at least one metric, but got none.")
    directions = list(metrics.values())
    points = frame[list(metrics)].to_numpy(dtype=float)
    on_front = pareto_mask(points, directions)
    # factorize keeps a missing group label as its own group instead of dropping its rows.
    codes, labels = pd.factorize(frame[group_by], sort=True, use_na_sentinel=False)
    records = []
    for code, group in enumerate(labels):
        in_group = codes == code
        not_dominated = ~dominated_by(points[in_group], points[~in_group], directions)
        records.append(
            {
                group_by: group,
                "runs": int(in_group.sum()),
                "po_full": int(on_front[in_group].sum()),
                "po_vs_rest": int(not_dominated.sum()),
            }
        )
    return pd.DataFrame.from_records(records, columns=[group_by, "runs", "po_full", "po_vs_rest"])

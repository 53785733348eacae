"""ΔM: the relative loss of a multi-task model against its single-task baselines.

    ΔM = 100/K · Σ_k  s_k · (M_k − B_k) / B_k,   s_k = −1 if higher is better else +1

the flat mean over all K metrics used by Maninis et al. (2019), Elich et al. and the seed paper's
tables. Positive = worse than single-task. LibMTL's Δp (per-task average first, positive = better,
a fraction) is a different number and is not computed here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd


class MissingBaselineError(ValueError):
    """A metric counted by ΔM has no single-task baseline value."""


def _check_baseline(
    baseline: Mapping[str, float], higher_is_better: Mapping[str, bool]
) -> dict[str, float]:
    """The baseline value of every counted metric, refusing absent, non-finite or zero ones."""
    if not higher_is_better:
        raise ValueError("delta_m needs at least one metric in higher_is_better, but got none.")
    missing = [name for name in higher_is_better if name not in baseline]
    if missing:
        raise MissingBaselineError(
            f"no single-task baseline for metric(s) {', '.join(missing)}; "
            f"baseline has {sorted(baseline) or 'nothing'}."
        )
    checked: dict[str, float] = {}
    for name in higher_is_better:
        value = float(baseline[name])
        # ΔM divides by the baseline: zero or non-finite would give inf/NaN with no warning.
        if value == 0.0 or not math.isfinite(value):
            raise ValueError(
                f"baseline of metric {name} must be finite and non-zero (ΔM divides by it), "
                f"but got {value}."
            )
        checked[name] = value
    return checked


def delta_m(
    values: Mapping[str, float],
    baseline: Mapping[str, float],
    higher_is_better: Mapping[str, bool],
) -> float:
    """ΔM (%) of one model: ``100/K · Σ_k s_k (M_k − B_k) / B_k``, s_k = −1 if higher is better.

    Elich et al. / Maninis et al. ΔM; positive = worse than single-task; LibMTL's Δp is a
    different number. K is the number of metrics in ``higher_is_better``; extra keys in
    ``values`` or ``baseline`` are ignored.
    """
    reference = _check_baseline(baseline, higher_is_better)
    missing = [name for name in higher_is_better if name not in values]
    if missing:
        raise ValueError(
            f"no value for metric(s) {', '.join(missing)}; "
            f"values has {sorted(values) or 'nothing'}."
        )
    total = 0.0
    for name, higher in higher_is_better.items():
        value = float(values[name])
        if math.isnan(value):
            raise ValueError(f"value of metric {name} is NaN; ΔM needs every metric.")
        sign = -1.0 if higher else 1.0
        total += sign * (value - reference[name]) / reference[name]
    return 100.0 * total / len(higher_is_better)


def delta_m_column(
    frame: pd.DataFrame,
    baseline: Mapping[str, float],
    higher_is_better: Mapping[str, bool],
) -> pd.Series:
    """ΔM (%) of every row of ``frame``, whose columns are metric names (see :func:`delta_m`).

    Unlike :func:`delta_m`, a NaN metric in a row gives NaN for that row instead of an error, so
    that one unfinished run does not block a whole results table; the Pareto and selection code
    refuse or skip NaN explicitly.
    """
    reference = _check_baseline(baseline, higher_is_better)
    missing = [name for name in higher_is_better if name not in frame.columns]
    if missing:
        raise ValueError(
            f"no column for metric(s) {', '.join(missing)}; frame has {list(frame.columns)}."
        )
    names = list(higher_is_better)
    metric_values = frame[names].to_numpy(dtype=float)
    base = np.array([reference[name] for name in names])
    signs = np.array([-1.0 if higher_is_better[name] else 1.0 for name in names])
    relative = signs * (metric_values - base) / base
    return pd.Series(100.0 * relative.mean(axis=1), index=frame.index, name="delta_m")

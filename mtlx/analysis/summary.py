"""Mean ± std over seeds, the form every table of the seed paper reports."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def seed_summary(
    frame: pd.DataFrame, group_by: Sequence[str], metrics: Sequence[str]
) -> pd.DataFrame:
    """One row per group: ``<metric>`` (mean), ``<metric>.std`` (sample std, ddof=1), ``seeds``.

    ``seeds`` is the group's row count. With a single seed the std is NaN, not 0: there is no
    spread to report, and renderers then print the mean without ±. NaN metric values are skipped
    by the mean and std.
    """
    keys = list(group_by)
    names = list(metrics)
    missing = [name for name in [*keys, *names] if name not in frame.columns]
    if missing:
        raise ValueError(
            f"seed_summary needs column(s) {', '.join(missing)}; frame has {list(frame.columns)}."
        )
    if not keys:
        raise ValueError("seed_summary needs at least one group_by column, but got none.")
    grouped = frame.groupby(keys, sort=True, dropna=False)
    means = grouped[names].mean()
    stds = grouped[names].std(ddof=1)
    summary = pd.DataFrame(index=means.index)
    for name in names:
        summary[name] = means[name]
        summary[f"{name}.std"] = stds[name]
    summary["seeds"] = grouped.size()
    return summary.reset_index()

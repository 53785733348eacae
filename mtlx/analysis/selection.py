"""The protocol's learning-rate selection: best seed-mean validation score per (method, optimizer).

The seed paper (appendix A3) sweeps 10 learning rates per method and optimizer, picks the best on
a validation split, and reports the mean ± std over the 3 seeds of that learning rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def select_best_lr(
    frame: pd.DataFrame,
    score_column: str,
    lower_is_better: bool = True,
    group_by: Sequence[str] = ("method", "optimizer"),
) -> pd.DataFrame:
    """The rows (all seeds) of each group's learning rate with the best seed-mean score.

    ``frame`` has one row per run with the ``group_by`` columns, ``lr`` and ``score_column``
    (typically validation ΔM or validation loss). Runs with a NaN score do not take part in the
    choice but are kept when they belong to the chosen learning rate. Ties go to the smaller
    learning rate. The result keeps the columns, index and order of ``frame``.
    """
    keys = list(group_by)
    missing = [name for name in [*keys, "lr", score_column] if name not in frame.columns]
    if missing:
        raise ValueError(
            f"select_best_lr needs column(s) {', '.join(missing)}; frame has {list(frame.columns)}."
        )
    if not keys:
        raise ValueError("select_best_lr needs at least one group_by column, but got none.")
    groups = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    lrs = frame["lr"].to_numpy(dtype=float)
    scores = frame[score_column].to_numpy(dtype=float)
    scored = ~np.isnan(scores)
    seed_means = (
        pd.DataFrame({"group": groups[scored], "lr": lrs[scored], "score": scores[scored]})
        .groupby(["group", "lr"], as_index=False)["score"]
        .mean()
    )
    seed_means["rank"] = seed_means["score"] if lower_is_better else -seed_means["score"]
    # the best seed mean of each group; of equal ones, the smallest learning rate
    best = seed_means.sort_values(["group", "rank", "lr"], kind="stable").drop_duplicates("group")
    best_lr = np.full(groups.max() + 1 if len(groups) else 0, np.nan)
    best_lr[best["group"].to_numpy()] = best["lr"].to_numpy()
    unscored = np.isnan(best_lr)
    if unscored.any():
        labels = frame[keys].iloc[int(np.flatnonzero(unscored[groups])[0])].tolist()
        raise ValueError(
            f"group {dict(zip(keys, labels, strict=True))} has no run with a {score_column} "
            "score; cannot choose its learning rate."
        )
    keep = lrs == best_lr[groups]
    return frame[keep]


def learning_rates_on_the_edge(
    tried: pd.DataFrame,
    chosen: pd.DataFrame,
    group_by: Sequence[str] = ("method", "optimizer"),
) -> list[tuple[dict[str, object], float, str]]:
    """Groups whose chosen learning rate is the smallest or largest of the (≥ 3) they tried.

    A best value on the edge of the grid means the optimum may lie outside it: the comparison is
    only fair once the grid brackets it. Returns (group, lr, "smallest" | "largest") per group.
    """
    keys = list(group_by)
    edges = []
    tried_lrs = tried.groupby(keys, sort=True, dropna=False)["lr"].unique()
    chosen_lr = chosen.groupby(keys, sort=True, dropna=False)["lr"].first()
    for group, lr in chosen_lr.items():
        lrs = sorted(tried_lrs.get(group, []))
        if len(lrs) < 3:
            continue
        labels = dict(zip(keys, group if isinstance(group, tuple) else (group,), strict=True))
        if lr == lrs[0]:
            edges.append((labels, float(lr), "smallest"))
        elif lr == lrs[-1]:
            edges.append((labels, float(lr), "largest"))
    return edges

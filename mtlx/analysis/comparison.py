"""What a results table compares: the finished runs of one setup, its baseline, imported results.

A *setup* is what runs must share to be compared: dataset, network, tasks and training schedule
(runs of one ``baseline_key`` and one task list). A :class:`Comparison` holds one setup's runs —
validation and test metrics at each run's selected epoch — its single-task baseline, and, when
asked for, the imported results of the same dataset, network and tasks. Setups are described by
what distinguishes them (``training.epochs=3``), never by their hash.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from mtlx.analysis.delta_m import delta_m_column
from mtlx.errors import UserError
from mtlx.store import queries

DELTA_M = "delta_m"
VAL_LOSS = "val_loss"
TRAINED = "trained"  # the source of every run trained by mtlx


class NoResultsError(UserError, LookupError):
    """No finished run matches what was asked for."""


@dataclass(frozen=True)
class Selection:
    """Which results an analysis reads; None means no restriction."""

    dataset: str | None = None
    network: str | None = None
    methods: tuple[str, ...] | None = None
    optimizers: tuple[str, ...] | None = None
    include_imported: bool = False

    def describe(self) -> str:
        parts = [
            f"{name} {', '.join(values) if isinstance(values, tuple) else values!r}"
            for name, values in (
                ("dataset", self.dataset),
                ("network", self.network),
                ("methods", self.methods),
                ("optimizers", self.optimizers),
            )
            if values is not None
        ]
        return "; ".join(parts) or "any dataset"


@dataclass(frozen=True)
class Baseline:
    """A single-task baseline: per metric its value (and std) on test and validation; per task
    its learning rate and seed count; where it came from (``stl-baseline`` or an import)."""

    test: dict[str, float]
    test_std: dict[str, float | None]
    val: dict[str, float]
    task_lrs: dict[str, float | None]
    task_seeds: dict[str, int | None]
    source: str

    def covers(self, metrics: Sequence[str]) -> bool:
        return all(name in self.test for name in metrics)


@dataclass
class Comparison:
    """One setup's finished runs, baseline and (optionally) imported results.

    ``val`` and ``test`` have one row per trained run, indexed by run id: ``run_key, method,
    optimizer, lr, seed, selection_rule``, one column per metric (stable names) and
    ``<task>.loss`` — or, where the baseline gives validation ΔM, ``val`` has the identity and
    ``delta_m``. Both are read from the database when first used: a front of every learning
    rate needs no validation, a report no test row of an unselected run. ``imported`` has one
    row per imported result: ``source, method, optimizer, lr, seed``, the metrics.
    """

    dataset: str
    network: str
    setup_key: str | None  # the trained runs' baseline_key; None when only imports are compared
    setup: str
    tasks: tuple[str, ...]
    directions: dict[str, bool]  # every metric, in table order → higher is better
    # the validation rows of the trained runs; None when the setup has none (imports only)
    load_val: Callable[[], pd.DataFrame] | None = None
    # (run ids or None for all) → their test rows; tests are read only for the runs reported
    load_test: Callable[[Sequence[int] | None], pd.DataFrame] | None = None
    baseline: Baseline | None = None
    imported: pd.DataFrame = field(default_factory=pd.DataFrame)
    imported_baselines: dict[str, Baseline] = field(default_factory=dict)
    # the baseline's tasks whose chosen lr is the smallest or largest of the (≥ 3) they tried
    baseline_edges: list[tuple[str, float, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.dataset} / {self.network}"

    @property
    def metrics(self) -> list[str]:
        return list(self.directions)

    @property
    def has_baseline(self) -> bool:
        return self.baseline is not None and self.baseline.covers(self.metrics)

    @property
    def has_trained_runs(self) -> bool:
        return self.load_val is not None

    @functools.cached_property
    def val(self) -> pd.DataFrame:
        """Validation rows of every trained run."""
        if self.load_val is None:
            return pd.DataFrame(columns=[*queries.RUN_IDENTITY, *self.directions])
        return self.load_val()

    @functools.cached_property
    def test(self) -> pd.DataFrame:
        """Test rows of every trained run (the identity and metric columns)."""
        return self.test_of(None)

    def test_of(self, run_ids: Sequence[int] | None) -> pd.DataFrame:
        """Test rows of the runs ``run_ids`` (the index of ``val``; all when None), in run
        order."""
        if self.load_test is None or not self.has_trained_runs:
            return pd.DataFrame(columns=[*queries.RUN_IDENTITY, *self.directions])
        if "test" in self.__dict__:  # every test row is already read
            rows = self.__dict__["test"]
            return rows if run_ids is None else rows[rows.index.isin(run_ids)]
        return self.load_test(run_ids)

    def missing_baseline_message(self) -> str:
        have = self.baseline.test if self.baseline else {}
        missing = [name for name in self.metrics if name not in have]
        return (
            f"no single-task baseline for {self.label} ({self.setup}; missing: "
            f"{', '.join(missing)}): ΔM needs one — run `mtlx stl-baseline {self.dataset}`"
        )

    def with_delta_m(self, frame: pd.DataFrame, split: str = "test") -> pd.DataFrame:
        """``frame`` (trained runs) plus ``delta_m`` against this setup's baseline (NaN without
        one; kept when ``frame`` has it already) and ``val_loss``, the sum of the task losses."""
        scored = frame.copy()
        if DELTA_M in scored:
            pass
        elif self.has_baseline:
            assert self.baseline is not None
            reference = self.baseline.val if split == "val" else self.baseline.test
            scored[DELTA_M] = delta_m_column(scored, reference, self.directions)
        else:
            scored[DELTA_M] = np.nan
        losses = [f"{task}.loss" for task in self.tasks if f"{task}.loss" in scored]
        scored[VAL_LOSS] = scored[losses].sum(axis=1, min_count=1) if losses else np.nan
        return scored


def load_comparisons(engine: Engine, selection: Selection) -> list[Comparison]:
    """Every setup with finished multi-task runs matching ``selection``, plus (with
    ``include_imported``) the imported results of each, and setups known only from imports."""
    setups = queries.finished_setups(
        engine, "mtl", selection.dataset, selection.network, selection.methods, selection.optimizers
    )
    documents = queries.run_documents(engine, setups["first_run_id"].tolist())
    descriptions = describe_setups(
        {
            (row.dataset, row.network, row.baseline_key, row.tasks): documents[row.first_run_id][0]
            for row in setups.itertuples()
        }
    )
    comparisons = []
    for row in setups.itertuples():
        tasks = tuple(str(row.tasks).split(","))
        described = documents[row.first_run_id][1]
        directions = {
            metric: bool(higher)
            for task in tasks
            for metric, higher in described.get(task, {}).get("metrics", {}).items()
        }
        comparison = _trained(
            engine,
            queries.SetupKey(
                str(row.dataset), str(row.network), str(row.baseline_key), str(row.tasks)
            ),
            directions,
            selection,
        )
        comparison.setup = descriptions[(row.dataset, row.network, row.baseline_key, row.tasks)]
        comparisons.append(comparison)
    if selection.include_imported:
        comparisons = _with_imports(engine, selection, comparisons)
    if not comparisons:
        what = "multi-task runs" + (" or imported results" if selection.include_imported else "")
        raise NoResultsError(f"no finished {what} for {selection.describe()} in this database")
    return comparisons


def _trained(
    engine: Engine, setup: queries.SetupKey, directions: dict[str, bool], selection: Selection
) -> Comparison:
    """The comparison of one setup that has finished runs under ``selection``."""
    tasks = tuple(setup.tasks.split(","))
    baseline = _stored_baseline(engine, setup.baseline_key)
    metrics = list(directions)
    if baseline is None or not baseline.covers(metrics):
        metrics += [f"{task}.loss" for task in tasks]  # the selection falls back to the losses

    def read(split: str, run_ids: Sequence[int] | None) -> pd.DataFrame:
        return queries.selected_metrics_wide(
            engine,
            setup,
            split,
            metrics,
            selection.methods,
            selection.optimizers,
            run_ids,
        )

    def read_val() -> pd.DataFrame:
        if baseline is not None and baseline.covers(list(directions)):
            return _validation_delta_m(engine, setup, baseline, directions, selection)
        return read("val", None)

    edges = []
    if baseline is not None:
        tried = queries.single_task_learning_rates(engine, setup.baseline_key)
        for task, lr in baseline.task_lrs.items():
            lrs = tried.get(task, [])
            if lr is not None and len(lrs) >= 3 and lr in (lrs[0], lrs[-1]):
                edges.append((task, lr, "smallest" if lr == lrs[0] else "largest"))
    return Comparison(
        dataset=setup.dataset,
        network=setup.network,
        setup_key=setup.baseline_key,
        setup="",
        tasks=tasks,
        directions=directions,
        load_val=read_val,
        load_test=functools.partial(read, "test"),
        baseline=baseline,
        baseline_edges=edges,
    )


def _validation_delta_m(
    engine: Engine,
    setup: queries.SetupKey,
    baseline: Baseline,
    directions: dict[str, bool],
    selection: Selection,
) -> pd.DataFrame:
    """Each run's validation ΔM, summed by the database: ΔM is linear in the metrics,
    ``100/K Σ_k s_k (M_k − B_k)/B_k = Σ_k w_k M_k − 100/K Σ_k s_k`` with
    ``w_k = 100 s_k / (K B_k)``, so 100,000 runs come back as 100,000 scores rather than a
    million metric rows. Columns: the run identity and ``delta_m``."""
    count = len(directions)
    signs = {name: -1.0 if higher else 1.0 for name, higher in directions.items()}
    for name in directions:
        if baseline.val.get(name, 0.0) == 0.0:  # ΔM divides by it: refuse as delta_m() does
            raise ValueError(
                f"baseline of metric {name} must be finite and non-zero (ΔM divides by it)"
            )
    weights = {name: 100.0 * signs[name] / (count * baseline.val[name]) for name in directions}
    offset = -100.0 * sum(signs.values()) / count
    scores = queries.selected_linear_scores(
        engine,
        setup,
        "val",
        weights,
        offset,
        selection.methods,
        selection.optimizers,
    )
    return scores.rename(columns={"score": DELTA_M})


def _stored_baseline(engine: Engine, baseline_key: str) -> Baseline | None:
    rows = queries.baseline_rows(engine, baseline_key)
    if rows.empty:
        return None
    test = rows[rows["split"] == "test"]
    val = rows[rows["split"] == "val"]
    by_task = test.drop_duplicates("task").set_index("task")
    return Baseline(
        test=dict(zip(test["metric"], test["value"].astype(float), strict=True)),
        test_std={
            metric: None if pd.isna(std) else float(std)
            for metric, std in zip(test["metric"], test["std"], strict=True)
        },
        val=dict(zip(val["metric"], val["value"].astype(float), strict=True)),
        task_lrs={t: _optional_float(lr) for t, lr in by_task["lr"].items()},
        task_seeds={t: int(seeds) for t, seeds in by_task["seeds"].items()},
        source=", ".join(sorted(set(rows["source"]))),
    )


def _optional_float(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def _with_imports(
    engine: Engine, selection: Selection, comparisons: list[Comparison]
) -> list[Comparison]:
    """Attach imported results to the comparisons of their dataset, network and tasks; those
    that match none become comparisons of their own."""
    imported = queries.imported_results(engine, selection.dataset, selection.network)
    if imported.empty:
        return comparisons
    if selection.methods is not None:
        imported = imported[
            (imported["kind"] == "stl") | imported["method"].isin(selection.methods)
        ]
    if selection.optimizers is not None:
        imported = imported[
            (imported["kind"] == "stl") | imported["optimizer"].isin(selection.optimizers)
        ]
    results = imported[imported["kind"] == "mtl"]
    baselines = imported[imported["kind"] == "stl"]
    known = {(c.dataset, c.network, c.tasks) for c in comparisons}
    for (dataset, network, tasks), rows in results.groupby(
        ["dataset", "network", "tasks"], sort=True
    ):
        key = (str(dataset), str(network), tuple(str(tasks).split(",")))
        if key in known:
            continue
        directions = _imported_directions(rows)
        comparisons.append(
            Comparison(
                dataset=key[0],
                network=key[1],
                setup_key=None,
                setup="imported results only",
                tasks=key[2],
                directions=directions,
            )
        )
        known.add(key)
    for comparison in comparisons:
        same = (
            (results["dataset"] == comparison.dataset)
            & (results["network"] == comparison.network)
            & (results["tasks"] == ",".join(comparison.tasks))
        )
        comparison.imported = _metric_columns(results[same], comparison.metrics)
        of_setup = baselines[
            (baselines["dataset"] == comparison.dataset)
            & (baselines["network"] == comparison.network)
        ]
        comparison.imported_baselines = {
            str(source): _imported_baseline(rows, str(source))
            for source, rows in of_setup.groupby("source", sort=True)
        }
    return sorted(comparisons, key=lambda c: (c.dataset, c.network, c.setup_key is None))


def _imported_directions(rows: pd.DataFrame) -> dict[str, bool]:
    from mtlx.tasks.kinds import metric_kind

    names: list[str] = []
    for metrics in rows["metrics"]:
        names += [name for name in _as_dict(metrics) if name not in names]
    return {name: metric_kind(name).higher_is_better for name in names}


def _as_dict(value: object) -> dict[str, float]:
    return json.loads(value) if isinstance(value, str) else dict(value)  # type: ignore[arg-type]


def _metric_columns(rows: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Imported rows with one column per metric (NaN where the source reported none)."""
    records = []
    for row in rows.to_dict("records"):
        values = _as_dict(row["metrics"])
        records.append(
            {
                "source": row["source"],
                "method": row["method"],
                "optimizer": row["optimizer"],
                "lr": np.nan if row["lr"] is None else float(row["lr"]),
                "seed": row["seed"],
                **{name: float(values.get(name, np.nan)) for name in metrics},
            }
        )
    return pd.DataFrame.from_records(
        records, columns=["source", "method", "optimizer", "lr", "seed", *metrics]
    )


def _imported_baseline(rows: pd.DataFrame, source: str) -> Baseline:
    """An imported single-task baseline: seed means (and std) per metric; each task's lr."""
    from mtlx.tasks.kinds import split_metric_name

    values: dict[str, list[float]] = {}
    task_lrs: dict[str, float | None] = {}
    for row in rows.to_dict("records"):
        for name, value in _as_dict(row["metrics"]).items():
            values.setdefault(name, []).append(float(value))
            task_lrs.setdefault(split_metric_name(name)[0], _optional_float(row["lr"]))
    test = {name: float(np.mean(v)) for name, v in values.items()}
    counts = {split_metric_name(name)[0]: len(v) for name, v in values.items()}
    return Baseline(
        test=test,
        test_std={n: float(np.std(v, ddof=1)) if len(v) > 1 else None for n, v in values.items()},
        val={},
        task_lrs=task_lrs,
        task_seeds=dict(counts),
        source=source,
    )


def describe_setups(configs: Mapping[tuple[str, str, str, str], Mapping]) -> dict:
    """A short description of each setup, by the settings in which setups of the same dataset
    and network differ (``training.epochs=3``); a setup alone is described by its schedule."""
    flat = {key: _flatten(config) for key, config in configs.items()}
    described = {}
    for key, settings in flat.items():
        siblings = [flat[other] for other in flat if other[:2] == key[:2]]
        differing = sorted(
            name
            for name in set().union(*siblings)
            if name.startswith(("dataset.", "network.", "training.", "tasks"))
            and len({json.dumps(s.get(name), sort_keys=True) for s in siblings}) > 1
        )
        if not differing:
            differing = [n for n in ("training.epochs", "training.batch_size") if n in settings]
        described[key] = ", ".join(
            f"{name.split('.', 1)[-1] if name.startswith('training.') else name}="
            f"{_setting_text(settings.get(name))}"
            for name in differing
        )
    return described


def _flatten(config: Mapping, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in config.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _setting_text(value: object) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return "—" if value is None else str(value)

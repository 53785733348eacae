"""How the analyses' queries reach their rows on SQLite: through the setup index and the metrics'
key, whatever else the database holds, and only the rows an analysis needs. Plans, not timings: a
plan that scans is wrong everywhere, a timing only on a given machine."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from mtlx.analysis.comparison import Selection, load_comparisons
from mtlx.analysis.fronts import pareto_analysis
from mtlx.analysis.summaries import select_runs
from mtlx.store.database import open_database
from mtlx.store.fixtures import SyntheticSweep, write_sweep
from mtlx.tasks.kinds import CLASSIFICATION, DEPTH, NORMAL, SEGMENTATION

# every column of the index (reads of chosen runs add ``AND rowid=?``)
SETUP_SEARCH = (
    "SEARCH runs USING INDEX ix_runs_status_setup "
    "(status=? AND kind=? AND dataset=? AND network=? AND baseline_key=? AND tasks=?"
)
METRICS_SEARCH = "SEARCH epoch_metrics USING PRIMARY KEY (run_id=? AND epoch=? AND split=?)"


@pytest.fixture
def setups(tmp_path: Path) -> Path:
    """A database of three setups: MultiMNIST with two schedules, NYUv2."""
    path = tmp_path / "setups.sqlite"
    engine = open_database(str(path))
    tasks = {"left": CLASSIFICATION, "right": CLASSIFICATION}
    for epochs in (3, 5):
        write_sweep(
            engine, SyntheticSweep("multimnist", "multilenet", tasks, training={"epochs": epochs})
        )
    nyuv2 = {"seg": SEGMENTATION, "depth": DEPTH, "normal": NORMAL}
    write_sweep(engine, SyntheticSweep("nyuv2", "segnet", nyuv2, random_seed=1))
    engine.dispose()
    return path


def traced(path: Path, analysis: Callable[[Engine], None]) -> list[str]:
    """The SELECT statements ``analysis`` sends to the database at ``path``, as SQLite ran them
    (parameters in place)."""
    engine = open_database(str(path), create=False)
    sent: list[str] = []

    @event.listens_for(engine, "checkout")
    def trace(dbapi_connection, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.set_trace_callback(sent.append)

    analysis(engine)
    engine.dispose()
    return [statement for statement in sent if statement.lstrip().startswith("SELECT")]


@pytest.fixture
def statements(setups: Path) -> list[tuple[str, sqlite3.Connection]]:
    """Every statement of choosing each setup's runs, with a connection to explain it."""

    def choose(engine: Engine) -> None:
        comparisons = load_comparisons(engine, Selection())
        assert len(comparisons) == 3
        for comparison in comparisons:
            assert not select_runs(comparison).runs.empty

    explain = sqlite3.connect(setups)
    return [(statement, explain) for statement in traced(setups, choose)]


def plan(statement: str, connection: sqlite3.Connection) -> list[str]:
    return [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}")]


def test_selected_metrics_are_read_by_one_seek_per_run_in_the_setup_index(statements) -> None:
    """The finished runs of one setup come from ``ix_runs_status_setup`` (never from the runs of
    the other setups), each run's selected epoch and split by one seek on the metrics' key (never
    one per metric), in run order (no sort)."""
    metric_reads = [(s, c) for s, c in statements if "epoch_metrics" in s and "run_key IN" not in s]
    assert len(metric_reads) >= 6  # validation and test of each of the three setups
    for statement, connection in metric_reads:
        steps = plan(statement, connection)
        assert steps[0].startswith(SETUP_SEARCH), steps
        assert any(step.startswith(METRICS_SEARCH) for step in steps[1:]), steps
        assert not any("TEMP B-TREE" in step for step in steps), steps


def test_the_setups_are_listed_from_the_index_alone(statements) -> None:
    (listing,) = [(s, c) for s, c in statements if "count(runs.id)" in s]
    assert plan(*listing) == [
        "SEARCH runs USING COVERING INDEX ix_runs_status_setup (status=? AND kind=?)"
    ]


def test_reads_give_the_garbage_collector_back_as_they_found_it(tmp_path: Path) -> None:
    """Rows are fetched with the cyclic collector paused; it runs again afterwards, and stays off
    for a caller that had turned it off."""
    engine = open_database(str(tmp_path / "one.sqlite"))
    write_sweep(engine, SyntheticSweep("multimnist", "multilenet", {"left": CLASSIFICATION}))
    try:
        assert gc.isenabled()
        assert load_comparisons(engine, Selection())
        assert gc.isenabled()
        gc.disable()
        assert load_comparisons(engine, Selection())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_front_of_every_learning_rate_reads_no_validation_metric(setups: Path) -> None:
    def every_learning_rate(engine: Engine) -> None:
        for comparison in load_comparisons(engine, Selection()):
            front = pareto_analysis(comparison, "metrics", all_lrs=True).points
            assert front["pareto_optimal"].any()

    sent = traced(setups, every_learning_rate)
    assert any("epoch_metrics.split = 'test'" in statement for statement in sent)
    assert not any("'val'" in statement for statement in sent)

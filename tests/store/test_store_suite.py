"""The store's contract, run unchanged on SQLite and on a real PostgreSQL (``store_url``):
claims, fencing, takeovers, entities, queries, migrations, and processes racing each other."""

from __future__ import annotations

import multiprocessing
import queue
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import update

from concurrency import store_workers
from mtlx.analysis.comparison import Selection, load_comparisons
from mtlx.analysis.fronts import pareto_analysis
from mtlx.analysis.summaries import select_runs
from mtlx.store.database import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    open_database,
    upgrade_database,
)
from mtlx.store.entities import Holder, RunRecord
from mtlx.store.fixtures import SyntheticSweep, write_sweep
from mtlx.store.runs import RunLostError, RunStore
from mtlx.store.schema import Run, RunStatus
from mtlx.tasks.kinds import CLASSIFICATION, DEPTH, NORMAL, SEGMENTATION

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = str(REPO / "experiments" / "multimnist.yaml")
ELSEWHERE = Holder(host="elsewhere", pid=4121, process_started=1, boot_id="another-boot")


def age_heartbeat(store: RunStore, run_id: int, by: timedelta) -> None:
    with store.writes() as session, session.begin():
        session.execute(
            update(Run).where(Run.id == run_id).values(heartbeat_at=store.server_time() - by)
        )


# ---- lifecycle ---------------------------------------------------------------------------------


def test_the_store_hands_out_frozen_records(store: RunStore, config, provenance) -> None:
    claim = store.claim(config, "multimnist", provenance)
    run = store.run(claim.run_id)
    assert isinstance(run, RunRecord)
    assert run == store.run(config.run_key)
    with pytest.raises(AttributeError):
        run.status = "FINISHED"  # type: ignore[misc]
    assert run.config == config.as_dict()
    assert (run.status, run.attempt, run.owner_token) == ("RUNNING", 1, claim.lease.token)
    (attempt,) = store.attempts(config.run_key)
    assert (attempt.attempt, attempt.reason, attempt.status) == (1, "new", "RUNNING")


def test_only_the_lease_holder_writes_and_a_lost_run_refuses_everything(
    store: RunStore, config, provenance
) -> None:
    first = store.claim(config, "multimnist", provenance, ELSEWHERE)
    store.record_epoch(first.lease, 1, {"val": {"left.acc": 0.5}})
    age_heartbeat(store, first.run_id, store.stale_after + timedelta(minutes=1))
    second = store.claim(config, "multimnist", provenance)
    assert second.lease is not None and second.lease.attempt == 2
    assert second.reason.startswith("take over stale RUNNING (heartbeat 11 min ago")
    for write in (
        lambda: store.heartbeat(first.lease),
        lambda: store.record_epoch(first.lease, 2, {"val": {"left.acc": 0.6}}),
        lambda: store.set_data(first.lease, {}, {}),
        lambda: store.finish(first.lease, 1, "val_loss"),
        lambda: store.fail(first.lease, "boom"),
    ):
        with pytest.raises(RunLostError, match=r"was taken over \(attempt 2"):
            write()
    run = store.run(config.run_key)
    assert (run.status, run.attempt, run.epochs_completed) == ("RUNNING", 2, 0)
    assert store.count_epoch_rows(config.run_key) == 0
    attempts = store.attempts(config.run_key)
    assert [(a.attempt, a.status) for a in attempts] == [(1, "TAKEN OVER"), (2, "RUNNING")]


def test_a_takeover_resumes_from_the_recorded_checkpoint_and_keeps_its_epochs(
    store: RunStore, config, provenance
) -> None:
    from mtlx.store.entities import ResumePoint

    first = store.claim(config, "multimnist", provenance, ELSEWHERE)
    store.record_epoch(first.lease, 1, {"val": {"a": 1.0}}, ResumePoint("/ckpt/a1-e1.pt", 1))
    store.record_epoch(first.lease, 2, {"val": {"a": 2.0}}, ResumePoint("/ckpt/a1-e2.pt", 2))
    store.record_epoch(first.lease, 3, {"val": {"a": 3.0}})  # not checkpointed
    age_heartbeat(store, first.run_id, timedelta(hours=1))
    second = store.claim(config, "multimnist", provenance)
    assert second.resume == ResumePoint("/ckpt/a1-e2.pt", 2)
    assert second.reason.endswith("from epoch 2")
    history = store.epoch_history(config.run_key)
    assert history[["epoch", "value", "attempt"]].values.tolist() == [[1, 1.0, 1], [2, 2.0, 1]]
    run = store.run(config.run_key)
    assert (run.epochs_completed, run.resumed_from_epoch, run.checkpoint_epoch) == (2, 2, 2)


def test_a_live_holder_is_named_and_a_finished_run_is_never_claimed(
    store: RunStore, config, provenance
) -> None:
    first = store.claim(config, "multimnist", provenance, ELSEWHERE)
    refused = store.claim(config, "multimnist", provenance)
    assert refused.lease is None
    assert refused.reason.startswith("running on host elsewhere pid 4121, heartbeat ")
    store.finish(first.lease, 1, "val_loss", note="diverged")
    run = store.run(config.run_key)
    assert (run.status, run.note, run.error) == ("FINISHED", "diverged", None)
    assert run.duration_s is not None and run.duration_s >= 0
    assert store.claim(config, "multimnist", provenance).reason == "finished"


def test_a_cancel_request_reaches_the_worker_at_its_heartbeat(
    store: RunStore, config, provenance
) -> None:
    claim = store.claim(config, "multimnist", provenance)
    assert store.heartbeat(claim.lease) is None
    assert store.request_stop([config.run_key], "by alice") == 1
    assert store.heartbeat(claim.lease) == "by alice"


def test_queries_over_json_columns_work_on_every_dialect(
    store: RunStore, provenance, make_config
) -> None:
    # PostgreSQL has no equality operator for json: a SELECT DISTINCT over it crashed every
    # report there; the columns are JSONB and the merge happens per run
    described = {
        "left": {"primary": "left.acc", "metrics": {"left.acc": True}},
        "right": {"primary": "right.acc", "metrics": {"right.acc": True}},
    }
    for seed in range(3):
        claim = store.claim(make_config(seed), "multimnist", provenance)
        store.set_data(claim.lease, {"samples": 10}, described)
        store.record_epoch(claim.lease, 1, {"val": {"left.acc": 0.5 + seed}, "test": {"x": 1.0}})
        store.finish(claim.lease, 1, "val_loss")
    assert store.task_metrics(dataset="multimnist") == described
    selected = store.selected_metrics(kind="mtl")
    assert sorted(selected["split"]) == ["test"] * 3 + ["val"] * 3
    store.save_baselines(
        [
            {
                "baseline_key": "b",
                "dataset": "multimnist",
                "network": "multilenet",
                "task": "left",
                "split": "validation",  # wider than 8 characters: PostgreSQL enforces widths
                "metric": "left.acc",
                "value": 0.9,
                "std": None,
                "seeds": 3,
                "lr": 1e-3,
                "source": "stl-baseline",
                "source_run_keys": ["a", "b"],
            }
        ]
    )
    assert store.baseline_values("b", "validation") == {"left.acc": 0.9}
    assert store.baselines_frame(baseline_key="b")["source_run_keys"].tolist() == [["a", "b"]]


# ---- migrations --------------------------------------------------------------------------------

# one run as every schema since 0001 accepts it (with a status)
RUN_0001 = {
    "run_key": "k1",
    "kind": "mtl",
    "experiment": "e",
    "dataset": "multimnist",
    "network": "multilenet",
    "tasks": "left,right",
    "method": "ew",
    "optimizer": "adam",
    "lr": 0.001,
    "seed": 0,
    "baseline_key": "b",
    "config": '{"seed": 0}',
    "attempt": 2,
    "created_at": "2026-01-01 00:00:00",
    "started_at": "2026-01-01 00:00:00",
    "heartbeat_at": "2026-01-01 00:00:00",
    "epochs_completed": 2,
    "host": "h",
    "device": "cpu",
    "python_version": "3",
    "torch_version": "2",
    "mtlx_version": "0",
    "data_provenance": "{}",
    "task_metrics": '{"left": {"primary": "left.acc", "metrics": {"left.acc": true}}}',
}


def test_a_0001_database_with_runs_upgrades_to_0002_losing_nothing(store_url: str) -> None:
    engine = make_engine(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
    rows = RUN_0001
    columns = ", ".join([*rows, "status", "error"])
    values = ", ".join(f":{name}" for name in [*rows, "status", "error"])
    with engine.begin() as connection:
        for run_id, (status, error) in enumerate(
            [("FINISHED", "training diverged in epoch 2"), ("FAILED", "Traceback …")], start=1
        ):
            connection.execute(
                sa.text(f"INSERT INTO runs (id, {columns}) VALUES ({run_id}, {values})"),
                {**rows, "run_key": f"k{run_id}", "status": status, "error": error},
            )
            for epoch in (1, 2):
                connection.execute(
                    sa.text(
                        "INSERT INTO epoch_metrics (run_id, epoch, split, metric, value) "
                        "VALUES (:run, :epoch, 'val', 'left.acc', :value)"
                    ),
                    {"run": run_id, "epoch": epoch, "value": 0.1 * epoch},
                )
    engine.dispose()

    assert upgrade_database(store_url) == ("0001", head_revision())
    store = RunStore(open_database(store_url))
    finished, failed = store.run("k1"), store.run("k2")
    assert (finished.status, finished.note, finished.error) == (
        "FINISHED",
        "training diverged in epoch 2",
        None,
    )
    assert (failed.status, failed.note, failed.error) == ("FAILED", None, "Traceback …")
    assert finished.task_metrics["left"]["primary"] == "left.acc"
    for key in ("k1", "k2"):
        history = store.epoch_history(key)
        assert history[["epoch", "value", "attempt"]].values.tolist() == [[1, 0.1, 2], [2, 0.2, 2]]
        (attempt,) = store.attempts(key)
        assert attempt.attempt == 2 and attempt.reason == "recorded before attempts were kept"
    assert store.task_metrics(dataset="multimnist")["left"]["metrics"] == {"left.acc": True}
    store.engine.dispose()


def test_epoch_metrics_are_keyed_by_run_epoch_split_and_metric_after_0005(store_url: str) -> None:
    """0005 makes the natural key the primary key (SQLite: the clustered key of a table without
    rowid); the rows stay, and a second row for the same key is still refused."""
    engine = make_engine(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0004")
    engine.dispose()
    assert upgrade_database(store_url) == ("0004", head_revision())
    engine = make_engine(store_url)
    metric = "INSERT INTO epoch_metrics (run_id, epoch, split, metric, value) VALUES "
    run = {**RUN_0001, "id": 1, "status": "FINISHED"}
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                f"INSERT INTO runs ({', '.join(run)}) VALUES ({', '.join(':' + n for n in run)})"
            ),
            run,
        )
        connection.execute(sa.text(metric + "(1, 1, 'val', 'left.acc', 0.5)"))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text(metric + "(1, 1, 'val', 'left.acc', 0.6)"))
    key = sa.inspect(engine).get_pk_constraint("epoch_metrics")["constrained_columns"]
    assert key == ["run_id", "epoch", "split", "metric"]
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT value FROM epoch_metrics")).all() == [(0.5,)]
    engine.dispose()


def test_the_schema_head_read_commands_expect_is_the_last_migration() -> None:
    """Read-only commands compare a database's version with ``head_revision()`` without loading
    Alembic; it must be the head of the shipped migrations."""
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [head_revision()]


def test_migrations_go_down_and_up_again(store_url: str) -> None:
    upgrade_database(store_url)
    engine = make_engine(store_url, foreign_keys=False)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    assert current_revision(engine) == "0001"
    engine.dispose()
    assert upgrade_database(store_url) == ("0001", head_revision())


# ---- processes racing --------------------------------------------------------------------------


def _collect(results: multiprocessing.Queue, count: int, timeout: float = 120) -> list[tuple]:
    collected = []
    for _ in range(count):
        try:
            collected.append(results.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"only {len(collected)} of {count} results arrived") from None
    errors = [item[-1] for item in collected if item[0] == "error"]
    assert not errors, errors[0]
    return collected


def test_six_processes_claiming_one_run_get_exactly_one_claim_each_round(
    store: RunStore, store_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    claimers, rounds = 6, 15
    barrier = context.Barrier(claimers + 1)
    results = context.Queue()
    processes = [
        context.Process(
            target=store_workers.claimer,
            args=(store_url, EXPERIMENT, rounds, barrier, results),
        )
        for _ in range(claimers)
    ]
    for process in processes:
        process.start()
    try:
        for round_ in range(rounds):
            for phase in ("new", "retry"):
                barrier.wait(timeout=120)  # go
                outcomes = _collect(results, claimers)
                winners = [o for o in outcomes if o[2]]
                assert len(winners) == 1, (round_, phase, outcomes)
                losers = {o[3].split(",")[0] for o in outcomes if not o[2]}
                assert losers <= {"claimed elsewhere"} | {
                    o[3].split(",")[0] for o in outcomes if o[3].startswith("running on host")
                }, outcomes
                if phase == "new":  # fail the run: every claimer retries it next
                    with store.writes() as session, session.begin():
                        session.execute(
                            update(Run)
                            .where(Run.run_key == store_workers._config(EXPERIMENT, round_).run_key)
                            .values(status=RunStatus.FAILED.value)
                        )
                barrier.wait(timeout=120)
    finally:
        for process in processes:
            process.join(timeout=60)
    assert all(process.exitcode == 0 for process in processes)
    runs = store.runs()
    assert len(runs) == rounds
    assert all(run.attempt == 2 for run in runs)  # one new claim and one retry each, no more


def test_three_processes_creating_one_new_database_at_once_all_succeed(
    request: pytest.FixtureRequest, tmp_path: Path, store_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    rounds, creators = 20, 3
    if store_url.startswith("sqlite"):
        urls = [f"sqlite:///{tmp_path / f'new-{round_}.sqlite'}" for round_ in range(rounds)]
    else:
        server = request.getfixturevalue("postgresql_server")
        urls = [server.url(server.create_database()) for _ in range(rounds)]
    barrier = context.Barrier(creators)
    results = context.Queue()
    processes = [
        context.Process(target=store_workers.creator, args=(urls, barrier, results))
        for _ in range(creators)
    ]
    for process in processes:
        process.start()
    outcomes = _collect(results, creators * rounds)
    for process in processes:
        process.join(timeout=60)
    assert sorted(o[1] for o in outcomes) == sorted(urls * creators)
    for url in urls:
        engine = make_engine(url)
        assert current_revision(engine) == head_revision()
        engine.dispose()


def _writers(store_url: str, writers: int, seconds: float) -> list[tuple]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(writers)
    results = context.Queue()
    processes = [
        context.Process(
            target=store_workers.writer,
            args=(store_url, EXPERIMENT, seed, seconds, barrier, results),
        )
        for seed in range(writers)
    ]
    for process in processes:
        process.start()
    outcomes = _collect(results, writers, timeout=seconds + 180)
    for process in processes:
        process.join(timeout=60)
    return outcomes


def _check_writes(store: RunStore, outcomes: list[tuple]) -> int:
    total = 0
    for _, seed, committed, _ in outcomes:
        key = store_workers._config(EXPERIMENT, seed).run_key
        history = store.epoch_history(key)
        assert not history.duplicated(["epoch", "split", "metric"]).any()
        assert sorted(set(history["epoch"])) == list(range(1, committed + 1))  # none lost
        assert len(history) == 7 * committed
        assert store.run(key).epochs_completed == committed
        total += committed
    return total


def test_concurrent_writers_lose_and_duplicate_nothing(store: RunStore, store_url: str) -> None:
    outcomes = _writers(store_url, writers=4, seconds=2.0)
    assert _check_writes(store, outcomes) > 0


@pytest.mark.slow
def test_sixteen_writers_for_twenty_seconds(store: RunStore, store_url: str) -> None:
    seconds = 20.0
    outcomes = _writers(store_url, writers=16, seconds=seconds)
    total = _check_writes(store, outcomes)
    print(f"{store.dialect.name}: {total} commits in {seconds:.0f} s, {total / seconds:.0f}/s")


def test_a_cancelled_run_whose_worker_died_is_killed_not_taken_over(
    store: RunStore, config, provenance
) -> None:
    first = store.claim(config, "multimnist", provenance, ELSEWHERE)
    assert store.request_stop([config.run_key], "by alice") == 1
    age_heartbeat(store, first.run_id, timedelta(hours=1))  # the worker never saw the request
    claim = store.claim(config, "multimnist", provenance)
    assert claim.lease is None and claim.reason == "cancelled (its worker was gone): KILLED"
    run = store.run(config.run_key)
    assert (run.status, run.attempt) == ("KILLED", 1)
    assert run.error.startswith("cancelled: by alice")
    # it resumes when it is asked for again (retry, or a later sweep)
    assert store.claim(config, "multimnist", provenance).reason == "retry KILLED"


# ---- analyses ----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_analyses_give_the_same_numbers_on_postgresql_as_on_sqlite(
    postgresql_url: str, tmp_path: Path
) -> None:
    """The same runs in both databases: the same setups, the same learning rates chosen on
    validation ΔM, the same test rows, the same fronts — every query is plain SQL both run."""
    nyuv2 = {"seg": SEGMENTATION, "depth": DEPTH, "normal": NORMAL}
    sweeps = [
        SyntheticSweep("nyuv2", "segnet", nyuv2, random_seed=1),
        SyntheticSweep("multimnist", "multilenet", {"left": CLASSIFICATION}, baseline=False),
    ]
    results = []
    for url in (f"sqlite:///{tmp_path / 'same.sqlite'}", postgresql_url):
        engine = open_database(url)
        for sweep in sweeps:
            write_sweep(engine, sweep)
        comparisons = load_comparisons(engine, Selection())
        results.append(
            [
                (
                    comparison.label,
                    select_runs(comparison).runs,
                    pareto_analysis(comparison, "metrics").points,
                    pareto_analysis(comparison, "metrics", all_lrs=True).points,
                )
                for comparison in comparisons
            ]
        )
        engine.dispose()
    on_sqlite, on_postgresql = results
    assert [label for label, *_ in on_sqlite] == ["multimnist / multilenet", "nyuv2 / segnet"]
    for sqlite_result, postgresql_result in zip(on_sqlite, on_postgresql, strict=True):
        assert sqlite_result[0] == postgresql_result[0]
        for sqlite_frame, postgresql_frame in zip(
            sqlite_result[1:], postgresql_result[1:], strict=True
        ):
            assert not sqlite_frame.empty
            pd.testing.assert_frame_equal(sqlite_frame, postgresql_frame, check_dtype=False)

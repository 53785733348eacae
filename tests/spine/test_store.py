"""The results database: schema and migrations, SQLite settings, the run lifecycle and claims."""

from __future__ import annotations

import math
import os
import socket
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text, update
from sqlalchemy.exc import OperationalError

from mtlx.dispatch.plan import RunPlan
from mtlx.dispatch.sweep import run_sweep
from mtlx.provenance import provenance
from mtlx.store.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    SchemaVersionError,
    StoreError,
    current_revision,
    head_revision,
    open_database,
    upgrade_database,
    with_retry,
)
from mtlx.store.entities import Holder
from mtlx.store.runs import RunLostError, RunStore, utcnow
from mtlx.store.schema import Base, EpochMetric, Run, RunStatus


@pytest.fixture
def store(isolated: Path) -> RunStore:
    return RunStore(open_database(str(isolated / "results.sqlite")))


@pytest.fixture
def config(spine):
    spec = spine.spec()
    return spec.run_config(spec.tasks, "ew", "adam", 1e-3, 0)


def cpu_provenance() -> dict:
    return provenance("cpu")


def elsewhere() -> Holder:
    """A worker on another host: only its heartbeat's age tells whether it is gone."""
    return Holder(host="elsewhere", pid=4121, process_started=1, boot_id="another-boot")


def epoch_rows(store: RunStore, run_id: int) -> int:
    with store.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(EpochMetric).where(EpochMetric.run_id == run_id)
        )


# ---- schema ----------------------------------------------------------------------------------


def test_new_database_is_created_at_the_latest_schema_and_stamped(isolated: Path) -> None:
    path = isolated / "new" / "results.sqlite"
    with pytest.raises(StoreError, match=r"the folder .*new does not exist"):
        open_database(str(path))  # a typo in --db must not create folders and retrain everything
    assert not path.parent.exists()
    path.parent.mkdir()
    engine = open_database(str(path))
    assert path.is_file()
    assert current_revision(engine) == head_revision()
    with sqlite3.connect(path) as connection:
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert version == head_revision()
    assert {"runs", "epoch_metrics", "baselines", "run_attempts", "alembic_version"} <= tables
    # opening it again is a no-op, not a second creation
    assert current_revision(open_database(str(path))) == head_revision()


def schema_of(url: str) -> dict:
    engine = create_engine(url)
    inspector = inspect(engine)
    with engine.connect() as connection:
        created = dict(
            connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
            ).all()
        )
    described = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        described[table] = {
            "without_rowid": created[table].rstrip().upper().endswith("WITHOUT ROWID"),
            # a migration appends the columns it adds: compare columns, not their order
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], c.get("primary_key"))
                for c in inspector.get_columns(table)
            ),
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "foreign_keys": sorted(
                (
                    tuple(f["constrained_columns"]),
                    f["referred_table"],
                    tuple(f["referred_columns"]),
                    f["options"].get("ondelete"),
                )
                for f in inspector.get_foreign_keys(table)
            ),
        }
    return described


def test_migrations_build_the_same_schema_as_the_models(isolated: Path) -> None:
    migrated = isolated / "migrated.sqlite"
    before, after = upgrade_database(str(migrated))
    assert (before, after) == (None, head_revision())

    created = isolated / "created.sqlite"
    Base.metadata.create_all(create_engine(f"sqlite:///{created}"))

    migrated_schema = schema_of(f"sqlite:///{migrated}")
    assert set(migrated_schema) == {
        "runs",
        "epoch_metrics",
        "baselines",
        "run_attempts",
        "study_runs",
        "study_values",
        "result_imports",
        "imported_results",
    }
    assert migrated_schema == schema_of(f"sqlite:///{created}")
    # the metrics are clustered by their key: one seek per run reads a selected epoch
    assert migrated_schema["epoch_metrics"]["without_rowid"]
    assert migrated_schema["epoch_metrics"]["primary_key"] == ["run_id", "epoch", "split", "metric"]
    # and a migrated database is accepted as it is
    assert current_revision(open_database(str(migrated), create=False)) == head_revision()


def stamp(path: Path, revision: str | None) -> None:
    Base.metadata.create_all(create_engine(f"sqlite:///{path}"))
    if revision is not None:
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))


@pytest.mark.parametrize("revision", ["0000", "9999_from_the_future", None])
def test_database_at_another_schema_is_refused_with_the_upgrade_command(
    spine, isolated: Path, revision: str | None
) -> None:
    path = isolated / "old.sqlite"
    stamp(path, revision)
    with pytest.raises(SchemaVersionError) as caught:
        open_database(str(path))
    message = str(caught.value)
    assert "mtlx db upgrade" in message
    assert str(path) in message
    assert (revision or "unversioned") in message
    assert head_revision() in message
    # the refused database is left as it was
    with sqlite3.connect(path) as connection:
        versions = (
            connection.execute("SELECT version_num FROM alembic_version").fetchall()
            if revision
            else []
        )
    assert versions == ([(revision,)] if revision else [])

    result = spine.invoke("runs", "--db", str(path))
    assert result.exit_code == 2
    assert "mtlx db upgrade" in spine.flat(result.output)


def test_the_advised_upgrade_works_on_an_unversioned_database(spine, isolated: Path) -> None:
    path = isolated / "unversioned.sqlite"
    stamp(path, None)
    result = spine.invoke("db", "upgrade", "--db", str(path))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 2)


def test_read_only_open_of_a_missing_database_is_refused(isolated: Path) -> None:
    with pytest.raises(SchemaVersionError, match="no mtlx database there"):
        open_database(str(isolated / "absent.sqlite"), create=False)


def test_sqlite_is_set_up_for_many_writers(store: RunStore) -> None:
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
        assert SQLITE_BUSY_TIMEOUT_MS >= 1000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_writer_waits_for_another_instead_of_failing(isolated: Path, config) -> None:
    path = isolated / "shared.sqlite"
    first = RunStore(open_database(str(path)))
    second = RunStore(open_database(str(path)))
    locked = threading.Event()

    def hold_the_write_lock() -> None:
        with first.engine.connect() as connection:
            connection.exec_driver_sql("UPDATE runs SET status = status")  # BEGIN IMMEDIATE
            locked.set()
            time.sleep(0.8)
            connection.commit()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    assert locked.wait(5)
    started = time.monotonic()
    claim = second.claim(config, "multimnist", cpu_provenance())
    waited = time.monotonic() - started
    holder.join()
    assert claim.reason == "new"
    assert waited >= 0.2  # it blocked on the lock, then went through


def test_with_retry_retries_only_a_busy_database(isolated: Path) -> None:
    path = isolated / "busy.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")  # holds the write lock
    impatient = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    calls = []

    def write() -> None:
        calls.append(1)
        if len(calls) == 3:
            holder.execute("COMMIT")  # the lock goes away while the writer backs off
        with impatient.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")

    with_retry(write, base_delay=0.001)
    assert len(calls) == 3  # two real SQLITE_BUSY errors (told by code, not message), then through

    calls.clear()

    def broken() -> None:
        calls.append(1)
        with impatient.begin() as connection:
            connection.exec_driver_sql("SELECT * FROM no_such_table")

    with pytest.raises(OperationalError, match="no such table"):
        with_retry(broken, base_delay=0.001)
    assert len(calls) == 1  # not transient: raised at once

    holder.execute("BEGIN IMMEDIATE")
    calls.clear()
    with pytest.raises(OperationalError, match="locked"):
        with_retry(write, attempts=2, base_delay=0.001)
    assert len(calls) == 2
    holder.execute("COMMIT")


# ---- lifecycle -------------------------------------------------------------------------------


def test_claim_records_a_new_run_with_its_identity(store: RunStore, config) -> None:
    claim = store.claim(config, "multimnist", cpu_provenance())
    assert claim.reason == "new" and claim.run_id is not None
    run = store.run(claim.run_id)
    assert run.status == RunStatus.RUNNING.value
    assert run.attempt == 1
    assert run.run_key == config.run_key
    assert run.baseline_key == config.baseline_key
    assert (run.kind, run.dataset, run.network, run.tasks) == (
        "mtl",
        "multimnist",
        "multilenet",
        "left,right",
    )
    assert (run.method, run.optimizer, run.lr, run.seed) == ("ew", "adam", 1e-3, 0)
    assert run.config == config.as_dict()
    assert run.device.startswith("cpu")
    assert run.finished_at is None


def test_claim_of_a_running_run_with_a_fresh_heartbeat_is_refused(store: RunStore, config) -> None:
    first = store.claim(config, "multimnist", cpu_provenance())
    store.record_epoch(first.lease, 1, {"val": {"left.acc": 0.5}})
    second = store.claim(config, "multimnist", cpu_provenance())
    assert second.run_id is None
    # this process holds it and is alive: skipped, saying where and how fresh
    assert second.reason.startswith(f"running on host {socket.gethostname()} pid {os.getpid()}")
    assert "heartbeat 0 s ago" in second.reason
    run = store.run(first.run_id)
    assert (run.status, run.attempt) == ("RUNNING", 1)
    assert epoch_rows(store, first.run_id) == 1


def test_claim_takes_over_a_stale_running_run(store: RunStore, config) -> None:
    first = store.claim(config, "multimnist", cpu_provenance(), elsewhere())
    store.record_epoch(
        first.lease, 1, {"train": {"left.loss": 1.0}, "val": {"left.acc": 0.5, "left.loss": 2.0}}
    )
    store.record_epoch(first.lease, 2, {"val": {"left.acc": 0.6}})
    assert epoch_rows(store, first.run_id) == 4
    with store.sessions() as session, session.begin():
        stale = utcnow() - store.stale_after - timedelta(minutes=1)
        session.execute(update(Run).where(Run.id == first.run_id).values(heartbeat_at=stale))

    takeover = store.claim(config, "multimnist", cpu_provenance())
    assert takeover.run_id == first.run_id
    assert takeover.reason.startswith("take over stale RUNNING (heartbeat 11 min ago")
    run = store.run(first.run_id)
    assert run.status == "RUNNING"
    assert run.attempt == 2
    assert run.epochs_completed == 0
    assert run.heartbeat_at > stale
    assert epoch_rows(store, first.run_id) == 0
    # the retried run can record its epoch 1 again (no unique-constraint clash with the old one)
    store.record_epoch(takeover.lease, 1, {"val": {"left.acc": 0.7}})
    assert epoch_rows(store, first.run_id) == 1
    # and the worker that lost it can write nothing more
    with pytest.raises(RunLostError, match="was taken over"):
        store.record_epoch(first.lease, 3, {"val": {"left.acc": 0.9}})
    with pytest.raises(RunLostError):
        store.heartbeat(first.lease)
    assert epoch_rows(store, first.run_id) == 1


def test_heartbeat_keeps_a_run_from_going_stale(store: RunStore, config) -> None:
    first = store.claim(config, "multimnist", cpu_provenance(), elsewhere())
    with store.sessions() as session, session.begin():
        old = utcnow() - store.stale_after - timedelta(minutes=1)
        session.execute(update(Run).where(Run.id == first.run_id).values(heartbeat_at=old))
    store.heartbeat(first.lease)
    assert store.claim(config, "multimnist", cpu_provenance()).reason.startswith(
        "running on host elsewhere"
    )


def test_finished_runs_are_not_claimed_and_failed_ones_are_retried(store: RunStore, spine) -> None:
    spec = spine.spec()
    done = spec.run_config(spec.tasks, "ew", "adam", 1e-3, 0)
    broken = spec.run_config(spec.tasks, "ew", "adam", 1e-3, 1)
    done_claim = store.claim(done, "multimnist", cpu_provenance())
    done_id = done_claim.run_id
    store.record_epoch(done_claim.lease, 1, {"val": {"left.acc": 0.5}})
    store.finish(done_claim.lease, 1, "val_loss")
    broken_claim = store.claim(broken, "multimnist", cpu_provenance())
    broken_id = broken_claim.run_id
    store.fail(
        broken_claim.lease,
        "Traceback (most recent call last):\n" + "x" * 20000 + "\nValueError: boom",
    )

    finished = store.run(done_id)
    assert finished.status == "FINISHED"
    assert (finished.selected_epoch, finished.selection_rule) == (1, "val_loss")
    assert finished.finished_at is not None and finished.duration_s >= 0
    failed = store.run(broken_id)
    assert failed.status == "FAILED"
    assert failed.error.endswith("ValueError: boom")  # the tail is kept …
    assert len(failed.error) <= 8000  # … and only the tail

    assert store.claim(done, "multimnist", cpu_provenance()).reason == "finished"
    retry = store.claim(broken, "multimnist", cpu_provenance())
    assert (retry.run_id, retry.reason) == (broken_id, "retry FAILED")
    again = store.run(broken_id)
    assert (again.status, again.attempt, again.error, again.finished_at) == (
        "RUNNING",
        2,
        None,
        None,
    )
    assert store.statuses([done.run_key, broken.run_key, "0" * 16]) == {
        done.run_key: "FINISHED",
        broken.run_key: "RUNNING",
    }


def test_non_finite_metrics_are_stored_as_null(store: RunStore, config) -> None:
    claim = store.claim(config, "multimnist", cpu_provenance())
    run_id = claim.run_id
    store.record_epoch(claim.lease, 1, {"train": {"left.loss": math.nan, "right.loss": math.inf}})
    with store.sessions() as session:
        values = session.scalars(select(EpochMetric.value).where(EpochMetric.run_id == run_id))
        assert list(values) == [None, None]


def test_interrupted_run_is_recorded_killed_and_retried_later(
    spine, isolated: Path, register_bomb
) -> None:
    bomb = register_bomb(KeyboardInterrupt)
    spec = spine.spec("training.batch_size=128")  # two steps per epoch: the bomb goes off
    config = spec.run_config(spec.tasks, bomb, "adam", 1e-3, 0)
    context = spine.runtime(isolated / "results.sqlite")
    store = context.store
    with pytest.raises(KeyboardInterrupt):
        run_sweep([RunPlan(config, spec.name)], context)
    (run,) = store.runs_frame().to_dict("records")
    assert run["status"] == "KILLED"
    assert run["error"] == "interrupted (KeyboardInterrupt)"
    assert run["finished_at"] is not None

    with pytest.raises(KeyboardInterrupt):
        run_sweep([RunPlan(config, spec.name)], context)
    (run,) = store.runs_frame().to_dict("records")
    assert (run["status"], run["attempt"]) == ("KILLED", 2)


def test_database_is_a_real_file_readable_without_mtlx(store: RunStore, config) -> None:
    claim = store.claim(config, "multimnist", cpu_provenance())
    store.record_epoch(claim.lease, 1, {"test": {"left.acc": 0.25}})
    url = str(store.engine.url)
    with create_engine(url).connect() as connection:
        rows = connection.execute(
            text(
                "SELECT r.run_key, m.split, m.metric, m.value FROM runs r "
                "JOIN epoch_metrics m ON m.run_id = r.id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [(config.run_key, "test", "left.acc", 0.25)]

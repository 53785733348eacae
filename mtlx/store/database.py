"""Opening the results database: any SQLAlchemy URL; SQLite set up for many writers.

A new database is created at the latest schema and stamped; a database at an older schema is
refused with the one command that migrates it (``mtlx db upgrade``) — never migrated behind the
user's back, never raced by workers.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mtlx.errors import UserError
from mtlx.store.schema import Base

DEFAULT_DATABASE = "results.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "mtlx_write"  # execution option marking an engine whose transactions write

T = TypeVar("T")


class SchemaVersionError(UserError, RuntimeError):
    """The database's schema is not the one this mtlx writes."""


def database_url(db: str | None = None) -> str:
    """``--db`` if given, else ``$MTLX_DB``, else ``./results.sqlite``; a path means SQLite."""
    target = db or os.environ.get("MTLX_DB") or DEFAULT_DATABASE
    return target if "://" in target else f"sqlite:///{target}"


def alembic_config(engine_connection: object | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = engine_connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise SchemaVersionError("mtlx ships no schema migrations (broken installation)")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, open transactions (so BEGIN IMMEDIATE is ours to issue).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a commit survives a crash
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection) -> None:  # type: ignore[no-untyped-def]
        # A write transaction takes the write lock up front (no deadlock between two readers
        # upgrading to writers); a read transaction takes none, so reports never block workers.
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


def known_revisions() -> list[str]:
    return [
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    ]


def open_database(db: str | None = None, create: bool = True) -> Engine:
    """An engine on a database at the latest schema; creates a new one, refuses an old one.

    ``create=False`` (read-only commands) refuses a missing SQLite file instead of creating it.
    """
    url = database_url(db)
    path = sqlite_path(url)
    if not create and path is not None and not path.is_file():
        raise SchemaVersionError(f"{url}: no mtlx database there (no file {path})")
    engine = make_engine(url)
    revision = current_revision(engine)
    head = head_revision()
    if revision == head:
        return engine
    has_tables = bool(inspect(engine).get_table_names())
    if revision is None and not has_tables:
        if not create:
            raise SchemaVersionError(f"{url}: no mtlx database there")
        Base.metadata.create_all(engine)
        with engine.begin() as connection:
            command.stamp(alembic_config(connection), head)
        return engine
    raise SchemaVersionError(schema_mismatch(url, revision, head))


def schema_mismatch(url: str, revision: str | None, head: str) -> str:
    if revision is None:
        return (
            f"{url}: the database has tables but no mtlx schema version (unversioned): it was not "
            f"written by mtlx, which writes schema {head}; point --db at an mtlx database "
            "(`mtlx db upgrade` only migrates mtlx databases)"
        )
    if revision not in known_revisions():
        return (
            f"{url}: the database is at schema {revision}, unknown to this mtlx (which writes "
            f"{head}): it was written by a newer mtlx — upgrade mtlx, not the database "
            "(`mtlx db upgrade` migrates older databases only)"
        )
    return (
        f"{url}: the database is at schema {revision}, this mtlx writes {head}; "
        "run `mtlx db upgrade` to migrate it (back it up first)"
    )


def upgrade_database(db: str | None = None) -> tuple[str | None, str]:
    """Migrate to the latest schema; returns (revision before, revision after)."""
    url = database_url(db)
    engine = make_engine(url)
    before = current_revision(engine)
    if before is None and inspect(engine).get_table_names():
        raise SchemaVersionError(schema_mismatch(url, None, head_revision()))
    if before is not None and before not in known_revisions():
        raise SchemaVersionError(schema_mismatch(url, before, head_revision()))
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    return before, current_revision(engine) or ""


def session_factory(engine: Engine, writes: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``writes=True`` for the ones that open write transactions."""
    bind = engine.execution_options(**{WRITE_OPTION: True}) if writes else engine
    return sessionmaker(bind, expire_on_commit=False)


def with_retry(operation: Callable[[], T], attempts: int = 8, base_delay: float = 0.05) -> T:
    """Retry a short write transaction on a locked database, with jittered exponential backoff."""
    for attempt in range(attempts):
        try:
            return operation()
        except OperationalError as error:
            locked = "locked" in str(error).lower() or "busy" in str(error).lower()
            if not locked or attempt == attempts - 1:
                raise
            time.sleep(base_delay * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One short write transaction: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session

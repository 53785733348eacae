"""Every difference between the databases mtlx runs on, in one place: SQLite and PostgreSQL.

- the server's clock (heartbeats and staleness are judged by the database, not by each worker);
- inserting a row unless its key exists (the atomic first claim of a run);
- the lock under which a new database's schema is created and stamped;
- which errors mean "try the transaction again" (SQLite busy or locked; PostgreSQL serialization
  failure 40001 and deadlock 40P01), decided on error codes, never on message text.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Table, func, literal, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import ColumnElement, Insert

SQLITE_BUSY = 5
SQLITE_LOCKED = 6
POSTGRES_RETRYABLE = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
SCHEMA_LOCK_KEY = 0x6D746C78  # "mtlx": the advisory lock that serialises schema creation


def utcnow() -> datetime:
    """This process's clock, UTC, naive (as every timestamp column stores it)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Dialect:
    """SQLite's behaviour; :class:`PostgresDialect` overrides what differs."""

    name = "sqlite"

    def now(self) -> ColumnElement[Any]:
        """The database server's current time, UTC, naive. SQLite lives in this process's
        machine (never on a network file system), so its server clock is this clock."""
        return literal(utcnow())

    def insert_ignoring_conflict(self, table: Table, values: dict[str, Any], key: str) -> Insert:
        """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING id``."""
        return (
            sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=[key])
        ).returning(table.c.id)

    def lock_schema(self, connection: Connection) -> None:
        """Serialise schema creation; SQLite's write transactions (BEGIN IMMEDIATE) already do."""
        return None

    def is_retryable(self, error: BaseException) -> bool:
        original = getattr(error, "orig", error)
        if isinstance(original, sqlite3.OperationalError):
            code = getattr(original, "sqlite_errorcode", None)
            return code is not None and code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
        return False


class PostgresDialect(Dialect):
    name = "postgresql"

    def now(self) -> ColumnElement[Any]:
        return func.timezone("UTC", func.clock_timestamp())

    def insert_ignoring_conflict(self, table: Table, values: dict[str, Any], key: str) -> Insert:
        return (
            postgresql.insert(table).values(**values).on_conflict_do_nothing(index_elements=[key])
        ).returning(table.c.id)

    def lock_schema(self, connection: Connection) -> None:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})

    def is_retryable(self, error: BaseException) -> bool:
        if not isinstance(error, DBAPIError):
            return False
        return getattr(error.orig, "sqlstate", None) in POSTGRES_RETRYABLE


DIALECTS: dict[str, Dialect] = {"sqlite": Dialect(), "postgresql": PostgresDialect()}


def dialect_of(name: str) -> Dialect:
    """The behaviour of SQLAlchemy dialect ``name``; other databases are refused by name."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"mtlx supports SQLite and PostgreSQL databases, not {name!r}") from None

"""Opening the results database: a SQLite file or any PostgreSQL URL, with one-line errors.

A new database is created at the latest schema and stamped in one transaction, under a lock, so
any number of processes may open a new database at once. A database at an older schema is refused
with the one command that migrates it (``mtlx db upgrade``) — never migrated behind the user's
back, never raced by workers.

Commands that only read open the database read-only: a SQLite file is never written (nor switched
to WAL), and a file on read-only media is read as immutable. Every problem a user can fix — a
missing folder, a directory, an unreadable, unwritable or corrupt file, an unknown URL scheme, a
missing driver, an unreachable server — is one line naming the file or host and what to do.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from mtlx.errors import UserError
from mtlx.store.dialect import Dialect, dialect_of
from mtlx.store.schema import Base

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_DATABASE = "results.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"
# The latest migration's revision: commands that only read compare the database's version with
# it without loading Alembic (a test keeps it equal to the migrations' head).
SCHEMA_HEAD = "0005"
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "mtlx_write"  # execution option marking an engine whose transactions write
SQLITE_NOTADB = 26  # "file is not a database"

T = TypeVar("T")


class StoreError(UserError, RuntimeError):
    """A database that cannot be used as asked; the message says which and what to do."""


class SchemaVersionError(StoreError):
    """The database's schema is not the one this mtlx writes."""


def database_url(db: str | None = None) -> str:
    """``--db`` if given, else ``$MTLX_DB``, else ``./results.sqlite``; a path means SQLite."""
    target = db or os.environ.get("MTLX_DB") or DEFAULT_DATABASE
    return target if "://" in target else f"sqlite:///{target}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    if path.startswith("file:"):
        path = path[len("file:") :]
    return Path(path) if path and path != ":memory:" else None


def describe(url: str) -> str:
    """What a user recognises: the SQLite file, or host:port/database (never a password)."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.get_backend_name()}://{host}{port}/{parsed.database or ''}"


# ---- migrations --------------------------------------------------------------------------------


def alembic_config(engine_connection: object | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = engine_connection
    return config


def head_revision() -> str:
    return SCHEMA_HEAD


def known_revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    return [
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    ]


def current_revision(engine: Engine | Connection) -> str | None:
    """The database's schema revision (Alembic's ``alembic_version``), None when unversioned."""
    if not isinstance(engine, Connection):
        with engine.connect() as connection:
            return current_revision(connection)
    if not inspect(engine).has_table("alembic_version"):
        return None
    versions = engine.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:
        raise SchemaVersionError(
            f"the database records several schema versions ({', '.join(sorted(versions))}); "
            "mtlx keeps one"
        )
    return versions[0] if versions else None


def schema_mismatch(url: str, revision: str | None, head: str) -> str:
    where = describe(url)
    if revision is None:
        return (
            f"{where}: the database has tables but no mtlx schema version (unversioned): it was "
            f"not written by mtlx, which writes schema {head}; point --db at an mtlx database "
            "(`mtlx db upgrade` only migrates mtlx databases)"
        )
    if revision not in known_revisions():
        return (
            f"{where}: the database is at schema {revision}, unknown to this mtlx (which writes "
            f"{head}): it was written by a newer mtlx — upgrade mtlx, not the database "
            "(`mtlx db upgrade` migrates older databases only)"
        )
    return (
        f"{where}: the database is at schema {revision}, this mtlx writes {head}; "
        "run `mtlx db upgrade` to migrate it (back it up first)"
    )


# ---- engines ---------------------------------------------------------------------------------


def _configure_sqlite(engine: Engine, read_only: bool, foreign_keys: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, open transactions (so BEGIN IMMEDIATE is ours to issue).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        else:
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL, a commit survives a crash
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection) -> None:  # type: ignore[no-untyped-def]
        # A write transaction takes the write lock up front (no deadlock between two readers
        # upgrading to writers); a read transaction takes none, so reports never block workers.
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _sqlite_engine(path: Path, read_only: bool, foreign_keys: bool = True) -> Engine:
    if read_only:
        # A file whose folder and file nobody here may write (read-only media) has no writer to
        # coordinate with: read it as immutable, which needs no -shm file beside it.
        immutable = not os.access(path, os.W_OK) and not os.access(path.parent, os.W_OK)
        options = "mode=ro&immutable=1" if immutable else "mode=ro"
        url = f"sqlite:///file:{quote(str(path.resolve()))}?{options}&uri=true"
    else:
        url = f"sqlite:///{path}"
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    _configure_sqlite(engine, read_only, foreign_keys)
    return engine


def make_engine(url: str, read_only: bool = False, foreign_keys: bool = True) -> Engine:
    """An engine on ``url``; a user-fixable problem with the URL or driver is a StoreError.

    ``foreign_keys=False`` is for migrations only: SQLite alters a table by copying it and
    dropping the old one, which, with foreign keys enforced, would cascade-delete its children.
    """
    path = sqlite_path(url)
    if path is not None:
        return _sqlite_engine(path, read_only, foreign_keys)
    if url.startswith("sqlite"):  # in-memory
        engine = create_engine(url)
        _configure_sqlite(engine, read_only)
        return engine
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            url = str(parsed.set(drivername="postgresql+psycopg"))  # psycopg 3, the extra's
        engine = create_engine(url, pool_pre_ping=True)
    except (ModuleNotFoundError, ImportError) as error:
        raise StoreError(
            f"{describe(url)}: the database driver is not installed ({error.name or error}); "
            "for PostgreSQL install mtlx's extra: pip install 'mtlx[postgres]'"
        ) from None
    except (NoSuchModuleError, ArgumentError):
        scheme = url.split("://", 1)[0]
        raise StoreError(
            f"--db {url.split('@')[-1]!r}: unknown database URL scheme {scheme!r}; use a SQLite "
            "file path or postgresql://user@host:port/database"
        ) from None
    try:
        dialect_of(engine.dialect.name)
    except ValueError as error:
        raise StoreError(f"{describe(url)}: {error}") from None
    return engine


def dialect(engine: Engine | Connection) -> Dialect:
    return dialect_of(engine.dialect.name)


# ---- opening -----------------------------------------------------------------------------------


def _check_sqlite_file(path: Path, create: bool) -> bool:
    """Refuse what cannot work before SQLite sees it; True when the file is new (or empty)."""
    try:
        return _check_sqlite_path(path, create)
    except PermissionError:
        raise StoreError(
            f"{path}: permission denied (a folder on its path is not accessible to this user)"
        ) from None


def _check_sqlite_path(path: Path, create: bool) -> bool:
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file; give a file path to --db")
    folder = path.parent if str(path.parent) else Path(".")
    if not path.exists():
        if not create:
            raise SchemaVersionError(f"{path}: no mtlx database there (no such file)")
        if not folder.is_dir():
            raise StoreError(
                f"{path}: the folder {folder} does not exist; create it first or correct --db"
            )
        if not os.access(folder, os.W_OK):
            raise StoreError(
                f"{path}: cannot create the database, the folder {folder} is not writable"
            )
        return True
    if not os.access(path, os.R_OK):
        raise StoreError(f"{path}: the database file is not readable (permission denied)")
    if create:
        if not os.access(path, os.W_OK):
            raise StoreError(
                f"{path}: the database file is not writable; training needs write access "
                "(reports and listings open it read-only)"
            )
        if not os.access(folder, os.W_OK):
            raise StoreError(
                f"{path}: its folder {folder} is not writable, and SQLite needs to write its "
                "journal files (-wal, -shm) beside the database"
            )
    return path.stat().st_size == 0


def _connection_problem(url: str, error: DBAPIError) -> StoreError:
    """A one-line message for a database that cannot be read at all."""
    original = error.orig
    first_line = str(original).strip().splitlines()[0] if str(original).strip() else ""
    path = sqlite_path(url)
    if path is not None:
        if getattr(original, "sqlite_errorcode", None) == SQLITE_NOTADB:
            return StoreError(f"{path} is not a SQLite database (corrupt, or another kind of file)")
        return StoreError(f"{path}: SQLite cannot use this database file: {first_line}")
    reason = first_line or type(original).__name__
    return StoreError(f"cannot connect to the database at {describe(url)}: {reason}")


def open_database(db: str | None = None, create: bool = True) -> Engine:
    """An engine on a database at the latest schema.

    ``create=True`` (commands that train or record): a new database is created; the engine writes.
    ``create=False`` (commands that only read): a missing database is refused and the engine is
    read-only.
    """
    url = database_url(db)
    path = sqlite_path(url)
    new_file = _check_sqlite_file(path, create) if path is not None else False
    engine = make_engine(url, read_only=not create)
    try:
        if create:
            with_retry(lambda: _ensure_schema(engine, url, new_file), dialect(engine))
        else:
            _require_schema(engine, url)
    except DBAPIError as error:
        engine.dispose()
        raise _connection_problem(url, error) from None
    except BaseException:
        engine.dispose()
        raise
    return engine


def _require_schema(engine: Engine, url: str) -> None:
    with engine.connect() as connection:
        revision = current_revision(connection)
        head = head_revision()
        if revision == head:
            return
        tables = set(inspect(connection).get_table_names())
    if revision is None and not tables:
        raise SchemaVersionError(f"{describe(url)}: no mtlx database there (it is empty)")
    raise SchemaVersionError(schema_mismatch(url, revision, head))


def _ensure_schema(engine: Engine, url: str, new_file: bool) -> None:
    """Create and stamp a new database in one transaction under the schema lock, or check one."""
    head = head_revision()
    with engine.connect() as connection:
        if current_revision(connection) == head:
            _use_wal(engine)
            return
    if new_file:
        _use_wal(engine)  # an empty file is ours: set its journal before any table exists
    writer = engine.execution_options(**{WRITE_OPTION: True})
    with writer.begin() as connection:
        dialect(connection).lock_schema(connection)
        revision = current_revision(connection)
        if revision == head:
            return
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        if revision is None and not tables:
            from alembic import command

            Base.metadata.create_all(connection)
            command.stamp(alembic_config(connection), head)
            return
    raise SchemaVersionError(schema_mismatch(url, revision, head))


def _use_wal(engine: Engine) -> None:
    """WAL for an mtlx SQLite database (readers never block the writer); persistent in the file."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    raw = engine.raw_connection()  # outside any transaction: SQLite sets the journal only there
    try:
        cursor = raw.cursor()
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
    finally:
        raw.close()


def upgrade_database(db: str | None = None) -> tuple[str | None, str]:
    """Migrate to the latest schema; returns (revision before, revision after)."""
    url = database_url(db)
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_file(path, create=True)
    engine = make_engine(url, foreign_keys=False)
    try:
        before = current_revision(engine)
        if before is None and set(inspect(engine).get_table_names()) - {"alembic_version"}:
            raise SchemaVersionError(schema_mismatch(url, None, head_revision()))
        if before is not None and before not in known_revisions():
            raise SchemaVersionError(schema_mismatch(url, before, head_revision()))
        from alembic import command

        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            dialect(connection).lock_schema(connection)
            command.upgrade(alembic_config(connection), "head")
        _use_wal(engine)
        return before, current_revision(engine) or ""
    except DBAPIError as error:
        raise _connection_problem(url, error) from None
    finally:
        engine.dispose()


# ---- transactions ------------------------------------------------------------------------------


def session_factory(engine: Engine, writes: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``writes=True`` for the ones that open write transactions."""
    bind = engine.execution_options(**{WRITE_OPTION: True}) if writes else engine
    return sessionmaker(bind, expire_on_commit=False)


def with_retry(
    operation: Callable[[], T],
    database: Dialect | None = None,
    attempts: int = 10,
    base_delay: float = 0.05,
) -> T:
    """Run a short transaction again, with jittered exponential backoff, while it fails with an
    error the database calls transient (SQLite busy or locked; PostgreSQL 40001, 40P01)."""
    checker = database or dialect_of("sqlite")
    for attempt in range(attempts):
        try:
            return operation()
        except (DBAPIError, sqlite3.OperationalError) as error:  # the latter: raw connections
            if not checker.is_retryable(error) or attempt == attempts - 1:
                raise
        time.sleep(min(base_delay * 2**attempt, 2.0) * (1 + random.random()))
    raise AssertionError("unreachable")


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One short write transaction: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session

"""The private PostgreSQL the tests start: a real server SQLAlchemy and the store can use."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from mtlx.store.database import current_revision, head_revision, open_database


@pytest.fixture
def engine(postgresql_url: str) -> Engine:
    engine = create_engine(postgresql_url)
    yield engine
    engine.dispose()


def test_sqlalchemy_connects_through_psycopg_and_creates_a_table(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE runs (id SERIAL PRIMARY KEY, lr DOUBLE PRECISION)"))
        connection.execute(text("INSERT INTO runs (lr) VALUES (0.001), (0.01)"))
    with engine.connect() as connection:
        lrs = connection.execute(text("SELECT lr FROM runs ORDER BY id")).scalars().all()
        version = connection.execute(text("SHOW server_version_num")).scalar_one()
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    assert lrs == [0.001, 0.01]
    assert int(version) >= 150000
    assert inspect(engine).get_table_names() == ["runs"]


def test_two_connections_see_each_others_commits_and_nothing_before(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE beats (worker TEXT)"))
    with engine.connect() as first, engine.connect() as second:

        def seen_by(connection) -> list[str]:  # type: ignore[no-untyped-def]
            rows = connection.execute(text("SELECT worker FROM beats ORDER BY worker"))
            connection.commit()  # end the read's transaction: the next read sees new commits
            return rows.scalars().all()

        first.execute(text("INSERT INTO beats VALUES ('first')"))
        assert seen_by(second) == []  # not committed yet
        first.commit()
        assert seen_by(second) == ["first"]
        second.execute(text("INSERT INTO beats VALUES ('second')"))
        second.commit()
        assert seen_by(first) == ["first", "second"]


def test_each_database_is_fresh_and_empty(postgresql_server, postgresql_url: str) -> None:
    other_name = postgresql_server.create_database()
    try:
        other = postgresql_server.url(other_name)
        engines = [create_engine(postgresql_url), create_engine(other)]
        with engines[0].begin() as connection:
            connection.execute(text("CREATE TABLE only_here (x INTEGER)"))
        assert other != postgresql_url
        assert [inspect(engine).get_table_names() for engine in engines] == [["only_here"], []]
        for engine in engines:
            engine.dispose()
    finally:
        postgresql_server.drop_database(other_name)


def test_open_database_creates_the_mtlx_schema(postgresql_url: str) -> None:
    engine = open_database(postgresql_url)
    try:
        assert current_revision(engine) == head_revision()
        assert {"runs", "epoch_metrics"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_store_url_is_a_fresh_database_of_its_dialect(
    store_url: str, request: pytest.FixtureRequest
) -> None:
    engine = open_database(store_url)
    try:
        assert engine.dialect.name == request.node.callspec.params["store_url"]
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()

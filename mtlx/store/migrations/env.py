"""Alembic environment: migrations run on the connection mtlx hands over (``mtlx db upgrade``)."""

from alembic import context

from mtlx.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite can only alter tables by copying them
)
with context.begin_transaction():
    context.run_migrations()

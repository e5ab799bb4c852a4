"""Alembic environment: always runs on the connection `shared.archive.migrate` hands over."""

from __future__ import annotations

from alembic import context

from shared.archive.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through shared.archive.migrate (phoenix db upgrade), not the alembic command")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: batch mode copies the table instead
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

"""Alembic environment: runs on the connection ionstack hands over (see store/database.py)."""

from __future__ import annotations

from alembic import context

from ionstack.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - ionstack always passes a connection
    raise RuntimeError("run migrations through `ionstack migrate`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

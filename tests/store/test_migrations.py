"""Migrations on both databases: the schema they build is the models', and racing processes
migrate once. Each test runs on SQLite and on the real PostgreSQL the suite starts; none
returns early on either (a PostgreSQL the suite cannot start is an error, not a pass)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from ionstack.store.database import (
    current_revision,
    head_revision,
    is_migrated,
    make_engine,
    migrate,
)
from ionstack.store.tables import Base

DIALECT = {"sqlite": "sqlite", "postgres": "postgresql"}


def _dialect_of_this_run(request: pytest.FixtureRequest, engine: Engine) -> None:
    """The engine is the database this parameter names (never a silent fallback)."""
    kind = request.node.callspec.params["database_url"]
    assert engine.dialect.name == DIALECT[kind], (kind, engine.url)


def test_migrate_builds_the_models_schema_and_is_idempotent(
    database_url: str, request: pytest.FixtureRequest
) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        _dialect_of_this_run(request, engine)
        assert current_revision(engine) is None
        migrate(engine)
        migrate(engine)  # a second start changes nothing
        assert is_migrated(engine)
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        # What the migrations built is what the models describe: columns, types,
        # nullability, indexes and constraints (Alembic's autogenerate comparison).
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_processes_starting_at_once_migrate_exactly_once(
    database_url: str, request: pytest.FixtureRequest
) -> None:
    # Replicas and workers all migrate at start (PostgreSQL: under an advisory lock; SQLite:
    # under its write lock). Without the lock they race to create the same tables.
    racers = 4
    engines = [make_engine(database_url, pool_size=1, max_overflow=0) for _ in range(racers)]
    start = threading.Barrier(racers)
    errors: list[BaseException] = []

    def race(engine: Engine) -> None:
        try:
            start.wait(timeout=30)
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    try:
        _dialect_of_this_run(request, engines[0])
        threads = [threading.Thread(target=race, args=(e,), daemon=True) for e in engines]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60  # a migration takes about a second
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        stuck = sum(t.is_alive() for t in threads)
        assert stuck == 0, f"{stuck} of {racers} migrations still running after 60 s"
        assert errors == []
        assert current_revision(engines[0]) == head_revision()
    finally:
        for e in engines:
            e.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    # SQLite only (PostgreSQL has no such mode): API and workers share the file.
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}", pool_size=1, max_overflow=0)
    try:
        migrate(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()

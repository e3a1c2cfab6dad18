from __future__ import annotations

from sqlalchemy import Engine, inspect

from ionstack.store.database import (
    current_revision,
    head_revision,
    is_migrated,
    make_engine,
    migrate,
)


def test_migrate_creates_every_table_and_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        migrate(engine)  # a second start changes nothing
        assert is_migrated(engine)
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {
            "organizations",
            "users",
            "projects",
            "project_members",
            "api_keys",
            "characterizations",
        } <= tables
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

"""Engine, sessions and migrations for SQLite (embedded) and PostgreSQL (scale-out).

SQLite runs in WAL mode with a busy timeout so API and worker processes can share the file.
Migrations are Alembic's, applied programmatically under a lock (PostgreSQL advisory lock;
SQLite's own write lock) so several processes starting at once migrate exactly once.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
#: arbitrary constant: the PostgreSQL advisory lock taken while migrating
_MIGRATION_LOCK = 0x10_57AC


def json_text(value: Any) -> str:
    """JSON columns are written with orjson (results can hold 2^20 outcomes): compact, keys
    turned to strings. What orjson cannot write (integers past 64 bits, which a submitted
    circuit may hold) is written by the standard library."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


#: an integer of 19 digits or more (possibly past 64 bits), not part of a decimal fraction
_LONG_INT = re.compile(rb"(?<![0-9.])[0-9]{19,}(?![0-9.eE])")


def json_value(text: str | bytes) -> Any:
    """JSON columns are read with orjson, except text holding an integer orjson would turn into
    a float (past 64 bits): the standard library keeps it exact."""
    raw = text.encode() if isinstance(text, str) else text
    if _LONG_INT.search(raw):
        return json.loads(raw)
    return orjson.loads(raw)


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 20,
    sqlite_synchronous: str = "FULL",
) -> Engine:
    """An engine for ``url`` with the settings each database needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=max_overflow,
            json_serializer=json_text,
            json_deserializer=json_value,
        )
        _configure_sqlite(engine, synchronous=sqlite_synchronous)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        json_serializer=json_text,
        json_deserializer=json_value,
    )


def _configure_sqlite(engine: Engine, *, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control so BEGIN IMMEDIATE works (pysqlite's legacy mode
        # would otherwise begin lazily and defer the write lock).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


#: ``Session.info`` key of the SQLite write lock shared by one sessionmaker's sessions
WRITE_LOCK = "ionstack_write_lock"


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``. On SQLite the sessions of one factory also share a write lock:
    a process's threads queue for it and are woken as soon as it is free, rather than each
    sleeping in SQLite's busy handler (1 ms … 100 ms back-off) while another thread writes."""
    info: dict[str, Any] = {}
    if engine.dialect.name == "sqlite":
        info[WRITE_LOCK] = threading.RLock()
    return sessionmaker(engine, expire_on_commit=False, info=info)


def _alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str | None:
    """The newest migration shipped with this install (read once: the files do not change)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent, safe to race)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            try:
                conn.commit()
                command.upgrade(_alembic_config(conn), "head")
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()
        return
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
        with conn.begin():
            command.upgrade(_alembic_config(conn), "head")


def is_migrated(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = False) -> Iterator[Session]:
    """A session in one transaction, committed on success and rolled back on error.

    ``write=True`` takes SQLite's write lock at BEGIN (``BEGIN IMMEDIATE``), so read-then-write
    transactions never fail to upgrade their lock; PostgreSQL ignores it.
    """
    lock: threading.RLock | None = (factory.kw.get("info") or {}).get(WRITE_LOCK) if write else None
    if lock is not None:
        lock.acquire()
    try:
        session = factory()
        if write:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
    finally:
        if lock is not None:
            lock.release()

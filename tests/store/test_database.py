"""The SQLite write path: threads of one process queue for the write lock in Python instead of
sleeping in SQLite's busy handler."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from ionstack.store.database import make_engine, make_sessionmaker, transaction


def test_sqlite_writers_in_one_process_never_meet_the_busy_handler(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", pool_size=8, max_overflow=0)

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        # after ionstack's own connect hook: a writer that finds the file locked fails at once
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    sessions = make_sessionmaker(engine)
    with transaction(sessions, write=True) as db:
        db.execute(text("CREATE TABLE t (n INTEGER)"))
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for i in range(20):
                with transaction(sessions, write=True) as db:
                    db.execute(text("INSERT INTO t VALUES (:n)"), {"n": k * 100 + i})
                    time.sleep(0.001)  # hold the lock a moment, as a real write does
        except BaseException as exc:  # "database is locked" without the shared lock
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:1]
    with transaction(sessions) as db:
        assert db.execute(text("SELECT count(*) FROM t")).scalar_one() == 160
    engine.dispose()

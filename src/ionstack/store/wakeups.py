"""Wake-ups: how one process tells others that something happened to the jobs table.

Workers sleep until a submission wakes them; the API server's submissions send the wake-up.
PostgreSQL: ``LISTEN``/``NOTIFY`` (works across machines); SQLite: datagrams on Unix sockets in
a directory beside the database file (one socket per listening process); an in-memory database:
a thread event. Every listener also polls slowly, so a lost wake-up only delays.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import uuid
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

CHANNEL = "ionstack_jobs"


class Wakeup(Protocol):
    """Tells sleeping workers that a job was submitted."""

    def notify(self) -> None: ...

    def wait(self, timeout: float) -> None: ...

    def close(self) -> None: ...


def wakeup_for(engine: Engine, *, listen: bool) -> Wakeup:
    """The wake-up channel of this database; ``listen=True`` on the worker side."""
    if engine.dialect.name == "postgresql":
        return PostgresWakeup(engine, listen=listen)
    database = make_url(str(engine.url)).database or ""
    if database and database != ":memory:":
        return SocketWakeup(Path(database).resolve().parent / "ionstack-wakeup", listen=listen)
    return ThreadWakeup()


class ThreadWakeup:
    """In-process wake-ups (tests, in-memory databases)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def notify(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> None:
        self._event.wait(timeout)
        self._event.clear()

    def close(self) -> None:
        self._event.set()


class SocketWakeup:
    """Unix datagram sockets in a directory beside the SQLite file: one per listening worker."""

    def __init__(self, directory: Path, *, listen: bool) -> None:
        self.directory = directory
        self._sock: socket.socket | None = None
        self._path: Path | None = None
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        if listen:
            directory.mkdir(parents=True, exist_ok=True)
            self._path = directory / f"w-{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.bind(str(self._path))

    def notify(self) -> None:
        if not self.directory.is_dir():
            return
        for path in self.directory.glob("w-*.sock"):
            try:
                self._sender.sendto(b"j", str(path))
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    path.unlink()  # a worker that died without cleaning up
            except (BlockingIOError, OSError):
                pass  # its buffer is full: it has plenty of wake-ups queued already

    def wait(self, timeout: float) -> None:
        if self._sock is None:
            return
        ready, _, _ = select.select([self._sock], [], [], timeout)
        if ready:
            self._drain()

    def _drain(self) -> None:
        assert self._sock is not None
        self._sock.setblocking(False)
        try:
            while True:
                self._sock.recv(16)
        except BlockingIOError:
            pass
        finally:
            self._sock.setblocking(True)

    def close(self) -> None:
        self._sender.close()
        if self._sock is not None:
            self._sock.close()
            if self._path is not None:
                with contextlib.suppress(OSError):
                    self._path.unlink()


class PostgresWakeup:
    """``LISTEN``/``NOTIFY`` on a dedicated connection."""

    def __init__(self, engine: Engine, *, listen: bool) -> None:
        self._engine = engine
        self._conn: Any = None
        if listen:
            import psycopg

            url = engine.url.set(drivername="postgresql")
            dsn = url.render_as_string(hide_password=False)
            self._conn = psycopg.connect(dsn, autocommit=True)
            self._conn.execute(f"LISTEN {CHANNEL}")

    def notify(self) -> None:
        with self._engine.connect() as conn:
            conn.execute(text("SELECT pg_notify(:c, '')"), {"c": CHANNEL})
            conn.commit()

    def wait(self, timeout: float) -> None:
        if self._conn is None:
            return
        for _ in self._conn.notifies(timeout=timeout, stop_after=1):
            break
        # drain what else arrived meanwhile
        for _ in self._conn.notifies(timeout=0):
            pass

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

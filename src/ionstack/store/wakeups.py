"""Wake-ups: how one process tells others that something happened to the jobs table.

Two signals travel this way:

- **submitted** (:meth:`Wakeup.notify`): workers sleep until a submission wakes them; the API
  server sends it after committing a new job.
- **finished** (:meth:`Wakeup.finished`): the ids of jobs that reached a final state (completed,
  failed, canceled), sent by whoever committed it (a worker, or the API for a cancel). API
  processes listen for it with :class:`Completions`, which releases the status polls held for
  those jobs (``GET /jobs/{id}``, README "Jobs").

PostgreSQL: ``LISTEN``/``NOTIFY`` (works across machines); SQLite: datagrams on Unix sockets in
a directory beside the database file (one socket per listening process: ``w-*.sock`` for
workers, ``d-*.sock`` for API processes); an in-memory database: nothing crosses processes.
Every signal is sent after its transaction committed, so what it announces is durable; every
listener also re-reads the database on a slow timer, so a lost signal only delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import socket
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

CHANNEL = "ionstack_jobs"
#: the channel of finished jobs (payload: comma-separated job ids)
DONE_CHANNEL = "ionstack_done"
#: ids per datagram or NOTIFY payload (36 characters each; PostgreSQL's payload limit is 8000 B)
_IDS_PER_MESSAGE = 100
#: how long a finished-job datagram may wait for room in a listener's queue (its event loop
#: drains it; past this the signal is dropped and the listener's timer catches up)
_DONE_SEND_TIMEOUT_S = 0.05


class Wakeup(Protocol):
    """Tells sleeping workers that a job was submitted."""

    def notify(self) -> None: ...

    def finished(self, job_ids: Iterable[str | None]) -> None:
        """Announce jobs that reached a final state (after the commit); ``None`` is skipped."""
        ...

    def wait(self, timeout: float) -> None: ...

    def close(self) -> None: ...


def _chunks(job_ids: Iterable[str | None]) -> Iterator[str]:
    unique = sorted({i for i in job_ids if i})
    for start in range(0, len(unique), _IDS_PER_MESSAGE):
        yield ",".join(unique[start : start + _IDS_PER_MESSAGE])


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

    def finished(self, job_ids: Iterable[str | None]) -> None:
        pass  # nothing listens across processes on an in-memory database

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
        self._done_sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._done_sender.settimeout(_DONE_SEND_TIMEOUT_S)
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

    def finished(self, job_ids: Iterable[str | None]) -> None:
        messages = [m.encode() for m in _chunks(job_ids)]
        if not messages or not self.directory.is_dir():
            return
        for path in self.directory.glob("d-*.sock"):
            for message in messages:
                try:
                    self._done_sender.sendto(message, str(path))
                except (ConnectionRefusedError, FileNotFoundError):
                    with contextlib.suppress(OSError):
                        path.unlink()  # an API process that died without cleaning up
                    break
                except OSError:
                    break  # its queue stayed full: its timer re-reads the jobs

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
        self._done_sender.close()
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

    def finished(self, job_ids: Iterable[str | None]) -> None:
        messages = list(_chunks(job_ids))
        if not messages:
            return
        with self._engine.connect() as conn:
            for message in messages:
                conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": DONE_CHANNEL, "p": message})
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


# --- held polls: the API side of "finished" ----------------------------------------------------


class Completions:
    """Releases the status polls an API process holds, when their jobs finish.

    One per API process, started in its event loop. ``watch(job_id)`` registers an
    :class:`asyncio.Event` that is set when a finished-job signal names the job; the caller
    re-reads the job then (and on its own timer, in case a signal was lost). No thread is held
    per waiting request: the listener is a reader callback (SQLite) or one task (PostgreSQL).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None
        self._path: Path | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._engine.dialect.name == "postgresql":
            self._task = self._loop.create_task(self._listen_postgres(), name="completions")
            return
        database = make_url(str(self._engine.url)).database or ""
        if not database or database == ":memory:":
            return
        directory = Path(database).resolve().parent / "ionstack-wakeup"
        directory.mkdir(parents=True, exist_ok=True)
        self._path = directory / f"d-{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(self._path))
        sock.setblocking(False)
        self._sock = sock
        self._loop.add_reader(sock.fileno(), self._on_datagrams)

    async def stop(self) -> None:
        self._stopping = True
        if self._sock is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
            if self._path is not None:
                with contextlib.suppress(OSError):
                    self._path.unlink()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self._release_all()

    @contextlib.contextmanager
    def watch(self, job_id: str) -> Iterator[asyncio.Event]:
        """An event set when ``job_id`` is announced finished (register before reading)."""
        event = asyncio.Event()
        self._waiters.setdefault(job_id, set()).add(event)
        try:
            yield event
        finally:
            events = self._waiters.get(job_id)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiters[job_id]

    def _release(self, payload: str) -> None:
        for job_id in payload.split(","):
            for event in self._waiters.get(job_id, ()):
                event.set()

    def _on_datagrams(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._release(data.decode("ascii", errors="replace"))

    async def _listen_postgres(self) -> None:
        import psycopg

        url = self._engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        delay = 0.5
        while not self._stopping:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {DONE_CHANNEL}")
                    delay = 0.5
                    # jobs that finished while we were (re)connecting: wake every waiter once
                    self._release_all()
                    async for note in conn.notifies():
                        self._release(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._stopping:
                    return
                logger.warning(
                    "finished-job listener lost its connection; reconnecting in %.1f s",
                    delay,
                    exc_info=True,
                    extra={"action": "completions_reconnect"},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _release_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()

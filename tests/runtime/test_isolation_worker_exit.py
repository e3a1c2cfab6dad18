"""A worker that stops while its job runs in a child process leaves no child behind
(runtime/isolation.py).

Standalone ``ionstack worker`` processes isolating every job estimated at 4 MiB or more; the
job is one long qsim call (a 24-qubit circuit of 3840 gates, about half a minute):

- SIGTERM (shutdown): the worker kills the child and releases the job (back to ``ready``, the
  attempt not counted), then exits cleanly;
- SIGKILL of the worker alone (the kernel's OOM killer picking it, say) while the child is
  inside qsim's call (which holds the GIL): its fork server exits and the kernel kills the
  child with it (``PR_SET_PDEATHSIG``), rather than letting it compute on unowned.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from ionstack.store.database import make_engine, make_sessionmaker, transaction
from ionstack.store.tables import Job
from support.processes import LONG_24, gone, job_child, parent, resident
from support.server import Server, start_worker, submit, wait_for_status

SERVER_WORKERS = 0
SERVER_ENV = {
    "IONSTACK_POLL_HOLD_S": "0",
    "IONSTACK_LEASE_SECONDS": "1.5",
    "IONSTACK_ISOLATE_ABOVE_BYTES": str(4 << 20),
}


@pytest.fixture
def db(server: Server) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(server.env["IONSTACK_DATABASE_URL"], pool_size=1, max_overflow=0)
    yield make_sessionmaker(engine)
    engine.dispose()


def _started_child(client: httpx.Client, db: sessionmaker[Session], job_id: str) -> int:
    wait_for_status(client, job_id, ("started",))
    with transaction(db) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.worker_id is not None
        return job_child(int(job.worker_id.rsplit("-", 2)[1]))


def _attempts(db: sessionmaker[Session], job_id: str) -> int:
    with transaction(db) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.attempts


@pytest.fixture
def workers(server: Server) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:  # the whole group: a child left behind by a failed test too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_shutdown_kills_the_child_and_releases_the_job(
    server: Server,
    client: httpx.Client,
    db: sessionmaker[Session],
    workers: list[subprocess.Popen[bytes]],
) -> None:
    workers.append(start_worker(server, log_name="worker-term.log"))
    job_id = submit(client, LONG_24)
    child = _started_child(client, db, job_id)
    workers[0].send_signal(signal.SIGTERM)
    assert workers[0].wait(timeout=30) == 0
    assert gone(child), "the child still runs"
    assert client.get(f"/jobs/{job_id}").json()["status"] == "ready"
    assert _attempts(db, job_id) == 0  # a released run does not count
    client.put(f"/jobs/{job_id}/status/cancel")


def test_a_killed_worker_leaves_no_child(
    server: Server,
    client: httpx.Client,
    db: sessionmaker[Session],
    workers: list[subprocess.Popen[bytes]],
) -> None:
    workers.append(start_worker(server, log_name="worker-kill.log"))
    job_id = submit(client, LONG_24)
    child = _started_child(client, db, job_id)
    server = parent(child)
    deadline = time.monotonic() + 60
    while resident(child) < 192 << 20:  # its 128 MiB state is allocated: qsim is running
        assert time.monotonic() < deadline, "the child never allocated its state"
        time.sleep(0.01)
    os.kill(workers[0].pid, signal.SIGKILL)  # the worker alone, not its process group
    workers[0].wait()
    assert gone(child), "the child outlived its worker"
    assert gone(server), "the fork server outlived its worker"
    client.put(f"/jobs/{job_id}/status/cancel")

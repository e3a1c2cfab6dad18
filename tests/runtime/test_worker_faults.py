"""Workers that die, shut down or lose their job: no job is lost or completed twice.

Emulated QPU jobs here take their predicted duration (a few seconds), so there is time to
kill, stop or cancel mid-run; leases are short so an abandoned job is taken over quickly.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from ionstack.store.database import make_engine, make_sessionmaker, transaction
from ionstack.store.tables import Job, JobResult
from support.server import LONG_QPU_JOB, Server, start_worker, submit, wait_for_job, wait_for_status

SERVER_WORKERS = 0
SERVER_ENV = {
    # these tests watch jobs start: status polls answer at once (held polls: test_held_polls.py)
    "IONSTACK_POLL_HOLD_S": "0",
    "IONSTACK_EMULATE_QPU_DURATION": "true",
    "IONSTACK_LEASE_SECONDS": "1.5",
}

LONG_JOB = LONG_QPU_JOB


@pytest.fixture
def workers(server: Server) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _row(server: Server, job_id: str) -> tuple[Job, int]:
    engine = make_engine(server.env["IONSTACK_DATABASE_URL"], pool_size=1, max_overflow=0)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            job = db.get(Job, job_id)
            assert job is not None
            count = db.scalar(
                select(func.count()).select_from(JobResult).where(JobResult.job_id == job_id)
            )
            return job, int(count or 0)
    finally:
        engine.dispose()


def test_killed_worker_job_is_completed_once_by_another(
    client: httpx.Client, server: Server, workers: list[subprocess.Popen[bytes]]
) -> None:
    workers.append(start_worker(server, log_name="worker-a.log"))
    job_id = submit(client, LONG_JOB)
    wait_for_status(client, job_id, ("started",))
    os.killpg(workers[0].pid, signal.SIGKILL)  # mid-job, no chance to clean up
    workers[0].wait()
    workers.append(start_worker(server, log_name="worker-b.log"))
    job = wait_for_job(client, job_id, timeout=60)
    assert job["status"] == "completed"
    hist = client.get(f"/jobs/{job_id}/results/histogram").json()
    assert sum(hist.values()) == 4000
    row, results = _row(server, job_id)
    assert row.attempts == 2  # the killed run, then the one that finished
    assert results == 1


def test_graceful_shutdown_releases_the_running_job(
    client: httpx.Client, server: Server, workers: list[subprocess.Popen[bytes]]
) -> None:
    workers.append(start_worker(server, log_name="worker-c.log"))
    job_id = submit(client, LONG_JOB)
    wait_for_status(client, job_id, ("started",))
    workers[0].send_signal(signal.SIGTERM)
    assert workers[0].wait(timeout=30) == 0
    assert client.get(f"/jobs/{job_id}").json()["status"] == "ready"
    row, _ = _row(server, job_id)
    assert row.attempts == 0  # a released run does not count
    workers.append(start_worker(server, log_name="worker-d.log"))
    assert wait_for_job(client, job_id, timeout=60)["status"] == "completed"


def test_cancelling_a_started_job_stops_it(
    client: httpx.Client, server: Server, workers: list[subprocess.Popen[bytes]]
) -> None:
    workers.append(start_worker(server, log_name="worker-e.log"))
    # 30 CNOTs × 600 µs × 10,000 shots: about three minutes of emulated QPU time
    very_long = dict(
        LONG_JOB,
        shots=10_000,
        input={
            "gateset": "qis",
            "qubits": 2,
            "circuit": [{"gate": "cnot", "control": 0, "target": 1}] * 30,
        },
    )
    job_id = submit(client, very_long)
    wait_for_status(client, job_id, ("started",))
    assert client.put(f"/jobs/{job_id}/status/cancel").status_code == 200
    assert client.get(f"/jobs/{job_id}").json()["status"] == "canceled"
    # The single worker lets go of it: the next job completes while the cancelled run would
    # still have minutes to go.
    quick = dict(LONG_JOB, backend="simulator", shots=10)
    follow = submit(client, quick)
    assert wait_for_job(client, follow, timeout=60)["status"] == "completed"
    final = client.get(f"/jobs/{job_id}").json()
    assert final["status"] == "canceled" and final["results"] is None
    _, results = _row(server, job_id)
    assert results == 0

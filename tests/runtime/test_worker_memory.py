"""A job whose memory estimate exceeds the limit fails cleanly through the worker (issue 16 §1).

``ionstack serve`` with one worker and ``IONSTACK_MEMORY_LIMIT_BYTES`` at 48 MiB: a 22-qubit
exact job (estimated ≈ 70 MiB, a 32 MiB state) and a 23-qubit noisy job (a 64 MiB state) fail
with ``SimulationError`` naming the memory, and the worker's peak resident memory does not grow
by a state's worth (the guard refuses before allocating); a 20-qubit exact job under the limit
(estimated ≈ 35 MiB) then completes on the same worker, and no worker process exits (the
supervisor logs every exit into the server's log).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from ionstack.store.database import make_engine, make_sessionmaker, transaction
from ionstack.store.tables import Job
from support.server import Server, submit, wait_for_job

LIMIT = 48 << 20
SERVER_WORKERS = 1
SERVER_ENV = {"IONSTACK_MEMORY_LIMIT_BYTES": str(LIMIT)}


def _job(qubits: int, gates: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "input": {"gateset": "qis", "qubits": qubits, "circuit": gates},
        **extra,
    }


def _ry_all(n: int) -> list[dict[str, Any]]:
    return [{"gate": "ry", "targets": list(range(n)), "rotation": 0.3}]


BELL = _job(2, [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}])
EXACT_22 = _job(22, _ry_all(22))
NOISY_23 = _job(23, _ry_all(23), shots=100, noise={"model": "aria-1", "seed": 3})
EXACT_20 = _job(20, [{"gate": "h", "targets": [0, 7, 19]}])


@pytest.fixture
def db(server: Server) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(server.env["IONSTACK_DATABASE_URL"], pool_size=1, max_overflow=0)
    yield make_sessionmaker(engine)
    engine.dispose()


def _worker_peak(db: sessionmaker[Session], job_id: str) -> int:
    """``VmHWM`` of the worker process that ran the job (worker ids: host-pid-random)."""
    with transaction(db) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.worker_id is not None
        pid = int(job.worker_id.rsplit("-", 2)[1])
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_job_over_the_memory_limit_fails_cleanly_and_the_worker_goes_on(
    server: Server, client: httpx.Client, db: sessionmaker[Session]
) -> None:
    warm = submit(client, BELL)
    assert wait_for_job(client, warm)["status"] == "completed"
    before = _worker_peak(db, warm)
    for body, state in ((EXACT_22, 32 << 20), (NOISY_23, 64 << 20)):
        job_id = submit(client, body)
        job = wait_for_job(client, job_id)
        assert job["status"] == "failed", job
        failure: Any = job["failure"]
        assert failure["code"] == "SimulationError", failure
        assert "GiB of memory; the limit is 0.0469 GiB" in failure["message"], failure
        grown = _worker_peak(db, job_id) - before
        assert grown < state // 2, f"the worker's peak grew by {grown >> 20} MiB"
    fits = submit(client, EXACT_20)
    job = wait_for_job(client, fits)
    assert job["status"] == "completed", job
    probabilities = client.get(f"/jobs/{fits}/results/probabilities").json()
    assert len(probabilities) == 8 and sum(probabilities.values()) == pytest.approx(1.0)
    log = server.log_path.read_text(errors="replace")
    assert "worker process exited" not in log, log[-3000:]

"""A job that killed its worker is failed, not retried into the next kill (issue 16 §1).

Standalone workers on one host share the host memory budget. A large job runs (it holds a
reservation named after it); its worker is SIGKILLed mid-run, as the kernel's OOM killer
would. When the lease expires, the next worker finds the dead worker's reservation for that
job — evidence that the job took a large share of the host's memory when its worker died — and
fails it with ``SimulationError`` instead of running it again. A small job whose worker is
killed is still retried (no such evidence): tests/runtime/test_worker_faults.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ionstack.quantum.circuit import parse_input
from ionstack.quantum.simulate import footprint
from support.server import Server, start_worker, submit, wait_for_job

SERVER_WORKERS = 0

#: 23 qubits, 40 layers of ry and a cnot ring: a ~100 MiB state run for a few seconds
LAYERS = [
    gate
    for layer in range(40)
    for gate in (
        {"gate": "ry", "targets": list(range(23)), "rotation": 0.1 + layer / 50},
        *({"gate": "cnot", "control": q, "target": (q + 1) % 23} for q in range(23)),
    )
]
BIG: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "input": {"gateset": "qis", "qubits": 23, "circuit": LAYERS},
}
ESTIMATE = footprint(
    parse_input(BIG["input"], job_type="ionq.circuit.v1")[0], shots=None, noise=None
).peak
SERVER_ENV = {
    "IONSTACK_POLL_HOLD_S": "0",
    "IONSTACK_LEASE_SECONDS": "1.5",
    "IONSTACK_HOST_MEMORY_BYTES": str(int(2 * ESTIMATE)),  # the job holds half of it
}


@pytest.fixture
def workers(server: Server) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _reservation(server: Server, job_id: str, *, timeout: float = 60) -> Path:
    directory = Path(server.env["IONSTACK_DATA_DIR"]) / "memory"
    deadline = time.monotonic() + timeout
    while True:
        found = list(directory.glob(f"*_{job_id}_*.reservation"))
        if found:
            return found[0]
        assert time.monotonic() < deadline, "the job never reserved its memory"
        time.sleep(0.01)


def test_a_job_whose_worker_died_holding_much_memory_fails(
    client: httpx.Client, server: Server, workers: list[subprocess.Popen[bytes]]
) -> None:
    assert ESTIMATE > 64 << 20
    workers.append(start_worker(server, log_name="worker-a.log"))
    job_id = submit(client, BIG)
    reservation = _reservation(server, job_id)
    assert int(reservation.name.partition("_")[0]) == workers[0].pid
    os.killpg(workers[0].pid, signal.SIGKILL)  # the OOM killer, say
    workers[0].wait()
    workers.append(start_worker(server, log_name="worker-b.log"))
    job = wait_for_job(client, job_id, timeout=120)
    assert job["status"] == "failed", job
    failure = job["failure"]
    assert isinstance(failure, dict)
    assert failure["code"] == "SimulationError"
    assert "killed" in failure["message"] and "not retried" in failure["message"]
    # the next job runs normally on the second worker
    bell = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
    small = submit(client, {**BIG, "input": {"gateset": "qis", "qubits": 2, "circuit": bell}})
    assert wait_for_job(client, small)["status"] == "completed"

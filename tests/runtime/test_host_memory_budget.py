"""The workers of one host share one memory budget (issue 16 §1; quantum/budget.py).

``ionstack serve`` with two workers and ``IONSTACK_HOST_MEMORY_BYTES`` at 1.5 times one job's
estimate. The test process takes part in the same budget (it is a process of the same host):
while it holds most of the budget, a large job waits for memory — it is ``started`` and its
worker logs ``memory_wait`` — and it runs to completion as soon as the memory is released. A
second large job, submitted while the first waits, also completes once there is room.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from ionstack.quantum.budget import HostBudget
from ionstack.quantum.circuit import parse_input
from ionstack.quantum.simulate import footprint
from support.server import Server, submit, wait_for_job, wait_for_status

SERVER_WORKERS = 2


def _job(angle: float) -> dict[str, Any]:
    return {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "input": {
            "gateset": "qis",
            "qubits": 23,
            "circuit": [{"gate": "ry", "targets": list(range(23)), "rotation": angle}],
        },
    }


ESTIMATE = footprint(
    parse_input(_job(0.3)["input"], job_type="ionq.circuit.v1")[0], shots=None, noise=None
).peak
TOTAL = int(1.5 * ESTIMATE)
SERVER_ENV = {
    "IONSTACK_HOST_MEMORY_BYTES": str(TOTAL),
    "IONSTACK_LOG_LEVEL": "info",
    "IONSTACK_POLL_HOLD_S": "0",
}


def _waits(server: Server) -> list[str]:
    """The worker log lines of runs that waited for the host's memory."""
    return [
        line
        for path in sorted(server.log_path.parent.glob("*.log"))
        for line in path.read_text(errors="replace").splitlines()
        if "ionstack.quantum.budget: waiting for memory" in line
    ]


def _until_waits(server: Server, count: int, *, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(found := _waits(server)) < count:
        assert time.monotonic() < deadline, f"{len(found)} memory waits logged, not {count}"
        time.sleep(0.05)
    return found


def test_a_large_job_waits_for_the_hosts_memory(client: httpx.Client, server: Server) -> None:
    assert ESTIMATE > 64 << 20  # large enough to reserve (budget.MIN_RESERVED_BYTES)
    before = len(_waits(server))
    budget = HostBudget(Path(server.env["IONSTACK_DATA_DIR"]) / "memory", total_bytes=TOTAL)
    with budget.reserve(ESTIMATE, check=lambda: None):  # another run of this host, say
        first = submit(client, _job(0.3))
        wait_for_status(client, first, ("started",))
        waits = _until_waits(server, before + 1)
        assert f"{ESTIMATE / 2**30:.3g} GiB needed" in waits[-1]
        second = submit(client, _job(0.4))
        wait_for_status(client, second, ("started",))
        _until_waits(server, before + 2)  # the other worker waits too
        assert client.get(f"/jobs/{first}").json()["status"] == "started"  # still waiting
    done = [wait_for_job(client, job_id, timeout=300) for job_id in (first, second)]
    assert [j["status"] for j in done] == ["completed", "completed"], done

"""Two workers of one host share one memory budget (issue 16 §1; quantum/budget.py).

``ionstack serve`` with two workers and ``IONSTACK_HOST_MEMORY_BYTES`` at 1.5 times one job's
estimate: two such jobs submitted together both complete, but not at once — one of them waits
for the other's memory (the worker logs ``memory_wait``), where without the shared budget each
worker's own limit would have let both start.
"""

from __future__ import annotations

from typing import Any

import httpx

from ionstack.quantum.circuit import parse_input
from ionstack.quantum.simulate import footprint
from support.server import Server, submit, wait_for_job

SERVER_WORKERS = 2


def _job(seed_angle: float) -> dict[str, Any]:
    return {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "input": {
            "gateset": "qis",
            "qubits": 23,
            "circuit": [{"gate": "ry", "targets": list(range(23)), "rotation": seed_angle}],
        },
    }


ESTIMATE = footprint(
    parse_input(_job(0.3)["input"], job_type="ionq.circuit.v1")[0], shots=None, noise=None
).peak
SERVER_ENV = {"IONSTACK_HOST_MEMORY_BYTES": str(int(1.5 * ESTIMATE)), "IONSTACK_LOG_LEVEL": "info"}


def _waits(server: Server) -> list[str]:
    """The worker log lines of runs that waited for the host's memory."""
    return [
        line
        for path in sorted(server.log_path.parent.glob("*.log"))
        for line in path.read_text(errors="replace").splitlines()
        if "ionstack.quantum.budget: waiting for memory" in line
    ]


def test_two_large_jobs_on_two_workers_do_not_run_at_once(
    client: httpx.Client, server: Server
) -> None:
    assert ESTIMATE > 64 << 20  # large enough to reserve (budget.MIN_RESERVED_BYTES)
    before = len(_waits(server))
    jobs = [submit(client, _job(angle)) for angle in (0.3, 0.4)]
    done = [wait_for_job(client, job_id, timeout=300) for job_id in jobs]
    assert [j["status"] for j in done] == ["completed", "completed"], done
    waits = _waits(server)[before:]
    assert len(waits) == 1, waits  # the second to start waited for the first
    assert f"{ESTIMATE / 2**30:.3g} GiB needed" in waits[0]

"""A standalone ``ionstack worker --metrics-port`` (say on a compute machine) serves its own
job run times and heartbeat, which the API's ``/metrics`` cannot see."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from support.postgres import free_port
from support.server import Server, start_worker, submit, wait_for_job

SERVER_WORKERS = 0  # the API alone: only the standalone worker below runs jobs

BELL_JOB = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "shots": 100,
    "input": {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}


def _scrape(
    url: str, *, timeout: float = 30
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            text = httpx.get(url, timeout=5).text
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_standalone_worker_serves_its_metrics(server: Server, client: httpx.Client) -> None:
    port = free_port()
    worker = start_worker(server, log_name="metrics-worker.log", args=("--metrics-port", str(port)))
    try:
        ids = [submit(client, BELL_JOB) for _ in range(3)]
        assert all(wait_for_job(client, i)["status"] == "completed" for i in ids)
        samples = _scrape(f"http://127.0.0.1:{port}/metrics")
        key = (
            "ionstack_job_run_seconds_count",
            (("backend", "simulator"), ("outcome", "completed")),
        )
        assert samples[key] == 3
        seen = [
            v for (name, _), v in samples.items() if name.startswith("ionstack_worker_last_seen")
        ]
        assert seen and abs(max(seen) - time.time()) < 120
    finally:
        worker.terminate()
        worker.wait(timeout=30)

"""``/metrics`` of a real server with one worker process, parsed with prometheus_client's parser.

The request counters are written by the API process and the run-time histogram by the worker
process (multiprocess mode); the job, queue and lease gauges are read from the database at
scrape time. Each test checks the series against what it just did.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.server import BOOTSTRAP_KEY, Server, server_env, submit, wait_for_job, wait_for_status

SERVER_WORKERS = 1
SERVER_ENV = {"IONSTACK_EMULATE_QPU_DURATION": "true"}

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
BELL_JOB: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
}
#: 40 CNOTs on forte-1 at 10,000 shots: minutes of emulated QPU time (cancel stops it at once)
HOLDER: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "qpu.forte-1",
    "shots": 10000,
    "settings": {"error_mitigation": {"debiasing": False}},
    "input": {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}]
        + [{"gate": "cnot", "control": 0, "target": 1}] * 40,
    },
}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: Server, **headers: str) -> Samples:
    response = httpx.get(f"{server.root}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series does not exist (a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def test_request_counters_and_latency_by_route_template_and_status(
    server: Server, client: httpx.Client, anonymous: httpx.Client
) -> None:
    before = scrape(server)
    job_id = submit(client, BELL_JOB)
    wait_for_job(client, job_id)
    gets = 1 + 3  # at least one poll by wait_for_job, three by hand
    for _ in range(3):
        assert client.get(f"/jobs/{job_id}").status_code == 200
    assert anonymous.get(f"/jobs/{job_id}").status_code == 401
    assert client.get("/no/such/path").status_code == 404
    after = scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "ionstack_http_requests_total"
    assert delta(total, method="POST", route="/v0.4/jobs", status="201") == 1
    # wait_for_job polled at least once; the three GETs by hand on top, all by one template
    assert delta(total, method="GET", route="/v0.4/jobs/{UUID}", status="200") >= gets
    assert delta(total, method="GET", route="/v0.4/jobs/{UUID}", status="401") == 1
    assert delta(total, method="GET", route="unmatched", status="404") == 1
    # no series is labelled with a raw job id
    assert not any(job_id in str(labels) for labels in series(after, total))
    # the latency histogram counted every request of the route, whatever its status
    count = "ionstack_http_request_duration_seconds_count"
    hist = delta(count, method="GET", route="/v0.4/jobs/{UUID}")
    assert hist == delta(total, method="GET", route="/v0.4/jobs/{UUID}", status="200") + 1
    inf = value(
        after,
        "ionstack_http_request_duration_seconds_bucket",
        method="POST",
        route="/v0.4/jobs",
        le="+Inf",
    )
    assert inf == value(after, count, method="POST", route="/v0.4/jobs")


def test_jobs_by_status_and_backend_and_the_workers_run_times(
    server: Server, client: httpx.Client
) -> None:
    before = scrape(server)
    done = [wait_for_job(client, submit(client, BELL_JOB)) for _ in range(2)]
    assert [j["status"] for j in done] == ["completed", "completed"]
    wide = {**BELL_JOB, "noise": {"model": "aria-1"}, "input": {"qubits": 40, "circuit": BELL}}
    failed = wait_for_job(client, submit(client, wide))
    assert failed["status"] == "failed"
    after = scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("ionstack_jobs", status="completed", backend="simulator") == 2
    assert delta("ionstack_jobs", status="failed", backend="simulator") == 1
    # every backend of the catalog has every status, zeros included
    assert value(after, "ionstack_jobs", status="canceled", backend="qpu.aria-1") == 0
    # run times were observed by the worker process (failed at submission: never run)
    runs = "ionstack_job_run_seconds_count"
    assert delta(runs, backend="simulator", outcome="completed") == 2
    assert delta(runs, backend="simulator", outcome="failed") == 0
    assert (
        value(after, "ionstack_job_run_seconds_sum", backend="simulator", outcome="completed") > 0
    )
    assert value(after, "ionstack_database_up") == 1
    seen = series(after, "ionstack_worker_last_seen_timestamp_seconds")
    assert len(seen) == 1 and next(iter(seen.values())) > 0


def test_queue_depth_age_and_worker_leases(server: Server, client: httpx.Client) -> None:
    holder = submit(client, HOLDER)
    running = wait_for_status(client, holder, ("started",))
    queued = [submit(client, BELL_JOB) for _ in range(2)]
    busy = scrape(server)
    assert value(busy, "ionstack_queue_depth", backend="simulator") == 2
    assert value(busy, "ionstack_queue_oldest_age_seconds", backend="simulator") > 0
    assert value(busy, "ionstack_queue_depth", backend="qpu.forte-1") == 0
    assert value(busy, "ionstack_queue_oldest_age_seconds", backend="qpu.forte-1") == 0
    assert value(busy, "ionstack_jobs", status="started", backend="qpu.forte-1") == 1
    leases = series(busy, "ionstack_worker_running_jobs")
    assert list(leases.values()) == [1]
    (worker_labels,) = leases
    assert dict(worker_labels)["worker"]  # the worker's id
    ages = series(busy, "ionstack_worker_heartbeat_age_seconds")
    assert set(ages) == {worker_labels} and ages[worker_labels] >= 0
    assert value(busy, "ionstack_leases_expired") == 0
    assert running["status"] == "started"

    for job_id in [*queued, holder]:
        assert client.put(f"/jobs/{job_id}/status/cancel").status_code == 200
    wait_for_job(client, holder)
    idle = scrape(server)
    assert value(idle, "ionstack_queue_depth", backend="simulator") == 0
    assert value(idle, "ionstack_queue_oldest_age_seconds", backend="simulator") == 0
    assert value(idle, "ionstack_jobs", status="canceled", backend="simulator") >= 2
    assert value(idle, "ionstack_jobs", status="canceled", backend="qpu.forte-1") == 1


def test_the_worker_records_a_cancelled_run(server: Server, client: httpx.Client) -> None:
    before = scrape(server)
    holder = submit(client, HOLDER)
    wait_for_status(client, holder, ("started",))
    client.put(f"/jobs/{holder}/status/cancel")
    wait_for_job(client, holder)
    outcome = {"backend": "qpu.forte-1", "outcome": "abandoned"}
    runs = "ionstack_job_run_seconds_count"
    # the worker stops at its next check and records the run; poll the page until it has
    for _ in range(200):
        after = scrape(server)
        if value(after, runs, **outcome) > value(before, runs, **outcome):
            break
        time.sleep(0.05)
    assert value(after, runs, **outcome) == value(before, runs, **outcome) + 1


@pytest.mark.parametrize("token", [None, "scrape-secret-123"], ids=["open", "bearer-token"])
def test_metrics_access(tmp_path: Path, token: str | None) -> None:
    extra = {"IONSTACK_METRICS_TOKEN": token} if token else {}
    env = server_env(
        database_url=f"sqlite:///{tmp_path / 'ionstack.db'}",
        data_dir=tmp_path,
        bootstrap_key=BOOTSTRAP_KEY,
        **extra,
    )
    server = Server(env=env, log_path=tmp_path / "server.log").start()
    try:
        url = f"{server.root}/metrics"
        if token is None:
            assert httpx.get(url).status_code == 200
            return
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"apiKey {token}"},
        ):
            refused = httpx.get(url, headers=headers)
            assert refused.status_code == 401
            assert refused.json()["statusCode"] == 401  # the spec's error body
        assert "ionstack_jobs" in str(scrape(server, Authorization=f"Bearer {token}"))
    finally:
        server.stop()


def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    env = server_env(
        database_url=f"sqlite:///{tmp_path / 'ionstack.db'}",
        data_dir=tmp_path,
        bootstrap_key=BOOTSTRAP_KEY,
        IONSTACK_METRICS_ENABLED="false",
    )
    server = Server(env=env, log_path=tmp_path / "server.log").start()
    try:
        assert httpx.get(f"{server.root}/metrics").status_code == 404
    finally:
        server.stop()

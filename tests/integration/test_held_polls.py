"""Held polls: ``GET /jobs/{id}`` on an unfinished job waits for it to finish (README "Jobs").

Through a real server on both databases. The API runs without workers of its own; each test
starts a standalone ``ionstack worker`` when it wants jobs to run, so a completion always
comes from another process (PostgreSQL: ``LISTEN/NOTIFY``; SQLite: the socket wake-ups).
How a hold ended is read from the ``ionstack_held_polls_total`` counter, never from a clock:
the timed re-read is set far beyond every wait here, so only the finished signal can release
a held poll early.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.server import Server, start_worker, submit

SERVER_WORKERS = 0
SERVER_ENV = {
    "IONSTACK_POLL_HOLD_S": "20",
    # only the finished signal can release a hold before its bound
    "IONSTACK_POLL_RECHECK_S": "60",
    "IONSTACK_EMULATE_QPU_DURATION": "true",
}

BELL: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "shots": 1000,
    "input": {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}
#: predicted to take minutes on the emulated QPU: never worth holding a poll for
LONG_QPU: dict[str, Any] = {
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


def _held(server: Server) -> dict[str, float]:
    text = httpx.get(f"{server.root}/metrics", timeout=10).text
    return {
        s.labels["outcome"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "ionstack_held_polls_total"
    }


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}


class Poll(threading.Thread):
    """One ``GET /jobs/{id}`` in the background (a held poll), its answer kept."""

    def __init__(self, client: httpx.Client, job_id: str) -> None:
        super().__init__(daemon=True)
        self.client, self.job_id = client, job_id
        self.answer: dict[str, Any] | None = None

    def run(self) -> None:
        self.answer = self.client.get(f"/jobs/{self.job_id}", timeout=120).json()

    def result(self) -> dict[str, Any]:
        self.join(timeout=120)
        assert self.answer is not None, "the held poll never answered"
        return self.answer


@pytest.fixture
def workers(server: Server) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_held(server: Server, count: int) -> None:
    """Until ``count`` polls are held by the server (its log of held polls is the metric of
    polls in progress: the API's event loop answers /metrics while polls wait)."""
    for _ in range(400):
        text = httpx.get(f"{server.root}/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == "ionstack_held_polls_waiting" and s.value >= count:
                    return
        threading.Event().wait(0.05)
    raise AssertionError(f"{count} held polls never showed up")


def test_a_held_poll_is_released_by_a_worker_in_another_process(
    server: Server, client: httpx.Client, workers: list[subprocess.Popen[bytes]]
) -> None:
    job_id = submit(client, BELL)  # no worker yet: the job waits in the queue
    before = _held(server)
    poll = Poll(client, job_id)
    poll.start()
    _wait_held(server, 1)
    workers.append(start_worker(server))
    job = poll.result()
    assert job["status"] == "completed"
    assert _delta(before, _held(server)) == {"finished": 1.0}
    # and the results are there, durable, at that moment
    probabilities = client.get(f"/jobs/{job_id}/results/probabilities").json()
    assert probabilities.keys() == {"0", "3"}


def test_a_small_job_is_completed_at_the_first_poll_after_its_201(
    server: Server, client: httpx.Client, workers: list[subprocess.Popen[bytes]]
) -> None:
    workers.append(start_worker(server))
    # the worker is up once it has run one job
    first = submit(client, BELL)
    assert client.get(f"/jobs/{first}").json()["status"] == "completed"
    for _ in range(5):
        job_id = submit(client, {**BELL, "noise": {"model": "aria-1", "seed": 11}})
        assert client.get(f"/jobs/{job_id}").json()["status"] == "completed"


def test_cancel_while_held_answers_canceled(server: Server, client: httpx.Client) -> None:
    job_id = submit(client, BELL)  # no worker: it stays queued
    before = _held(server)
    poll = Poll(client, job_id)
    poll.start()
    _wait_held(server, 1)
    assert client.put(f"/jobs/{job_id}/status/cancel").status_code == 200
    assert poll.result()["status"] == "canceled"
    assert _delta(before, _held(server)) == {"finished": 1.0}


def test_the_bound_passes_with_the_job_unfinished(server: Server) -> None:
    """A short hold (its own server) answers the job as it stands when the bound passes."""
    env = {**server.env, "IONSTACK_POLL_HOLD_S": "0.3"}
    short = Server(env=env, log_path=server.log_path.with_name("short.log")).start()
    try:
        headers = {"Authorization": f"apiKey {env['IONSTACK_BOOTSTRAP_KEY']}"}
        with httpx.Client(base_url=short.url, headers=headers, timeout=30) as api:
            job_id = submit(api, BELL)  # no worker anywhere: it stays queued
            before = _held(short)
            assert api.get(f"/jobs/{job_id}").json()["status"] == "ready"
            assert _delta(before, _held(short)) == {"expired": 1.0}
            api.put(f"/jobs/{job_id}/status/cancel")
    finally:
        short.stop()


def test_a_finished_job_is_never_held(server: Server, client: httpx.Client) -> None:
    job_id = submit(client, {**BELL, "dry_run": True})  # completed at creation
    canceled = submit(client, BELL)
    client.put(f"/jobs/{canceled}/status/cancel")
    before = _held(server)
    assert client.get(f"/jobs/{job_id}").json()["status"] == "completed"
    assert client.get(f"/jobs/{canceled}").json()["status"] == "canceled"
    assert _delta(before, _held(server)) == {}


def test_a_job_predicted_to_outlast_the_hold_is_answered_at_once(
    server: Server, client: httpx.Client
) -> None:
    job_id = submit(client, LONG_QPU)  # minutes of emulated QPU time, no worker
    before = _held(server)
    assert client.get(f"/jobs/{job_id}").json()["status"] == "ready"
    assert _delta(before, _held(server)) == {}
    client.put(f"/jobs/{job_id}/status/cancel")


def test_a_deleted_job_releases_its_held_poll_with_404(
    server: Server, client: httpx.Client
) -> None:
    job_id = submit(client, BELL)
    poll = threading.Thread(
        target=lambda: results.append(client.get(f"/jobs/{job_id}", timeout=120)), daemon=True
    )
    results: list[httpx.Response] = []
    poll.start()
    _wait_held(server, 1)
    assert client.delete(f"/jobs/{job_id}").status_code == 200
    poll.join(timeout=120)
    assert results and results[0].status_code == 404

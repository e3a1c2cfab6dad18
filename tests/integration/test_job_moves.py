"""``POST /jobs/{id}/move`` (issue 15; README "Clone and move"), on both databases.

The server runs no worker, so submitted jobs stay ``ready`` until a test starts one: a move
re-targets a queued job and cancels the original in the same transaction — exactly one of the
two ever runs.
"""

from __future__ import annotations

from typing import Any

import httpx

from support.server import LONG_QPU_JOB, Server, start_worker, submit, wait_for_job, wait_for_status

SERVER_ENV = {"IONSTACK_POLL_HOLD_S": "0", "IONSTACK_EMULATE_QPU_DURATION": "true"}

BELL: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "shots": 200,
    "name": "bell",
    "metadata": {"owner": "moves"},
    "noise": {"model": "aria-1", "seed": 5},
    "input": {
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}


def test_a_queued_job_moves_to_another_backend(client: httpx.Client, server: Server) -> None:
    original = submit(client, BELL)
    response = client.post(f"/jobs/{original}/move", json={"backend": "qpu.forte-1", "shots": 300})
    assert response.status_code == 201, response.text
    moved = response.json()["id"]
    assert client.get(f"/jobs/{original}").json()["status"] == "canceled"
    job = client.get(f"/jobs/{moved}").json()
    assert (job["status"], job["backend"], job["shots"]) == ("ready", "qpu.forte-1", 300)
    assert (job["name"], job["metadata"]) == ("bell", {"owner": "moves"})
    assert "noise" not in job
    worker = start_worker(server)
    try:
        assert wait_for_job(client, moved, timeout=120)["status"] == "completed"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert client.get(f"/jobs/{original}").json()["status"] == "canceled"  # never ran


def test_a_job_that_started_or_finished_cannot_move(client: httpx.Client, server: Server) -> None:
    running = submit(client, LONG_QPU_JOB)
    worker = start_worker(server)
    try:
        wait_for_status(client, running, ("started",))
        refused = client.post(f"/jobs/{running}/move", json={"shots": 100})
        assert refused.status_code == 400, refused.text
        assert "clone it instead" in refused.json()["message"]
        client.put(f"/jobs/{running}/status/cancel")
        done = submit(client, {**BELL, "shots": 20})
        wait_for_job(client, done)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert client.post(f"/jobs/{done}/move", json={}).status_code == 400
    assert client.get(f"/jobs/{done}").json()["status"] == "completed"


def test_a_move_that_would_fail_is_refused_and_the_original_stays(client: httpx.Client) -> None:
    wide = {**BELL, "input": {"qubits": 30, "circuit": [{"gate": "h", "target": 29}]}}
    wide.pop("noise")
    original = submit(client, wide)
    response = client.post(f"/jobs/{original}/move", json={"backend": "qpu.aria-1"})
    assert response.status_code == 400, response.text
    assert "NotEnoughQubits" in response.json()["message"]
    assert client.get(f"/jobs/{original}").json()["status"] == "ready"
    listed = client.get("/jobs", params={"limit": 5}).json()["jobs"]
    assert [j["backend"] for j in listed if j["backend"] == "qpu.aria-1"] == []  # nothing created


def test_a_move_into_a_session(client: httpx.Client) -> None:
    session = client.post("/sessions", json={"backend": "simulator"})
    assert session.status_code == 201, session.text
    original = submit(client, BELL)
    response = client.post(f"/jobs/{original}/move", json={"session_id": session.json()["id"]})
    assert response.status_code == 201, response.text
    assert response.json()["session_id"] == session.json()["id"]
    jobs = client.get(f"/sessions/{session.json()['id']}/jobs").json()["jobs"]
    assert [j["id"] for j in jobs] == [response.json()["id"]]
    client.post(f"/sessions/{session.json()['id']}/end")

"""Structured logs of a real server and its worker: one JSON line per job transition, no secrets.

The server runs with ``IONSTACK_LOG_JSON=true`` at ``info``; its log file holds what the API
process and the worker process it started wrote.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from ionstack.logs import JOB_ACTIONS
from support.server import BOOTSTRAP_KEY, Server, cli_json, submit, wait_for_job, wait_for_status

SERVER_WORKERS = 1
SERVER_ENV = {
    "IONSTACK_LOG_LEVEL": "info",
    "IONSTACK_LOG_JSON": "true",
    "IONSTACK_EMULATE_QPU_DURATION": "true",
}

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
BELL_JOB: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
}
#: minutes of emulated QPU time: it is still running when cancelled
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


def records(server: Server) -> list[dict[str, Any]]:
    """Every JSON line of the server's log (the start banner is plain text)."""
    lines = server.log_path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def transitions(server: Server, job_id: str, *, until: str, timeout: float = 60) -> list[Any]:
    """The job's transition records, once ``until`` was logged (a bounded poll)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in records(server) if r.get("job_id") == job_id and "action" in r]
        if any(r["action"] == until for r in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_one_line_per_job_transition_and_never_a_key(server: Server) -> None:
    made = cli_json(server, "keys", "create", "--name", "log-test")
    assert isinstance(made, dict)
    key = str(made["key"])
    wrong_key = "isk_wrong_" + key[-20:]
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {key}"}, timeout=30
    ) as client:
        bell = wait_for_job(client, submit(client, BELL_JOB))
        assert bell["status"] == "completed"
        client.get(f"/jobs/{bell['id']}/results/probabilities").raise_for_status()
        wide = {**BELL_JOB, "noise": {"model": "aria-1"}, "input": {"qubits": 40, "circuit": BELL}}
        failed = wait_for_job(client, submit(client, wide))
        holder = submit(client, HOLDER)
        wait_for_status(client, holder, ("started",))
        assert client.put(f"/jobs/{holder}/status/cancel").status_code == 200
        assert wait_for_job(client, holder)["status"] == "canceled"
        refused = httpx.get(
            f"{server.url}/jobs", headers={"Authorization": f"apiKey {wrong_key}"}
        ).status_code
        assert refused == 401
    project = bell["project_id"]

    ran = transitions(server, bell["id"], until="job_completed")
    assert [r["action"] for r in ran] == ["job_submitted", "job_started", "job_completed"]
    for record in ran:
        assert record["project_id"] == project and record["backend"] == "simulator"
        assert record["level"] == "info" and record["message"].startswith(record["action"])
    started, completed = ran[1], ran[2]
    assert isinstance(started["duration_ms"], int)  # how long it waited in the queue
    assert isinstance(completed["duration_ms"], int) and completed["duration_ms"] >= 0
    assert completed["worker"] == started["worker"] and completed["attempt"] == 1

    refused_job = transitions(server, failed["id"], until="job_failed")
    assert [r["action"] for r in refused_job] == ["job_submitted", "job_failed"]
    assert refused_job[1]["code"] == "NotEnoughQubits" == failed["failure"]["code"]

    stopped = transitions(server, holder, until="job_abandoned")
    actions = [r["action"] for r in stopped]
    assert actions[:2] == ["job_submitted", "job_started"]
    assert sorted(actions[2:]) == ["job_abandoned", "job_canceled"]
    canceled = next(r for r in stopped if r["action"] == "job_canceled")
    assert canceled["backend"] == "qpu.forte-1" and canceled["project_id"] == project
    assert canceled["was"] == "started" and canceled["duration_ms"] >= 0

    every = records(server)
    assert {r["action"] for r in every if str(r.get("action", "")).startswith("job_")} <= (
        JOB_ACTIONS | {"job_error"}
    )
    text = server.log_path.read_text()
    for secret in (key, wrong_key, BOOTSTRAP_KEY):
        assert secret not in text

"""Sessions over real HTTP, with a real worker: limits, state machine, joining rules, access."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import spec
from support.server import BOOTSTRAP_KEY, Server, cli_json, submit, wait_for_job

SERVER_WORKERS = 1

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]


def _job(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 100,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
    }
    body.update(changes)
    return body


def _open(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/sessions", json=body)
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    spec.validate(session, spec.response_schema("/sessions", "post", "201"))
    return session


def _wait_ended(client: httpx.Client, session_id: str, *, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        session: dict[str, Any] = client.get(f"/sessions/{session_id}").json()
        if session["status"] == "ended" or time.monotonic() > deadline:
            return session
        time.sleep(0.05)


def test_scripted_scenario_job_count_limit(client: httpx.Client) -> None:
    """The README example: a session of 3 jobs refuses the 4th and ends after the 3rd."""
    session = _open(client, {"backend": "simulator", "settings": {"job_count_limit": 3}})
    assert session["status"] == "created" and session["active"] is True
    assert session["settings"] == {"job_count_limit": 3}
    ids = []
    for _ in range(3):
        response = client.post("/jobs", json=_job(session_id=session["id"]))
        assert response.status_code == 201, response.text
        assert response.json()["session_id"] == session["id"]
        ids.append(response.json()["id"])
    fourth = client.post("/jobs", json=_job(session_id=session["id"]))
    assert fourth.status_code == 400
    assert fourth.json()["validation"] == {"source": "payload", "keys": ["session_id"]}
    jobs = [wait_for_job(client, job_id) for job_id in ids]
    assert [j["status"] for j in jobs] == ["completed"] * 3
    assert all(j["session_id"] == session["id"] for j in jobs)
    ended = _wait_ended(client, session["id"])
    spec.validate(ended, spec.response_schema("/sessions/{session_id}"))
    assert ended["status"] == "ended" and ended["active"] is False
    assert ended["ender_id"] is None  # ended by its limit
    assert ended["started_at"] is not None and ended["ended_at"] is not None
    assert ended["ended_at"] == max(str(j["completed_at"]) for j in jobs)
    # what qiskit-ionq's session.status() and usage() read (clients.md §1.2)
    assert ended["state"] == "ended"
    assert ended["usage_time"] == sum(int(j["execution_duration_ms"]) for j in jobs)
    listed = client.get(f"/sessions/{session['id']}/jobs")
    assert listed.status_code == 200
    spec.validate(listed.json(), spec.response_schema("/sessions/{session_id}/jobs"))
    assert sorted(j["id"] for j in listed.json()["jobs"]) == sorted(ids)
    assert listed.json()["next"] is None
    same = client.get("/jobs", params={"session_id": session["id"]}).json()["jobs"]
    assert sorted(j["id"] for j in same) == sorted(ids)
    inactive = client.get("/sessions", params={"active": "false"}).json()
    assert session["id"] in [s["id"] for s in inactive["sessions"]]


def test_readme_session_example_runs_as_written(server: Server) -> None:
    """The README's scripted session (job_count_limit 3), run verbatim against this server."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    script = next(b for b in blocks if '"job_count_limit": 3' in b)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "IONQ_API_URL": server.url, "IONQ_API_KEY": BOOTSTRAP_KEY},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("4th job: 400 ") and "job_count_limit of 3" in lines[0]
    assert lines[1].startswith("session: ended at ")


def test_lifecycle_listing_and_idempotent_end(client: httpx.Client) -> None:
    session = _open(
        client,
        {
            "backend": "simulator",
            "settings": {
                "duration_limit_min": 60,
                "cost_limit": {"unit": "usd", "value": 5},
            },
        },
    )
    assert session["settings"]["duration_limit_min"] == 60
    assert session["settings"]["cost_limit"] == {"unit": "usd", "value": 5}
    assert session["settings"]["expires_at"].endswith("Z")
    newer = _open(client, {"backend": "simulator"})
    assert newer["settings"] == {}
    every = client.get("/sessions")
    assert every.status_code == 200
    spec.validate(every.json(), spec.response_schema("/sessions"))
    whoami = client.get("/whoami").json()
    assert every.json()["organization_id"] == session["organization_id"]
    assert all(s["project_id"] == whoami["project_id"] for s in every.json()["sessions"])
    ids = [s["id"] for s in every.json()["sessions"]]
    assert ids.index(newer["id"]) < ids.index(session["id"])  # newest first
    active = [s["id"] for s in client.get("/sessions?active=true").json()["sessions"]]
    assert {session["id"], newer["id"]} <= set(active)

    job_id = submit(client, _job(session_id=newer["id"]))
    first = client.post(f"/sessions/{newer['id']}/end")
    assert first.status_code == 200
    spec.validate(first.json(), spec.response_schema("/sessions/{session_id}/end", "post"))
    assert first.json()["status"] == "ended" and first.json()["active"] is False
    assert first.json()["ender_id"] == session["creator_id"]
    again = client.post(f"/sessions/{newer['id']}/end")  # idempotent
    assert again.status_code == 200
    # the same end; only the usage of the job it let run may have grown meanwhile
    steady = {k: v for k, v in first.json().items() if k != "usage_time"}
    assert {k: v for k, v in again.json().items() if k != "usage_time"} == steady
    assert again.json().get("usage_time", 0) >= first.json().get("usage_time", 0)
    assert wait_for_job(client, job_id)["status"] == "completed"  # ending does not cancel
    refused = client.post("/jobs", json=_job(session_id=newer["id"]))
    assert refused.status_code == 400
    assert refused.json()["validation"]["keys"] == ["session_id"]
    inactive = [s["id"] for s in client.get("/sessions?active=false").json()["sessions"]]
    assert newer["id"] in inactive and session["id"] not in inactive


def test_qiskit_simulator_name_is_accepted(client: httpx.Client) -> None:
    session = _open(client, {"backend": "ionq_simulator", "settings": {"job_count_limit": 2}})
    assert session["backend"] == "simulator"
    assert wait_for_job(client, submit(client, _job(session_id=session["id"])))["status"] == (
        "completed"
    )


def test_joining_another_backend_is_refused(client: httpx.Client) -> None:
    session = _open(client, {"backend": "qpu.forte-1"})
    refused = client.post("/jobs", json=_job(session_id=session["id"]))
    assert refused.status_code == 400
    assert refused.json()["validation"] == {"source": "payload", "keys": ["session_id"]}
    assert client.get(f"/sessions/{session['id']}").json()["status"] == "created"


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({}, "backend"),
        ({"backend": "qpu.nowhere"}, "backend"),
        ({"backend": "qpu.aria-2"}, "backend"),
        ({"backend": "simulator", "extra": 1}, "extra"),
        ({"backend": "simulator", "settings": {"job_count_limit": -1}}, "settings.job_count_limit"),
        (
            {"backend": "simulator", "settings": {"job_count_limit": 10**9}},
            "settings.job_count_limit",
        ),
        (
            {"backend": "simulator", "settings": {"duration_limit_min": 0}},
            "settings.duration_limit_min",
        ),
        (
            {"backend": "simulator", "settings": {"cost_limit": {"unit": "usd", "value": -5}}},
            "settings.cost_limit.value",
        ),
        (
            {"backend": "simulator", "settings": {"cost_limit": {"value": 5}}},
            "settings.cost_limit.unit",
        ),
    ],
)
def test_bad_session_requests(client: httpx.Client, body: dict[str, Any], key: str) -> None:
    response = client.post("/sessions", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    spec.validate(error, spec.schema("BadRequestError"))
    assert error["statusCode"] == 400 and error["validation"]["keys"] == [key]


def test_malformed_requests(client: httpx.Client, anonymous: httpx.Client) -> None:
    assert client.post("/sessions", content=b"").status_code == 400
    assert client.post("/sessions", content=b"{nope").status_code == 400
    bad_filter = client.get("/sessions", params={"active": "maybe"})
    assert bad_filter.status_code == 400
    assert bad_filter.json()["validation"] == {"source": "query", "keys": ["active"]}
    for path in ("/sessions", f"/sessions/{uuid.uuid4()}"):
        assert anonymous.get(path).status_code == 401
    assert anonymous.post("/sessions", json={"backend": "simulator"}).status_code == 401


def test_unknown_sessions_are_404(client: httpx.Client) -> None:
    for ident in (str(uuid.uuid4()), "not-a-session"):
        assert client.get(f"/sessions/{ident}").status_code == 404
        assert client.post(f"/sessions/{ident}/end").status_code == 404
        assert client.get(f"/sessions/{ident}/jobs").status_code == 404


def test_another_projects_session(server: Server, client: httpx.Client) -> None:
    project = cli_json(server, "projects", "create", f"p-{uuid.uuid4().hex[:8]}")
    assert isinstance(project, dict)
    key = cli_json(server, "keys", "create", "--project", project["name"], "--name", "s")
    assert isinstance(key, dict)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {key['key']}"}, timeout=30
    ) as other:
        theirs = _open(other, {"backend": "simulator"})
        mine = _open(client, {"backend": "simulator"})
        assert client.get(f"/sessions/{theirs['id']}").status_code == 404
        assert client.post(f"/sessions/{theirs['id']}/end").status_code == 404
        assert other.get(f"/sessions/{mine['id']}").status_code == 404
        refused = client.post("/jobs", json=_job(session_id=theirs["id"]))
        assert refused.status_code == 400
        assert refused.json()["validation"]["keys"] == ["session_id"]
        listed = [s["id"] for s in other.get("/sessions").json()["sessions"]]
        assert listed == [theirs["id"]]
        assert other.get(f"/sessions/{theirs['id']}").json()["status"] == "created"

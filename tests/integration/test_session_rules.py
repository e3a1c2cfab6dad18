"""What a session's limits do to its jobs, over real HTTP with a real worker (README "Sessions";
the rules are in ``service/sessions.py``):

- concurrent submissions never take a session past its ``cost_limit`` or ``job_count_limit``
  (the session row's lock decides them one after the other on PostgreSQL);
- the end by ``cost_limit`` cancels the session's jobs still queued (``SystemCancel``);
- a first job created failed (``QuotaExhaustedError``) does not start the session;
- the end by ``duration_limit_min`` cancels the queued jobs, never the running one.

Emulated QPU jobs take their predicted duration, so a job is running while others queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from ionstack.store.database import make_engine, make_sessionmaker, transaction
from ionstack.store.tables import JobSession
from support.admin import Project, admin, new_project
from support.server import Server, post_at_once, submit, wait_for_job, wait_for_status

SERVER_WORKERS = 1
SERVER_ENV = {
    # these tests watch jobs start: status polls answer at once
    "IONSTACK_POLL_HOLD_S": "0",
    "IONSTACK_EMULATE_QPU_DURATION": "true",
}

ARIA_MINIMUM = 12.4166  #: README "Cost"
FORTE_2Q = 0.001121  #: README "Cost": Forte, per 2q gate-shot
H = {"gate": "h", "target": 0}
BELL = [H, {"gate": "cnot", "control": 0, "target": 1}]


def _job(backend: str, *, shots: int = 100, circuit: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "ionq.circuit.v1",
        "backend": backend,
        "shots": shots,
        "settings": {"error_mitigation": {"debiasing": False}},
        "input": {"gateset": "qis", "qubits": 2, "circuit": circuit or BELL},
        **extra,
    }


def _open(client: httpx.Client, backend: str, **limits: Any) -> dict[str, Any]:
    response = client.post("/sessions", json={"backend": backend, "settings": limits})
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


def _split(answers: list[httpx.Response]) -> tuple[list[str], list[httpx.Response]]:
    accepted = [str(a.json()["id"]) for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    for a in refused:
        assert a.status_code == 400, a.text
        assert a.json()["validation"] == {"source": "payload", "keys": ["session_id"]}, a.text
    return accepted, refused


def test_concurrent_submissions_never_exceed_a_session_cost_limit(client: httpx.Client) -> None:
    limit = 3 * ARIA_MINIMUM + 1  # room for three $12.4166 jobs
    session = _open(client, "qpu.aria-1", cost_limit={"unit": "usd", "value": limit})
    answers = post_at_once(client, _job("qpu.aria-1", session_id=session["id"]), n=12)
    accepted, refused = _split(answers)
    assert len(accepted) == 3, [a.text for a in answers]
    assert all("cost_limit" in a.json()["message"] for a in refused)
    jobs = [wait_for_job(client, i) for i in accepted]
    assert [j["status"] for j in jobs] == ["completed"] * 3
    charged = sum(client.get(f"/jobs/{i}/cost").json()["cost"]["value"] for i in accepted)
    assert charged == pytest.approx(3 * ARIA_MINIMUM) and charged <= limit
    listed = client.get(f"/sessions/{session['id']}/jobs").json()["jobs"]
    assert sorted(j["id"] for j in listed) == sorted(accepted)


def test_concurrent_submissions_never_exceed_a_session_job_count_limit(
    client: httpx.Client,
) -> None:
    session = _open(client, "simulator", job_count_limit=3)
    answers = post_at_once(client, _job("simulator", session_id=session["id"]), n=12)
    accepted, refused = _split(answers)
    assert len(accepted) == 3, [a.text for a in answers]
    assert all("job_count_limit" in a.json()["message"] for a in refused)
    assert [wait_for_job(client, i)["status"] for i in accepted] == ["completed"] * 3
    listed = client.get(f"/sessions/{session['id']}/jobs").json()["jobs"]
    assert sorted(j["id"] for j in listed) == sorted(accepted)


@pytest.fixture
def free_single_qubit_gates_on_forte(server: Server) -> Iterator[None]:
    """An operator's card for qpu.forte-1 on which 1q gates cost nothing and there is no
    minimum: a job of 1q gates is free, a job with 2q gates is not."""
    admin(
        server,
        "rates",
        "set",
        "qpu.forte-1",
        "--cost-1q-gate",
        "0",
        "--minimum",
        "0",
        "--minimum-em",
        "0",
    )
    try:
        yield
    finally:
        admin(server, "rates", "reset", "qpu.forte-1")


@pytest.mark.usefixtures("free_single_qubit_gates_on_forte")
def test_a_cost_limit_end_cancels_the_jobs_still_queued(client: httpx.Client) -> None:
    """The paid job reaches the limit when it completes; a free job admitted behind it is
    still queued then: the session ends and cancels it, before any worker can start it."""
    price = round(4000 * FORTE_2Q, 6)  # one cnot × 4000 shots; the h is free
    session = _open(client, "qpu.forte-1", cost_limit={"unit": "usd", "value": price})
    paid = submit(client, _job("qpu.forte-1", shots=4000, session_id=session["id"]))  # ≈ 4.2 s
    free = submit(client, _job("qpu.forte-1", circuit=[H], session_id=session["id"]))
    assert client.get(f"/jobs/{paid}/cost").json()["estimated_cost"]["value"] == price
    assert client.get(f"/jobs/{free}/cost").json()["estimated_cost"]["value"] == 0.0
    done = wait_for_job(client, paid)
    assert done["status"] == "completed", done
    queued = wait_for_job(client, free)
    assert queued["status"] == "canceled", queued
    assert queued["failure"]["code"] == "SystemCancel", queued  # type: ignore[index]
    ended = client.get(f"/sessions/{session['id']}").json()
    assert ended["status"] == "ended" and ended["ender_id"] is None, ended
    assert ended["ended_at"] == done["completed_at"]  # when the limit was reached
    refused = client.post("/jobs", json=_job("qpu.forte-1", session_id=session["id"]))
    assert refused.status_code == 400


@pytest.fixture
def project(server: Server) -> Iterator[Project]:
    with new_project(server, "sessions") as made:
        yield made


def test_a_first_job_refused_for_its_budget_does_not_start_the_session(
    server: Server, project: Project
) -> None:
    client = project.client
    project.set_budget(server, "0")
    session = _open(client, "qpu.aria-1", duration_limit_min=60)
    created_expiry = session["settings"]["expires_at"]
    refused = wait_for_job(client, submit(client, _job("qpu.aria-1", session_id=session["id"])))
    assert refused["status"] == "failed"
    assert refused["failure"]["code"] == "QuotaExhaustedError", refused  # type: ignore[index]
    after = client.get(f"/sessions/{session['id']}").json()
    assert after["status"] == "created" and after["started_at"] is None, after
    assert after["settings"]["expires_at"] == created_expiry  # the clock did not restart
    # a job that enters the queue starts it (and its duration counts from then)
    project.set_budget(server, "unlimited")
    accepted = submit(client, _job("qpu.aria-1", session_id=session["id"]))
    started = client.get(f"/sessions/{session['id']}").json()
    assert started["status"] == "started" and started["started_at"] is not None, started
    assert wait_for_job(client, accepted)["status"] == "completed"


def test_a_duration_end_cancels_the_queued_jobs_not_the_running_one(
    server: Server, client: httpx.Client
) -> None:
    """The session's hour is up while one of its jobs runs and another waits. The test does
    not wait an hour: it moves the session's ``expires_at`` (the instant its duration limit
    ends it) to the past in the database, then reads the session, which evaluates its limits."""
    session = _open(client, "qpu.forte-1", duration_limit_min=60)
    running = submit(client, _job("qpu.forte-1", shots=4000, session_id=session["id"]))  # ≈ 4.2 s
    queued = submit(client, _job("qpu.forte-1", session_id=session["id"]))
    wait_for_status(client, running, ("started",))
    expired = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    engine = make_engine(server.env["IONSTACK_DATABASE_URL"], pool_size=1, max_overflow=0)
    try:
        with transaction(make_sessionmaker(engine), write=True) as db:
            db.execute(
                update(JobSession).where(JobSession.id == session["id"]).values(expires_at=expired)
            )
    finally:
        engine.dispose()
    ended = client.get(f"/sessions/{session['id']}").json()
    assert ended["status"] == "ended" and ended["ender_id"] is None, ended
    assert ended["ended_at"] == expired.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    canceled = client.get(f"/jobs/{queued}").json()
    assert canceled["status"] == "canceled", canceled
    assert canceled["failure"]["code"] == "SystemCancel", canceled
    finished = wait_for_job(client, running)
    assert finished["status"] == "completed", finished  # it ran to its end
    hist = client.get(f"/jobs/{running}/results/histogram").json()
    assert sum(hist.values()) == 4000

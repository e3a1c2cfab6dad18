"""Sessions, budgets and usage on both databases, through the services and the real queue.

Time is injected: every service call and queue operation takes ``now``, so the duration limit
and the usage windows are tested at exact instants (no sleeping).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ionstack.catalog import Catalog
from ionstack.errors import BadRequest, Forbidden, NotFound
from ionstack.runtime import queue
from ionstack.service import accounts, billing, lifecycle, usage
from ionstack.service import sessions as service
from ionstack.service.accounts import Caller
from ionstack.service.jobs import submit
from ionstack.settings import Settings
from ionstack.store.database import transaction
from ionstack.store.tables import Job

CATALOG = Catalog()
SETTINGS = Settings()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
ARIA_MINIMUM = 12.4166


@dataclass
class World:
    owner: Caller  #: owner, default project
    teammate: Caller  #: a plain user of the same organization, in a second project
    other_project: Caller  #: the owner's key in the second project
    foreign: Caller  #: the owner of another organization


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with transaction(sessions, write=True) as db:
        made = accounts.bootstrap(db, key="k-owner")
        assert made is not None
        org = made.organization.id
        lab = accounts.create_project(db, organization_id=org, name="lab")
        accounts.create_key(db, project=lab, user=made.owner, name="lab", key="k-owner-lab")
        user = accounts.create_user(db, organization_id=org, email="u@example.org")
        accounts.create_key(db, project=lab, user=user, name="u", key="k-user")
        other = accounts.create_organization(db, name="Other")
        boss = accounts.create_user(
            db, organization_id=other.id, email="boss@other.org", role="owner"
        )
        theirs = accounts.create_project(db, organization_id=other.id, name="theirs")
        accounts.create_key(db, project=theirs, user=boss, name="b", key="k-foreign")
        return World(
            owner=accounts.authenticate(db, "apiKey k-owner"),
            teammate=accounts.authenticate(db, "apiKey k-user"),
            other_project=accounts.authenticate(db, "apiKey k-owner-lab"),
            foreign=accounts.authenticate(db, "apiKey k-foreign"),
        )


def _body(backend: str = "simulator", **extra: Any) -> dict[str, Any]:
    return {
        "type": "ionq.circuit.v1",
        "backend": backend,
        "shots": 100,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
        **extra,
    }


def _submit(
    sessions: sessionmaker[Session], caller: Caller, *, now: datetime = T0, **body: Any
) -> str:
    with transaction(sessions, write=True) as db:
        created = submit(
            db, _body(**body), caller=caller, catalog=CATALOG, settings=SETTINGS, now=now
        )
    return created.id


def _job(sessions: sessionmaker[Session], job_id: str) -> Job:
    with transaction(sessions) as db:
        job = db.get(Job, job_id)
        assert job is not None
        return job


def _run_next(sessions: sessionmaker[Session], *, now: datetime) -> str | None:
    """Claim and complete the next job as a worker would (no simulation)."""
    held = queue.claim(sessions, worker_id="w", lease_seconds=60, now=now)
    if held is None:
        return None
    stats = {
        **held.stats,
        "billed_quantum_compute_time_us": held.stats.get("predicted_quantum_compute_time_us", 0),
    }
    outcome = queue.Outcome(
        probabilities={"0": 0.5, "3": 0.5},
        histogram=None,
        shots=None,
        variants=None,
        output={},
        stats=stats,
        execution_duration_ms=1,
    )
    assert queue.complete(sessions, held, outcome, now=now)
    return held.job_id


def _create(
    sessions: sessionmaker[Session],
    caller: Caller,
    body: dict[str, Any],
    *,
    now: datetime = T0,
) -> dict[str, Any]:
    with transaction(sessions, write=True) as db:
        row = service.create(db, body, caller=caller, catalog=CATALOG, settings=SETTINGS, now=now)
        return service.wire(row)


def _get(
    sessions: sessionmaker[Session], caller: Caller, session_id: str, *, now: datetime
) -> dict[str, Any]:
    with transaction(sessions, write=True) as db:
        return service.wire(service.get(db, caller, session_id, now=now))


def _count_jobs(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as db:
        return len(db.scalars(select(Job.id)).all())


# --- sessions: limits ---------------------------------------------------------------------------


def test_job_count_limit(sessions: sessionmaker[Session], world: World) -> None:
    made = _create(
        sessions, world.owner, {"backend": "simulator", "settings": {"job_count_limit": 3}}
    )
    assert made["status"] == "created" and made["active"] is True
    assert made["settings"] == {"job_count_limit": 3}
    jobs = [
        _submit(sessions, world.owner, session_id=made["id"], now=T0 + timedelta(seconds=i))
        for i in range(3)
    ]
    session = _get(sessions, world.owner, made["id"], now=T0 + timedelta(seconds=5))
    assert session["status"] == "started"
    assert session["started_at"] == "2026-03-02T09:00:00.000Z"  # the first job entered the queue
    with pytest.raises(BadRequest) as refused:
        _submit(sessions, world.owner, session_id=made["id"])
    assert refused.value.keys == ["session_id"] and "job_count_limit" in refused.value.message
    assert _count_jobs(sessions) == 3  # nothing written
    assert all(_job(sessions, j).priority == 0 for j in jobs)
    assert all(_job(sessions, j).session_id == made["id"] for j in jobs)
    # two of three done: still open
    for minute in (1, 2):
        _run_next(sessions, now=T0 + timedelta(minutes=minute))
    assert _get(sessions, world.owner, made["id"], now=T0 + timedelta(minutes=3))["active"]
    # the third completes: the session ended then, by the system
    _run_next(sessions, now=T0 + timedelta(minutes=4))
    ended = _get(sessions, world.owner, made["id"], now=T0 + timedelta(minutes=30))
    assert ended["status"] == "ended" and ended["active"] is False
    assert ended["ender_id"] is None
    assert ended["ended_at"] == "2026-03-02T09:04:00.000Z"
    # a job after the limit ended it is refused for the limit, not for "ended"
    with pytest.raises(BadRequest) as late:
        _submit(sessions, world.owner, session_id=made["id"], now=T0 + timedelta(minutes=31))
    assert late.value.keys == ["session_id"] and "job_count_limit of 3" in late.value.message
    # the smallest limit is one job
    one = _create(
        sessions, world.owner, {"backend": "simulator", "settings": {"job_count_limit": 1}}
    )
    assert one["settings"] == {"job_count_limit": 1}


def test_duration_limit_ends_the_session_and_cancels_queued_jobs(
    sessions: sessionmaker[Session], world: World
) -> None:
    made = _create(
        sessions, world.owner, {"backend": "simulator", "settings": {"duration_limit_min": 10}}
    )
    # before the start, expires_at bounds the session from its creation
    assert made["settings"] == {"duration_limit_min": 10, "expires_at": "2026-03-02T09:10:00.000Z"}
    start = T0 + timedelta(minutes=2)
    first = _submit(sessions, world.owner, session_id=made["id"], now=start)
    queued = _submit(sessions, world.owner, session_id=made["id"], now=start)
    outsider = _submit(sessions, world.owner, now=start)  # not in the session
    session = _get(sessions, world.owner, made["id"], now=start)
    assert session["settings"]["expires_at"] == "2026-03-02T09:12:00.000Z"  # started_at + 10
    assert _run_next(sessions, now=start + timedelta(minutes=1)) == first
    # 9:12 passes with one session job still queued; the next claim ends the session first
    late = start + timedelta(minutes=10, seconds=1)
    assert _run_next(sessions, now=late) == outsider
    canceled = _job(sessions, queued)
    assert (canceled.status, canceled.completed_at) == ("canceled", late)
    assert canceled.failure == {
        "code": "SystemCancel",
        "message": "Canceled by the system: the session reached its duration limit.",
    }
    assert _job(sessions, first).status == "completed"
    ended = _get(sessions, world.owner, made["id"], now=late + timedelta(hours=1))
    assert ended["status"] == "ended" and ended["ender_id"] is None
    assert ended["ended_at"] == "2026-03-02T09:12:00.000Z"  # when it expired, not when noticed
    with pytest.raises(BadRequest) as refused:
        _submit(sessions, world.owner, session_id=made["id"], now=late)
    assert refused.value.keys == ["session_id"]


def test_duration_limit_is_evaluated_on_read(sessions: sessionmaker[Session], world: World) -> None:
    made = _create(
        sessions, world.owner, {"backend": "simulator", "settings": {"duration_limit_min": 10}}
    )
    before = _get(sessions, world.owner, made["id"], now=T0 + timedelta(minutes=9, seconds=59))
    assert before["status"] == "created" and before["active"]
    after = _get(sessions, world.owner, made["id"], now=T0 + timedelta(minutes=10))
    assert after["status"] == "ended" and after["ended_at"] == "2026-03-02T09:10:00.000Z"
    with transaction(sessions, write=True) as db:
        listed = service.listing(db, world.owner, active=True, now=T0 + timedelta(minutes=11))
    assert listed == []
    # a listing ends what it lists: a session nobody read since its limit passed
    unread = _create(
        sessions, world.owner, {"backend": "simulator", "settings": {"duration_limit_min": 1}}
    )
    with transaction(sessions, write=True) as db:
        rows = service.listing(db, world.owner, active=None, now=T0 + timedelta(minutes=11))
        ended = {row.id: service.wire(row) for row in rows}[unread["id"]]
    assert ended["status"] == "ended" and ended["ended_at"] == "2026-03-02T09:01:00.000Z"


def test_cost_limit(sessions: sessionmaker[Session], world: World) -> None:
    limit = 2 * ARIA_MINIMUM
    made = _create(
        sessions,
        world.owner,
        {"backend": "qpu.aria-1", "settings": {"cost_limit": {"unit": "usd", "value": limit}}},
    )
    assert made["settings"]["cost_limit"] == {"unit": "usd", "value": limit}
    first = _submit(sessions, world.owner, backend="qpu.aria-1", session_id=made["id"])
    second = _submit(sessions, world.owner, backend="qpu.aria-1", session_id=made["id"])
    # committed 2 × $12.4166 = the limit: a third job would exceed it
    with pytest.raises(BadRequest) as refused:
        _submit(sessions, world.owner, backend="qpu.aria-1", session_id=made["id"])
    assert refused.value.keys == ["session_id"] and "cost_limit" in refused.value.message
    # cancelling releases the reservation; the freed room takes another job
    with transaction(sessions, write=True) as db:
        lifecycle.cancel(db, lifecycle.get_job(db, world.owner, second), now=T0)
    third = _submit(sessions, world.owner, backend="qpu.aria-1", session_id=made["id"])
    assert _run_next(sessions, now=T0 + timedelta(minutes=1)) == first
    assert _get(sessions, world.owner, made["id"], now=T0 + timedelta(minutes=1))["active"]
    assert _run_next(sessions, now=T0 + timedelta(minutes=2)) == third
    # charged = the limit: ended by the system when the job that reached it completed
    ended = _get(sessions, world.owner, made["id"], now=T0 + timedelta(minutes=5))
    assert ended["status"] == "ended" and ended["ender_id"] is None
    assert ended["ended_at"] == "2026-03-02T09:02:00.000Z"
    # a limit $0.50 short of two jobs refuses the second; no limit refuses none
    short = _create(
        sessions,
        world.owner,
        {
            "backend": "qpu.aria-1",
            "settings": {"cost_limit": {"unit": "usd", "value": limit - 0.5}},
        },
    )
    _submit(sessions, world.owner, backend="qpu.aria-1", session_id=short["id"])
    with pytest.raises(BadRequest):
        _submit(sessions, world.owner, backend="qpu.aria-1", session_id=short["id"])
    free = _create(sessions, world.owner, {"backend": "qpu.aria-1"})
    paid = _submit(sessions, world.owner, backend="qpu.aria-1", session_id=free["id"])
    assert _job(sessions, paid).status == "ready"


def _price_bell_at(sessions: sessionmaker[Session], per_2q_gate: float | None) -> None:
    """The simulator's card: the bell circuit at 100 shots costs 100 × ``per_2q_gate``."""
    with transaction(sessions, write=True) as db:
        if per_2q_gate is None:
            billing.reset_rates(db, CATALOG, "simulator")
        else:
            billing.set_rates(db, CATALOG, "simulator", now=T0, cost_2q_gate=per_2q_gate)


def test_cost_limit_end_cancels_the_jobs_still_queued(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Sub-dollar prices count against the limit; the session stays open while the charged
    cost is under it (even within a dollar of it), and when it reaches it the session ends,
    dated by that completion, and its queued (free) job is cancelled by the system."""
    made = _create(sessions, world.owner, _usd(unit="usd", value=1.5))
    timed = _create(sessions, world.owner, _settings(duration_limit_min=3))  # ends at t3 too
    _price_bell_at(sessions, 0.01)  # $1.00
    paid = _submit(sessions, world.owner, session_id=made["id"])
    _price_bell_at(sessions, 0.006)  # $0.60: over the $0.50 left
    with pytest.raises(BadRequest) as refused:
        _submit(sessions, world.owner, session_id=made["id"])
    assert refused.value.keys == ["session_id"]
    assert refused.value.message == (
        f"The job's estimated cost ($0.60) would take session {made['id']} over its "
        "cost_limit ($1.50; $1.00 committed)."
    )
    _price_bell_at(sessions, 0.005)  # $0.50: exactly what is left
    last_paid = _submit(sessions, world.owner, session_id=made["id"])
    _price_bell_at(sessions, None)  # free: fits whatever is committed
    free = _submit(sessions, world.owner, session_id=made["id"])
    t1, t2, t3 = (T0 + timedelta(minutes=m) for m in (1, 2, 3))
    assert _run_next(sessions, now=t1) == paid
    with transaction(sessions, write=True) as db:
        assert service.end_expired(db, now=t1) == 0
    assert _get(sessions, world.owner, made["id"], now=t1)["active"]  # $1.00 of $1.50
    assert _run_next(sessions, now=t2) == last_paid
    with transaction(sessions, write=True) as db:
        assert service.end_expired(db, now=t3) == 2  # the queue's check before a claim
        assert service.end_expired(db, now=t3) == 0
    canceled = _job(sessions, free)
    assert (canceled.status, canceled.completed_at) == ("canceled", t3)
    assert canceled.failure == {
        "code": "SystemCancel",
        "message": "Canceled by the system: the session reached its cost limit.",
    }
    ended = _get(sessions, world.owner, made["id"], now=t3)
    assert (ended["status"], ended["ended_at"], ended["ender_id"]) == (
        "ended",
        "2026-03-02T09:02:00.000Z",
        None,
    )
    assert _run_next(sessions, now=t3) is None
    assert (
        _get(sessions, world.owner, timed["id"], now=t3)["ended_at"] == "2026-03-02T09:03:00.000Z"
    )
    with transaction(sessions) as db:
        assert service.usage_times(db, [made["id"]]) == {made["id"]: 2}  # two runs of 1 ms
        assert service.usage_times(db, []) == {}


def test_a_refused_first_job_does_not_start_the_session(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A first job that fails at submission (over the budget) leaves the session ``created``
    and its duration counted from its creation; the first accepted job starts it."""
    with transaction(sessions, write=True) as db:
        billing.set_project_budget(db, world.owner.project_id, 1.0, now=T0)
    made = _create(
        sessions,
        world.owner,
        {"backend": "qpu.aria-1", "settings": {"duration_limit_min": 10}},
    )
    later = T0 + timedelta(minutes=1)
    refused = _job(
        sessions, _submit(sessions, world.owner, backend="qpu.aria-1", session_id=made["id"])
    )
    assert refused.failure is not None and refused.failure["code"] == "QuotaExhaustedError"
    session = _get(sessions, world.owner, made["id"], now=later)
    assert (session["status"], session["started_at"]) == ("created", None)
    assert session["settings"]["expires_at"] == "2026-03-02T09:10:00.000Z"
    with transaction(sessions, write=True) as db:
        billing.set_project_budget(db, world.owner.project_id, None, now=T0)
    _submit(sessions, world.owner, backend="qpu.aria-1", session_id=made["id"], now=later)
    session = _get(sessions, world.owner, made["id"], now=later)
    assert (session["status"], session["started_at"]) == ("started", "2026-03-02T09:01:00.000Z")
    assert session["settings"]["expires_at"] == "2026-03-02T09:11:00.000Z"


def test_session_jobs_go_first(sessions: sessionmaker[Session], world: World) -> None:
    plain = _submit(sessions, world.owner)
    made = _create(sessions, world.owner, {"backend": "simulator"})
    in_session = _submit(sessions, world.owner, session_id=made["id"])
    assert _run_next(sessions, now=T0) == in_session
    assert _run_next(sessions, now=T0) == plain


# --- sessions: joining, creating, ending, listing -----------------------------------------------


def test_joining_rules(sessions: sessionmaker[Session], world: World) -> None:
    mine = _create(sessions, world.owner, {"backend": "simulator"})
    theirs = _create(sessions, world.other_project, {"backend": "simulator"})
    foreign = _create(sessions, world.foreign, {"backend": "simulator"})
    ended = _create(sessions, world.owner, {"backend": "simulator"})
    with transaction(sessions, write=True) as db:
        service.end(db, world.owner, ended["id"], now=T0)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"session_id": "01234567-89ab-7def-8123-456789abcdef"}, "does not exist"),
        ({"session_id": "not-a-session"}, "does not exist"),
        ({"session_id": theirs["id"]}, "does not exist"),  # another project of the org
        ({"session_id": foreign["id"]}, "does not exist"),  # another organization
        ({"session_id": ended["id"]}, "ended"),
        ({"session_id": mine["id"], "backend": "qpu.aria-1"}, "runs on simulator"),
    ]
    for extra, words in cases:
        with pytest.raises(BadRequest) as refused:
            _submit(sessions, world.owner, **extra)
        assert refused.value.keys == ["session_id"], extra
        assert refused.value.source == "payload"
        assert words in refused.value.message
    assert _count_jobs(sessions) == 0
    with transaction(sessions, write=True) as db:
        with pytest.raises(NotFound):
            service.get(db, world.owner, theirs["id"], now=T0)
        with pytest.raises(NotFound):
            service.get(db, world.owner, foreign["id"], now=T0)


def _settings(**limits: Any) -> dict[str, Any]:
    return {"backend": "simulator", "settings": limits}


def _usd(**fields: Any) -> dict[str, Any]:
    return _settings(cost_limit=fields)


JCL, DLM, CL = "settings.job_count_limit", "settings.duration_limit_min", "settings.cost_limit"


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ([], None, "request body must be a JSON object"),
        ({}, "backend", '"backend" is required'),
        ({"backend": 7}, "backend", '"backend" must be a string'),
        ({"backend": "qpu.nowhere"}, "backend", "\"backend\" 'qpu.nowhere' is not a known backend"),
        ({"backend": "qpu.aria-2"}, "backend", "Backend qpu.aria-2 is retired."),
        (
            {"backend": "qpu.forte-enterprise-2"},
            "backend",
            "Backend qpu.forte-enterprise-2 is unavailable.",
        ),
        ({"backend": "simulator", "colour": "red"}, "colour", '"colour" is not allowed'),
        ({"backend": "simulator", "settings": []}, "settings", '"settings" must be an object'),
        (_settings(max_jobs=1), "settings.max_jobs", '"settings.max_jobs" is not allowed'),
        (_settings(job_count_limit=0), JCL, f'"{JCL}" must be greater than or equal to 1'),
        (_settings(job_count_limit=-3), JCL, f'"{JCL}" must be greater than or equal to 1'),
        (_settings(job_count_limit=2.5), JCL, f'"{JCL}" must be an integer'),
        (_settings(job_count_limit=True), JCL, f'"{JCL}" must be an integer'),
        (_settings(job_count_limit="3"), JCL, f'"{JCL}" must be an integer'),
        (_settings(job_count_limit=10001), JCL, f'"{JCL}" must be less than or equal to 10000'),
        (_settings(duration_limit_min=0), DLM, f'"{DLM}" must be greater than or equal to 1'),
        (_settings(duration_limit_min=10081), DLM, f'"{DLM}" must be less than or equal to 10080'),
        (_settings(cost_limit=5), CL, f'"{CL}" must be an object'),
        (_usd(unit="usd", value=5, x=1), f"{CL}.x", f'"{CL}.x" is not allowed'),
        (_usd(value=5), f"{CL}.unit", f'"{CL}.unit" is required'),
        (_usd(unit="eur", value=5), f"{CL}.unit", f'"{CL}.unit" must be "usd"'),
        (_usd(unit=5, value=5), f"{CL}.unit", f'"{CL}.unit" must be "usd"'),
        (_usd(unit="usd"), f"{CL}.value", f'"{CL}.value" is required'),
        (_usd(unit="usd", value="5"), f"{CL}.value", f'"{CL}.value" must be a number'),
        (_usd(unit="usd", value=True), f"{CL}.value", f'"{CL}.value" must be a number'),
        (_usd(unit="usd", value=0), f"{CL}.value", f'"{CL}.value" must be greater than 0'),
        (_usd(unit="usd", value=-1), f"{CL}.value", f'"{CL}.value" must be greater than 0'),
        (
            _usd(unit="usd", value=1_000_000.01),
            f"{CL}.value",
            f'"{CL}.value" must be less than or equal to 1e+06',
        ),
    ],
)
def test_bad_session_requests(
    sessions: sessionmaker[Session],
    world: World,
    body: dict[str, Any],
    key: str | None,
    message: str,
) -> None:
    """Each bad request is the 400 that names its key and says what is wrong; nothing is
    written."""
    with pytest.raises(BadRequest) as refused:
        _create(sessions, world.owner, body)
    assert refused.value.body() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": message,
        "validation": {"source": "payload", "keys": [key] if key else []},
    }
    with transaction(sessions) as db:
        assert service.listing(db, world.owner, active=None, now=T0) == []


def test_session_limits_at_their_bounds(sessions: sessionmaker[Session], world: World) -> None:
    """The largest limits of the settings and the smallest amounts are accepted, and a session
    reads back as the spec's ``Session`` with every limit it was given."""
    assert (SETTINGS.session_max_job_count, SETTINGS.session_max_duration_min) == (10000, 10080)
    assert SETTINGS.session_max_cost_usd == 1_000_000
    limits = {
        "job_count_limit": 10000,
        "duration_limit_min": 10080.0,  # an integral float is an integer
        "cost_limit": {"unit": "USD", "value": 1_000_000},
    }
    made = _create(sessions, world.owner, {"backend": "simulator", "settings": limits})
    assert made == {
        "id": made["id"],
        "created_at": "2026-03-02T09:00:00.000Z",
        "organization_id": world.owner.organization_id,
        "backend": "simulator",
        "project_id": world.owner.project_id,
        "creator_id": world.owner.user_id,
        "ended_at": None,
        "ender_id": None,
        "settings": {
            "job_count_limit": 10000,
            "duration_limit_min": 10080,
            "cost_limit": {"unit": "usd", "value": 1_000_000.0},
            "expires_at": "2026-03-09T09:00:00.000Z",
        },
        "active": True,
        "status": "created",
        "started_at": None,
        "state": "created",
        "usage_time": 0,
    }
    small = _create(sessions, world.owner, _usd(unit="usd", value=0.5))
    assert small["settings"] == {"cost_limit": {"unit": "usd", "value": 0.5}}
    with transaction(sessions, write=True) as db:
        rows = {row.id: row for row in service.listing(db, world.owner, active=None, now=T0)}
        assert rows[small["id"]].cost_limit_unit == "usd"
        assert rows[made["id"]].cost_limit_unit == "usd"
        body = {"backend": "simulator"}
        plain = service.create(
            db, body, caller=world.owner, catalog=CATALOG, settings=SETTINGS, now=T0
        )
        assert plain.cost_limit_unit is None and plain.expires_at is None


def test_qiskit_simulator_alias_and_qpu_access(
    sessions: sessionmaker[Session], world: World
) -> None:
    made = _create(sessions, world.owner, {"backend": "ionq_simulator"})
    assert made["backend"] == "simulator"
    no_qpu = Caller(**{**world.owner.__dict__, "qpu_access": False})
    with pytest.raises(Forbidden) as refused:
        _create(sessions, no_qpu, {"backend": "qpu.aria-1"})
    assert refused.value.body() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": "Your organization does not have access to qpu.aria-1.",
    }


def test_end_is_idempotent_and_keeps_submitted_jobs(
    sessions: sessionmaker[Session], world: World
) -> None:
    made = _create(sessions, world.owner, {"backend": "simulator"})
    queued = _submit(sessions, world.owner, session_id=made["id"])
    later = T0 + timedelta(minutes=1)
    with transaction(sessions, write=True) as db:
        first = service.wire(service.end(db, world.owner, made["id"], now=later))
    with transaction(sessions, write=True) as db:
        again = service.wire(service.end(db, world.owner, made["id"], now=later + timedelta(1)))
    assert first == again
    assert first["status"] == "ended" and first["ender_id"] == world.owner.user_id
    assert first["ended_at"] == "2026-03-02T09:01:00.000Z"
    assert _job(sessions, queued).status == "ready"  # still runs
    assert _run_next(sessions, now=later) == queued
    with transaction(sessions) as db:
        row = service.get(db, world.owner, made["id"], now=later)
        assert (row.end_reason, row.ender_id) == ("user", world.owner.user_id)
    # a session ended by its user before its duration limit stays ended by its user
    timed = _create(
        sessions, world.owner, {"backend": "simulator", "settings": {"duration_limit_min": 10}}
    )
    with transaction(sessions, write=True) as db:
        service.end(db, world.owner, timed["id"], now=later)
    after = _get(sessions, world.owner, timed["id"], now=T0 + timedelta(hours=1))
    assert (after["ended_at"], after["ender_id"]) == (
        "2026-03-02T09:01:00.000Z",
        world.owner.user_id,
    )


def test_listing(sessions: sessionmaker[Session], world: World) -> None:
    a = _create(sessions, world.owner, {"backend": "simulator"})
    b = _create(sessions, world.owner, {"backend": "qpu.forte-1"})
    _create(sessions, world.other_project, {"backend": "simulator"})
    with transaction(sessions, write=True) as db:
        service.end(db, world.owner, a["id"], now=T0)
    with transaction(sessions, write=True) as db:
        every = [s.id for s in service.listing(db, world.owner, active=None, now=T0)]
        active = [s.id for s in service.listing(db, world.owner, active=True, now=T0)]
        inactive = [s.id for s in service.listing(db, world.owner, active=False, now=T0)]
    assert every == [b["id"], a["id"]]  # newest first, this project only
    assert active == [b["id"]] and inactive == [a["id"]]


# --- budgets -----------------------------------------------------------------------------------


def _cost(sessions: sessionmaker[Session], job_id: str) -> dict[str, Any]:
    return billing.cost_body(_job(sessions, job_id))


def test_project_budget_reserve_charge_release(
    sessions: sessionmaker[Session], world: World
) -> None:
    with transaction(sessions, write=True) as db:
        billing.set_project_budget(db, world.owner.project_id, 20.0, now=T0)
    first = _submit(sessions, world.owner, backend="qpu.aria-1")
    assert _job(sessions, first).status == "ready"
    assert _cost(sessions, first) == {
        "dry_run": False,
        "estimated_cost": {"value": ARIA_MINIMUM, "unit": "usd"},
    }
    # $12.42 reserved of $20: the next job does not fit
    second = _submit(sessions, world.owner, backend="qpu.aria-1")
    refused = _job(sessions, second)
    assert refused.status == "failed"
    assert refused.failure is not None and refused.failure["code"] == "QuotaExhaustedError"
    assert _cost(sessions, second)["cost"] == {"value": 0.0, "unit": "usd"}
    # free jobs still run; another project's budget is its own
    assert _job(sessions, _submit(sessions, world.owner)).status == "ready"
    assert (
        _job(sessions, _submit(sessions, world.other_project, backend="qpu.aria-1")).status
        == "ready"
    )
    # cancel releases the reservation
    with transaction(sessions, write=True) as db:
        lifecycle.cancel(db, lifecycle.get_job(db, world.owner, first), now=T0)
        assert billing.project_balance(db, world.owner.project_id).reserved == 0.0
    assert _cost(sessions, first)["cost"]["value"] == 0.0
    third = _submit(sessions, world.owner, backend="qpu.aria-1")
    assert _job(sessions, third).status == "ready"
    while _run_next(sessions, now=T0 + timedelta(minutes=1)) is not None:
        pass
    assert _cost(sessions, third)["cost"] == {"value": ARIA_MINIMUM, "unit": "usd"}
    with transaction(sessions) as db:
        balance = billing.project_balance(db, world.owner.project_id)
    assert balance.charged == pytest.approx(ARIA_MINIMUM) and balance.reserved == 0.0
    assert balance.remaining == pytest.approx(20.0 - ARIA_MINIMUM)
    assert _job(sessions, _submit(sessions, world.owner, backend="qpu.aria-1")).status == "failed"
    # lifting the cap
    with transaction(sessions, write=True) as db:
        billing.set_project_budget(db, world.owner.project_id, None, now=T0)
        assert billing.project_balance(db, world.owner.project_id).limit is None
    assert _job(sessions, _submit(sessions, world.owner, backend="qpu.aria-1")).status == "ready"


def test_a_budget_holds_to_the_cent(sessions: sessionmaker[Session], world: World) -> None:
    """A job that exactly fits is accepted, one a cent over is refused, whatever its size;
    a free job runs even where the budget is spent or zero."""
    with transaction(sessions, write=True) as db:
        billing.set_project_budget(db, world.owner.project_id, ARIA_MINIMUM, now=T0)
    assert _job(sessions, _submit(sessions, world.owner, backend="qpu.aria-1")).status == "ready"
    with transaction(sessions, write=True) as db:
        billing.set_project_budget(db, world.other_project.project_id, ARIA_MINIMUM - 0.01, now=T0)
    refused = _job(sessions, _submit(sessions, world.other_project, backend="qpu.aria-1"))
    assert refused.status == "failed" and refused.failure == {
        "code": "QuotaExhaustedError",
        "message": f"Inadequate credit balance: the job's estimated cost ${ARIA_MINIMUM:,.2f} "
        f"exceeds the project budget remaining (${ARIA_MINIMUM - 0.01:,.2f}).",
    }
    # a $0.10 job (a card of $0.001 per two-qubit gate) against $0.05
    with transaction(sessions, write=True) as db:
        billing.set_rates(db, CATALOG, "simulator", now=T0, cost_2q_gate=0.001)
        billing.set_project_budget(db, world.owner.project_id, 0.05, now=T0)
    assert _job(sessions, _submit(sessions, world.owner)).status == "failed"
    with transaction(sessions, write=True) as db:
        billing.reset_rates(db, CATALOG, "simulator")
        # below what it already holds, then zero: free jobs still run
        billing.set_project_budget(db, world.owner.project_id, 0.0, now=T0)
        assert billing.project_balance(db, world.owner.project_id).limit == 0.0
    assert _job(sessions, _submit(sessions, world.owner)).status == "ready"


def test_multi_circuit_children_are_priced_by_share_and_charged_once(
    sessions: sessionmaker[Session], world: World
) -> None:
    """The parent carries the job's price (and its reservation); each child shows its share
    of the gate cost, without a minimum, and is never charged on top."""
    with transaction(sessions, write=True) as db:
        billing.set_project_budget(db, world.owner.project_id, 20.0, now=T0)
    circuits = {"gateset": "qis", "qubits": 2, "circuits": [{"circuit": BELL}] * 2}
    parent = _submit(
        sessions, world.owner, backend="qpu.aria-1", type="ionq.multi-circuit.v1", input=circuits
    )
    assert _job(sessions, parent).estimated_cost == pytest.approx(ARIA_MINIMUM)
    with transaction(sessions) as db:
        children = db.scalars(select(Job).where(Job.parent_id == parent)).all()
        assert billing.project_balance(db, world.owner.project_id).reserved == pytest.approx(
            ARIA_MINIMUM
        )
    assert len(children) == 2
    for child in children:
        n1q, n2q = child.stats["gate_counts"]["1q"], child.stats["gate_counts"]["2q"]
        assert n1q > 0 and n2q > 0
        assert child.estimated_cost == round(100 * (n1q * 0.00022 + n2q * 0.000975), 6)
    while _run_next(sessions, now=T0 + timedelta(minutes=1)) is not None:
        pass
    done, kids = _job(sessions, parent), [_job(sessions, child.id) for child in children]
    assert (done.status, done.has_results, done.execution_duration_ms) == ("completed", True, 2)
    assert done.started_at == done.completed_at == T0 + timedelta(minutes=1)
    billed = [kid.stats["billed_quantum_compute_time_us"] for kid in kids]
    assert done.stats["billed_quantum_compute_time_us"] == sum(billed) > 0
    with transaction(sessions) as db:
        balance = billing.project_balance(db, world.owner.project_id)
    assert balance.charged == pytest.approx(ARIA_MINIMUM) and balance.reserved == 0.0


def test_organization_credit_spans_projects(sessions: sessionmaker[Session], world: World) -> None:
    with transaction(sessions, write=True) as db:
        billing.set_organization_credit(db, world.owner.organization_id, 13.0, now=T0)
    assert _job(sessions, _submit(sessions, world.owner, backend="qpu.aria-1")).status == "ready"
    failed = _job(sessions, _submit(sessions, world.other_project, backend="qpu.aria-1"))
    assert failed.failure is not None and failed.failure["code"] == "QuotaExhaustedError"
    with transaction(sessions, write=True) as db:
        billing.add_organization_credit(db, world.owner.organization_id, 0.0, now=T0)
        billing.add_organization_credit(db, world.owner.organization_id, 20.0, now=T0)
        balance = billing.organization_balance(db, world.owner.organization_id)
    assert balance.remaining == pytest.approx(33.0 - ARIA_MINIMUM)
    assert (
        _job(sessions, _submit(sessions, world.other_project, backend="qpu.aria-1")).status
        == "ready"
    )
    # another organization is unaffected
    assert _job(sessions, _submit(sessions, world.foreign, backend="qpu.aria-1")).status == "ready"
    with transaction(sessions, write=True) as db:
        # a balance is what is left over what the organization already holds (reserved)
        billing.set_organization_credit(db, world.owner.organization_id, 5.0, now=T0)
        assert billing.organization_balance(db, world.owner.organization_id).remaining == (
            pytest.approx(5.0)
        )
    # … and already spent (charged)
    while _run_next(sessions, now=T0 + timedelta(minutes=1)) is not None:
        pass
    with transaction(sessions, write=True) as db:
        spent = billing.organization_balance(db, world.owner.organization_id)
        assert spent.charged == pytest.approx(2 * ARIA_MINIMUM) and spent.reserved == 0.0
        billing.set_organization_credit(db, world.owner.organization_id, 5.0, now=T0)
        assert billing.organization_balance(db, world.owner.organization_id).remaining == (
            pytest.approx(5.0)
        )
    # `unlimited` lifts the organization's limit
    with transaction(sessions, write=True) as db:
        billing.set_organization_credit(db, world.owner.organization_id, None, now=T0)
        assert billing.organization_balance(db, world.owner.organization_id).limit is None
        with pytest.raises(BadRequest) as bad:  # no credit to add to
            billing.add_organization_credit(db, world.owner.organization_id, 5.0, now=T0)
        assert bad.value.keys == ["amount"]


def test_dry_run_reserves_and_charges_nothing(
    sessions: sessionmaker[Session], world: World
) -> None:
    with transaction(sessions, write=True) as db:
        billing.set_project_budget(db, world.owner.project_id, 1.0, now=T0)
    job_id = _submit(sessions, world.owner, backend="qpu.aria-1", dry_run=True)
    assert _job(sessions, job_id).status == "completed"
    assert _cost(sessions, job_id) == {
        "dry_run": True,
        "estimated_cost": {"value": ARIA_MINIMUM, "unit": "usd"},
        "cost": {"value": 0.0, "unit": "usd"},
    }


def test_operator_rate_card_prices_new_jobs(sessions: sessionmaker[Session], world: World) -> None:
    with transaction(sessions, write=True) as db:
        card = billing.set_rates(db, CATALOG, "simulator", now=T0, cost_2q_gate=0.01)
    assert card.custom and card.cost_2q_gate == 0.01 and card.cost_1q_gate == 0.0
    # bell: 1 two-qubit gate × 100 shots × $0.01
    assert _cost(sessions, _submit(sessions, world.owner))["estimated_cost"]["value"] == 1.0
    with transaction(sessions, write=True) as db:
        billing.reset_rates(db, CATALOG, "simulator")
    assert _cost(sessions, _submit(sessions, world.owner))["estimated_cost"]["value"] == 0.0
    with transaction(sessions, write=True) as db:
        with pytest.raises(BadRequest):
            billing.set_rates(db, CATALOG, "simulator", now=T0, cost_1q_gate=-1)
        with pytest.raises(NotFound):
            billing.set_rates(db, CATALOG, "qpu.nowhere", now=T0, cost_1q_gate=1)
    with transaction(sessions) as db:
        builtin = billing.rates_for(db, "qpu.forte-1")
    assert (builtin.backend, builtin.unit, builtin.unit_cost, builtin.custom) == (
        "qpu.forte-1",
        "gates",
        0.0,
        False,
    )
    # every field is stored and read back; a bad value or unit is a 400 naming its key
    with transaction(sessions, write=True) as db:
        fields = {"cost_1q_gate": 0.002, "cost_2q_gate": 0.003, "job_cost_minimum": 3.0}
        fields |= {"job_cost_minimum_em": 4.0, "unit_cost": 0.5}
        card = billing.set_rates(db, CATALOG, "qpu.aria-1", now=T0, unit="compute_second", **fields)
    with transaction(sessions) as db:
        stored = billing.rates_for(db, "qpu.aria-1")
    assert stored == card and stored.id and stored.id == card.id != builtin.id and stored.custom
    assert (stored.backend, stored.unit) == ("qpu.aria-1", "compute_second")
    assert {k: getattr(stored, k) for k in fields} == fields
    with transaction(sessions, write=True) as db:
        cards = {card.backend: card for card in billing.all_rates(db, CATALOG)}
        assert cards["qpu.aria-1"] == stored and cards["qpu.forte-1"] == builtin
        # a first custom card starts from the built-in one: fields not given keep its values
        forte = billing.set_rates(db, CATALOG, "qpu.forte-1", now=T0, cost_1q_gate=0.001)
        assert (forte.cost_1q_gate, forte.cost_2q_gate) == (0.001, builtin.cost_2q_gate)
        assert forte.job_cost_minimum == builtin.job_cost_minimum and forte.unit == "gates"
        assert billing.set_rates(db, CATALOG, "qpu.aria-1", now=T0, unit="gates").unit == "gates"
        for key in fields:
            with pytest.raises(BadRequest) as bad:
                billing.set_rates(db, CATALOG, "qpu.aria-1", now=T0, **{key: -1.0})
            assert bad.value.keys == [key]
        with pytest.raises(BadRequest) as bad:
            billing.set_rates(db, CATALOG, "qpu.aria-1", now=T0, unit="shots")
        assert bad.value.keys == ["unit"]


# --- usage -------------------------------------------------------------------------------------


def _completed_at(
    sessions: sessionmaker[Session], caller: Caller, when: datetime, **body: Any
) -> str:
    job_id = _submit(sessions, caller, now=when - timedelta(minutes=1), **body)
    assert _run_next(sessions, now=when) == job_id
    return job_id


def _usage(
    sessions: sessionmaker[Session],
    caller: Caller,
    start: str,
    end: str,
    group_by: str,
    modality: str,
) -> dict[str, Any]:
    query = usage.parse_query(
        start_date=start, end_date=end, group_by=group_by, modality=modality, max_days=3660
    )
    with transaction(sessions) as db:
        return usage.report(db, caller, caller.organization_id, query)


def test_usage_windows_across_day_week_and_month_boundaries(
    sessions: sessionmaker[Session], world: World
) -> None:
    at = {
        "wed-late": datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
        "thu": datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
        "sun": datetime(2026, 1, 4, 12, 0, tzinfo=UTC),
        "mon": datetime(2026, 1, 5, 0, 0, tzinfo=UTC),
        "feb": datetime(2026, 2, 1, 8, 0, tzinfo=UTC),
    }
    for when in at.values():
        _completed_at(sessions, world.owner, when, backend="qpu.aria-1")
    _completed_at(sessions, world.other_project, at["thu"])  # simulator: counted, $0

    daily = _usage(sessions, world.owner, "2025-12-31", "2026-02-02", "project", "daily")
    assert [u["from"] for u in daily["usage_data"]] == [
        "2026-02-01",
        "2026-01-05",
        "2026-01-04",
        "2026-01-01",
        "2025-12-31",
    ]
    assert daily["job_count"] == 6
    assert daily["amount_total"] == pytest.approx(5 * ARIA_MINIMUM)
    thursday = daily["usage_data"][3]
    assert thursday["job_count"] == 2 and thursday["amount"] == pytest.approx(ARIA_MINIMUM)
    assert [g["group_name"] for g in thursday["group_usages"]] == ["Default Project", "lab"]
    assert thursday["group_usages"][1]["amount"] == 0.0

    weekly = _usage(sessions, world.owner, "2025-12-31", "2026-02-02", "user", "weekly")
    # ISO weeks from Monday; the first is clipped to the window's start (a Wednesday)
    assert [(u["from"], u["job_count"]) for u in weekly["usage_data"]] == [
        ("2026-01-26", 1),
        ("2026-01-05", 1),
        ("2025-12-31", 4),
    ]
    assert weekly["usage_data"][2]["group_usages"][0]["group_name"] == "owner@localhost"

    monthly = _usage(sessions, world.owner, "2026-01-01", "2026-03-01", "job", "monthly")
    assert [(u["from"], u["job_count"]) for u in monthly["usage_data"]] == [
        ("2026-02-01", 1),
        ("2026-01-01", 4),  # the 2025-12-31 23:59:59 job is before the window
    ]
    assert monthly["usage_from"] == "2026-01-01T00:00:00Z"
    assert monthly["usage_to"] == "2026-03-01T00:00:00Z"
    # end_date is exclusive: Monday 00:00 is out of [2026-01-01, 2026-01-05)
    short = _usage(sessions, world.owner, "2026-01-01", "2026-01-05", "job", "weekly")
    assert short["job_count"] == 3 and len(short["usage_data"]) == 1
    assert short["usage_data"][0]["from"] == "2026-01-01"


def test_usage_top_five_groups(sessions: sessionmaker[Session], world: World) -> None:
    with transaction(sessions, write=True) as db:
        billing.set_rates(db, CATALOG, "simulator", now=T0, cost_2q_gate=0.01)
    when = datetime(2026, 5, 5, 12, 0, tzinfo=UTC)
    names = [f"job-{shots}" for shots in (100, 600, 300, 200, 500, 400)]
    for name in names:
        shots = int(name.split("-")[1])
        _completed_at(sessions, world.owner, when, shots=shots, name=name)
    report = _usage(sessions, world.owner, "2026-05-01", "2026-06-01", "job", "daily")
    groups = report["usage_data"][0]["group_usages"]
    assert [g["group_name"] for g in groups] == [
        "job-600",
        "job-500",
        "job-400",
        "job-300",
        "job-200",
    ]
    assert [g["amount"] for g in groups] == [6.0, 5.0, 4.0, 3.0, 2.0]
    assert report["usage_data"][0]["job_count"] == 6 and report["amount_total"] == 21.0


def test_usage_access(sessions: sessionmaker[Session], world: World) -> None:
    query = usage.parse_query(
        start_date="2026-01-01",
        end_date="2026-02-01",
        group_by="job",
        modality="daily",
        max_days=3660,
    )
    with transaction(sessions) as db:
        with pytest.raises(Forbidden):
            usage.report(db, world.teammate, world.teammate.organization_id, query)
        with pytest.raises(NotFound):
            usage.report(db, world.owner, world.foreign.organization_id, query)
        with pytest.raises(NotFound):
            usage.report(db, world.owner, "01234567-89ab-7def-8123-456789abcdef", query)
        assert (
            usage.report(db, world.foreign, world.foreign.organization_id, query)["job_count"] == 0
        )


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"start_date": None}, ["start_date"]),
        ({"end_date": ""}, ["end_date"]),
        ({"start_date": "2026-13-01"}, ["start_date"]),
        ({"start_date": "2026-1-1"}, ["start_date"]),
        ({"end_date": "yesterday"}, ["end_date"]),
        ({"start_date": "2026-02-01", "end_date": "2026-01-01"}, ["start_date", "end_date"]),
        ({"start_date": "2026-01-01", "end_date": "2026-01-01"}, ["start_date", "end_date"]),
        ({"start_date": "1990-01-01", "end_date": "2026-01-01"}, ["end_date"]),
        ({"group_by": "team"}, ["group_by"]),
        ({"group_by": None}, ["group_by"]),
        ({"modality": "hourly"}, ["modality"]),
    ],
)
def test_usage_bad_queries(params: dict[str, Any], keys: list[str]) -> None:
    good: dict[str, Any] = {
        "start_date": "2026-01-01",
        "end_date": "2026-02-01",
        "group_by": "job",
        "modality": "daily",
    }
    with pytest.raises(BadRequest) as refused:
        usage.parse_query(**{**good, **params}, max_days=3660)
    assert refused.value.keys == keys and refused.value.source == "query"


# --- estimate ----------------------------------------------------------------------------------


def test_estimate_queue_time_is_the_real_queue(
    sessions: sessionmaker[Session], world: World
) -> None:
    query = billing.EstimateQuery(
        backend="qpu.aria-1",
        type="ionq.circuit.v1",
        qubits=2,
        shots=100,
        one_q_gates=1,
        two_q_gates=1,
        error_mitigation=False,
    )

    def estimate() -> dict[str, Any]:
        with transaction(sessions) as db:
            return billing.estimate(
                db, query, caller=world.owner, catalog=CATALOG, settings=SETTINGS, now=T0
            )

    assert estimate()["current_predicted_queue_time"] == 0
    queued = [_submit(sessions, world.owner, backend="qpu.aria-1") for _ in range(2)]
    _submit(sessions, world.owner)  # another backend's queue
    expected = sum(_job(sessions, j).predicted_execution_ms or 0 for j in queued)
    assert expected > 0
    assert estimate()["current_predicted_queue_time"] == expected
    # 100 × (20 + 135 + 600 + 300) µs = 105.5 ms → 106 (the bell circuit queued above)
    assert estimate()["estimated_execution_time"] == 106
    assert _job(sessions, queued[0]).predicted_execution_ms == 106
    while _run_next(sessions, now=T0) is not None:
        pass
    assert estimate()["current_predicted_queue_time"] == 0


def _estimate(sessions: sessionmaker[Session], world: World, **fields: Any) -> dict[str, Any]:
    query = billing.EstimateQuery(
        **{
            "backend": "qpu.aria-1",
            "type": "ionq.circuit.v1",
            "qubits": 2,
            "shots": 100,
            "one_q_gates": 10,
            "two_q_gates": 4,
            "error_mitigation": False,
            **fields,
        }
    )
    with transaction(sessions) as db:
        return billing.estimate(
            db, query, caller=world.owner, catalog=CATALOG, settings=SETTINGS, now=T0
        )


def test_estimate_body(sessions: sessionmaker[Session], world: World) -> None:
    """``GET /jobs/estimate``'s whole body in-process (tests/integration/test_costs.py checks it
    over HTTP, which scripts/mutation cannot see): the v0.4 fields and the newer spec's."""
    values = {
        "backend": "qpu.aria-1",
        "type": "ionq.circuit.v1",
        "qubits": 2,
        "shots": 100,
        "1q_gates": 10,
        "2q_gates": 4,
        "error_mitigation": False,
    }
    org, project = world.owner.organization_id, world.owner.project_id
    aria = {"sku": "qpu.aria-1.gates", "unit": "gates", "cost_1q_gate": 0.00022}
    aria |= {"cost_2q_gate": 0.000975}
    # 100 × (10 × $0.00022 + 4 × $0.000975) = $0.61, under the minimum;
    # 100 shots × (20 reset + 10 × 135 + 4 × 600 + 300 readout) µs = 407 ms
    assert _estimate(sessions, world) == {
        "input_values": values,
        "estimated_at": "2026-03-02T09:00:00.000Z",
        "cost_unit": "usd",
        "rate_information": {
            "job_cost_minimum": ARIA_MINIMUM,
            "cost_2q_gate": 0.000975,
            "cost_1q_gate": 0.00022,
            "organization": org,
        },
        "estimated_cost": ARIA_MINIMUM,
        "estimated_execution_time": 407,
        "current_predicted_queue_time": 0,
        "estimate_context": {**values, "organization": org, "project": project},
        "estimated_unit": "usd",
        "estimated_total_cost": ARIA_MINIMUM,
        "rate_card": {
            "id": billing.default_rates("qpu.aria-1").id,
            "rates": [{**aria, "job_cost_minimum": ARIA_MINIMUM}],
        },
    }
    # over the minimum: 10,000 × (100 × $0.0001645 + 50 × $0.001121) = $725.00
    big = _estimate(
        sessions, world, backend="qpu.forte-1", shots=10_000, one_q_gates=100, two_q_gates=50
    )
    assert big["estimated_cost"] == big["estimated_total_cost"] == 725.0
    assert big["input_values"]["backend"] == big["estimate_context"]["backend"] == "qpu.forte-1"
    # error mitigation: the debiased minimum, and 10 variants × 50 ms on top of
    # 1000 × (20 + 300) µs = 320 ms
    em = _estimate(sessions, world, shots=1000, one_q_gates=0, two_q_gates=0, error_mitigation=True)
    assert em["estimated_cost"] == em["rate_information"]["job_cost_minimum"] == 97.5
    assert em["rate_card"]["rates"][0]["job_cost_minimum"] == 97.5
    assert em["estimated_execution_time"] == 820
    assert em["input_values"]["error_mitigation"] is True
    # 10,000 × 320 µs + 25 variants × 50 ms = 4,450 ms
    longest = _estimate(
        sessions, world, shots=10_000, one_q_gates=0, two_q_gates=0, error_mitigation=True
    )
    assert longest["estimated_execution_time"] == 4450
    # a simulator is not debiased: no variants, no minimum
    plain = _estimate(sessions, world, backend="simulator", shots=1000, one_q_gates=0)
    sim = _estimate(
        sessions, world, backend="simulator", shots=1000, one_q_gates=0, error_mitigation=True
    )
    assert sim["estimated_execution_time"] == plain["estimated_execution_time"]
    assert sim["estimated_cost"] == sim["rate_information"]["job_cost_minimum"] == 0.0
    # every job type is priced; the widest circuit is the backend's (a simulator: the setting)
    for job_type in ("ionq.circuit.v1", "ionq.multi-circuit.v1", "ionq.qasm3.v1"):
        assert _estimate(sessions, world, type=job_type)["estimated_cost"] == ARIA_MINIMUM
    assert _estimate(sessions, world, type="quantum-function")["input_values"]["type"] == (
        "quantum-function"
    )
    assert _estimate(sessions, world, qubits=25)["input_values"]["qubits"] == 25
    assert _estimate(sessions, world, backend="simulator", qubits=64)["estimated_cost"] == 0.0
    # an unavailable backend is still priced; a retired or unknown one is not
    unavailable = _estimate(sessions, world, backend="qpu.forte-enterprise-2")
    assert unavailable["input_values"]["backend"] == "qpu.forte-enterprise-2"
    bad: list[tuple[dict[str, Any], str, str]] = [
        ({"backend": "qpu.nowhere"}, "backend", "\"backend\" 'qpu.nowhere' is not a known backend"),
        ({"backend": "qpu.aria-2"}, "backend", "Backend qpu.aria-2 is retired."),
        ({"type": "ionq.bogus.v9"}, "type", '"type" must be one of [ionq.circuit.v1, '),
        ({"qubits": 26}, "qubits", '"qubits" must be less than or equal to 25 for qpu.aria-1'),
        (
            {"backend": "simulator", "qubits": 65},
            "qubits",
            '"qubits" must be less than or equal to 64 for simulator',
        ),
    ]
    for fields, key, message in bad:
        with pytest.raises(BadRequest) as refused:
            _estimate(sessions, world, **fields)
        assert (refused.value.keys, refused.value.source) == ([key], "query"), fields
        assert refused.value.message.startswith(message), refused.value.message


def test_compute_second_cards_price_by_time(sessions: sessionmaker[Session], world: World) -> None:
    """A ``compute_second`` card prices the predicted compute time (estimate, job, and each
    child's share of a multi-circuit job), and the estimate says that time."""
    with transaction(sessions, write=True) as db:
        card = billing.set_rates(
            db,
            CATALOG,
            "qpu.aria-1",
            now=T0,
            unit="compute_second",
            unit_cost=100.0,
            job_cost_minimum=0.1,
        )
    body = _estimate(sessions, world)
    # 407,000 µs × $100 per second
    assert body["estimated_cost"] == 40.7
    assert body["estimated_quantum_compute_time_us"] == 407_000
    assert body["rate_card"] == {
        "id": card.id,
        "rates": [
            {"sku": "qpu.aria-1.compute_second", "unit": "compute_second", "unit_cost": 100.0}
        ],
    }
    assert "estimated_quantum_compute_time_us" not in _estimate(
        sessions, world, backend="qpu.forte-1"
    )
    circuits = {"gateset": "qis", "qubits": 2, "circuits": [{"circuit": BELL}] * 2}
    parent = _submit(
        sessions, world.owner, backend="qpu.aria-1", type="ionq.multi-circuit.v1", input=circuits
    )
    with transaction(sessions) as db:
        children = db.scalars(select(Job).where(Job.parent_id == parent)).all()
    assert len(children) == 2
    for child in children:
        qct_us = child.stats["predicted_quantum_compute_time_us"]
        assert qct_us > 0
        assert child.estimated_cost == round(qct_us / 1e6 * 100, 6) > 0
    total = sum(child.estimated_cost or 0.0 for child in children)
    assert _job(sessions, parent).estimated_cost == pytest.approx(max(total, 0.1))

"""The money queries of store/billing.py in-process, on both databases, over rows written
directly: budgets per scope and subject, the ledger's charged and reserved sums (which jobs
count), sessions at their cost limit, the queue's predicted time, and the usage rows.

Every amount is a distinct power of two, so a sum that takes in or leaves out a wrong job
lands on a different number (found by mutation testing: tests/README.md).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ionstack.service import accounts
from ionstack.store import billing as repo
from ionstack.store.database import transaction
from ionstack.store.tables import Job, JobSession, RateCard

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


@dataclass
class World:
    org: str
    other_org: str
    p1: str
    p2: str
    foreign: str  #: a project of the other organization
    user: str
    key: str


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with transaction(sessions, write=True) as db:
        made = accounts.bootstrap(db, key="k-owner")
        assert made is not None
        org = made.organization.id
        p2 = accounts.create_project(db, organization_id=org, name="second")
        other = accounts.create_organization(db, name="Other")
        foreign = accounts.create_project(db, organization_id=other.id, name="theirs")
        caller = accounts.authenticate(db, "apiKey k-owner")
        return World(
            org=org,
            other_org=other.id,
            p1=caller.project_id,
            p2=p2.id,
            foreign=foreign.id,
            user=caller.user_id,
            key=caller.key_id,
        )


def _job(world: World, **fields: Any) -> Job:
    base: dict[str, Any] = {
        "id": str(uuid.UUID(int=next(_ids))),
        "project_id": world.p1,
        "submitter_id": world.user,
        "key_id": world.key,
        "type": "ionq.circuit.v1",
        "backend": "qpu.aria-1",
        "status": "completed",
        "input": {},
        "submitted_at": T0,
        "completed_at": T0,
        "estimated_cost": 0.0,
    }
    return Job(**(base | fields))


def _add(sessions: sessionmaker[Session], *rows: object) -> None:
    with transaction(sessions, write=True) as db:
        db.add_all(rows)


def test_a_budget_is_the_row_of_its_scope_and_subject(
    sessions: sessionmaker[Session], world: World
) -> None:
    with transaction(sessions, write=True) as db:
        repo.set_budget(db, "project", world.p1, 10.0, now=T0)
        repo.set_budget(db, "project", world.p2, 20.0, now=T0)
        repo.set_budget(db, "organization", world.org, 50.0, now=T0)
    with transaction(sessions, write=True) as db:
        p1 = repo.budget(db, "project", world.p1)
        p2 = repo.budget(db, "project", world.p2)
        org = repo.budget(db, "organization", world.org)
        assert p1 is not None and p2 is not None and org is not None
        assert (p1.amount, p2.amount, org.amount) == (10.0, 20.0, 50.0)
        assert repo.budget(db, "organization", world.p1) is None  # the scope counts
        assert repo.budget(db, "project", world.org) is None
        assert repo.budget(db, "organization", world.other_org) is None
        later = T0 + timedelta(hours=1)
        repo.set_budget(db, "project", world.p1, 12.5, now=later)
        repo.set_budget(db, "project", world.p2, None, now=later)  # unlimited: the row goes
    with transaction(sessions) as db:
        p1 = repo.budget(db, "project", world.p1)
        assert p1 is not None and (p1.amount, p1.updated_at) == (12.5, T0 + timedelta(hours=1))
        assert repo.budget(db, "project", world.p2) is None


def test_deleting_a_rate_card_says_whether_there_was_one(
    sessions: sessionmaker[Session], world: World
) -> None:
    card = RateCard(
        backend="qpu.aria-1",
        id="card",
        unit="gates",
        cost_1q_gate=0.1,
        cost_2q_gate=0.2,
        job_cost_minimum=1.0,
        job_cost_minimum_em=2.0,
        unit_cost=0.0,
        updated_at=T0,
    )
    _add(sessions, card)
    with transaction(sessions, write=True) as db:
        assert repo.delete_rate_card(db, "qpu.aria-1") is True
        assert repo.delete_rate_card(db, "qpu.aria-1") is False
        assert repo.rate_card(db, "qpu.aria-1") is None


def test_the_ledger_counts_completed_and_queued_top_level_paid_jobs(
    sessions: sessionmaker[Session], world: World
) -> None:
    parent = _job(world, estimated_cost=2.0**10, is_parent=True)
    _add(
        sessions,
        _job(world, estimated_cost=1.0),
        _job(world, estimated_cost=2.0, deleted_at=T0),  # deleted, but it was charged
        _job(world, status="submitted", estimated_cost=4.0, completed_at=None),
        _job(world, status="ready", estimated_cost=8.0, completed_at=None),
        _job(world, status="started", estimated_cost=16.0, completed_at=None),
        _job(world, status="failed", estimated_cost=32.0),
        _job(world, status="canceled", estimated_cost=64.0),
        _job(world, estimated_cost=128.0, dry_run=True),
        _job(world, status="ready", estimated_cost=256.0, dry_run=True, completed_at=None),
        _job(world, estimated_cost=512.0, parent_id=parent.id),  # billed through its parent
        parent,
        _job(world, project_id=world.p2, estimated_cost=2.0**11),
        _job(world, project_id=world.p2, status="ready", estimated_cost=2.0**12),
        _job(world, project_id=world.foreign, estimated_cost=2.0**13),
    )
    with transaction(sessions) as db:
        assert repo.project_spend(db, world.p1) == repo.Spend(
            charged=1.0 + 2.0 + 2.0**10, reserved=4.0 + 8.0 + 16.0
        )
        assert repo.project_spend(db, world.p2) == repo.Spend(charged=2.0**11, reserved=2.0**12)
        assert repo.organization_spend(db, world.org) == repo.Spend(
            charged=1.0 + 2.0 + 2.0**10 + 2.0**11, reserved=4.0 + 8.0 + 16.0 + 2.0**12
        )
        assert repo.organization_spend(db, world.other_org) == repo.Spend(
            charged=2.0**13, reserved=0.0
        )
        nothing = str(uuid.UUID(int=10**9))
        assert repo.project_spend(db, nothing) == repo.Spend(charged=0.0, reserved=0.0)


def _session(world: World, *, status: str = "started", cost_limit: float | None) -> JobSession:
    return JobSession(
        id=str(uuid.UUID(int=next(_ids))),
        organization_id=world.org,
        project_id=world.p1,
        creator_id=world.user,
        backend="qpu.aria-1",
        status=status,
        cost_limit=cost_limit,
        cost_limit_unit=None if cost_limit is None else "usd",
        created_at=T0,
    )


def test_sessions_at_their_cost_limit(sessions: sessionmaker[Session], world: World) -> None:
    at = _session(world, cost_limit=3.0)  # charged 1 + 2: exactly at it
    below = _session(world, cost_limit=3.0)  # charged 2.5
    created = _session(world, status="created", cost_limit=1.0)  # charged 1
    ended = _session(world, status="ended", cost_limit=1.0)  # charged 5, already ended
    unlimited = _session(world, cost_limit=None)  # charged 5
    unpaid = _session(world, cost_limit=1.0)  # only dry runs, children, failures, queued
    empty = _session(world, cost_limit=1.0)  # no jobs at all
    parent = _job(world, estimated_cost=0.0, is_parent=True, session_id=unpaid.id)
    _add(
        sessions,
        at,
        below,
        created,
        ended,
        unlimited,
        unpaid,
        empty,
        _job(world, session_id=at.id, estimated_cost=1.0),
        _job(world, session_id=at.id, estimated_cost=2.0),
        _job(world, session_id=below.id, estimated_cost=2.5),
        _job(world, session_id=created.id, estimated_cost=1.0),
        _job(world, session_id=ended.id, estimated_cost=5.0),
        _job(world, session_id=unlimited.id, estimated_cost=5.0),
        _job(world, session_id=unpaid.id, estimated_cost=5.0, dry_run=True),
        _job(world, session_id=unpaid.id, estimated_cost=5.0, parent_id=parent.id),
        parent,
        _job(world, session_id=unpaid.id, estimated_cost=5.0, status="failed"),
        _job(world, session_id=unpaid.id, estimated_cost=5.0, status="ready", completed_at=None),
        _job(world, estimated_cost=50.0),  # in no session
    )
    with transaction(sessions) as db:
        assert sorted(repo.sessions_at_cost_limit(db)) == sorted([at.id, created.id])
        assert repo.session_spend(db, at.id) == repo.Spend(charged=3.0, reserved=0.0)
        assert repo.session_spend(db, unpaid.id) == repo.Spend(charged=0.0, reserved=5.0)


def test_queued_time_is_the_leaf_jobs_waiting_or_running_on_the_backend(
    sessions: sessionmaker[Session], world: World
) -> None:
    def queued(status: str, ms: int, **fields: Any) -> Job:
        return _job(world, status=status, completed_at=None, predicted_execution_ms=ms, **fields)

    _add(
        sessions,
        queued("ready", 1),
        queued("started", 2),
        queued("submitted", 4),
        queued("ready", 8, is_parent=True),
        queued("ready", 16, deleted_at=T0),
        queued("ready", 32, backend="qpu.forte-1"),
        _job(world, predicted_execution_ms=64),  # completed
    )
    with transaction(sessions) as db:
        assert repo.queued_ms(db, "qpu.aria-1") == 1 + 2
        assert repo.queued_ms(db, "qpu.forte-1") == 32
        assert repo.queued_ms(db, "simulator") == 0


def test_usage_rows_are_the_billed_jobs_of_the_window_with_their_time(
    sessions: sessionmaker[Session], world: World
) -> None:
    start, end = T0, T0 + timedelta(days=1)
    parent = _job(world, estimated_cost=4.0, is_parent=True, name="parent")
    billed = _job(
        world,
        name="billed",
        estimated_cost=1.0,
        stats={"billed_quantum_compute_time_us": 1500, "predicted_quantum_compute_time_us": 9},
    )
    predicted = _job(
        world, name="predicted", estimated_cost=2.0, stats={"predicted_quantum_compute_time_us": 7}
    )
    timeless = _job(
        world,
        name="timeless",
        estimated_cost=8.0,
        stats={},
        completed_at=end - timedelta(microseconds=1),
    )
    zero = _job(
        world,
        name="zero",
        estimated_cost=16.0,
        stats={"billed_quantum_compute_time_us": None, "predicted_quantum_compute_time_us": 0},
    )
    _add(
        sessions,
        parent,
        billed,
        predicted,
        timeless,
        zero,
        _job(
            world,
            estimated_cost=32.0,
            parent_id=parent.id,
            stats={"billed_quantum_compute_time_us": 5},
        ),
        _job(world, estimated_cost=64.0, dry_run=True),
        _job(world, estimated_cost=128.0, status="failed"),
        _job(world, estimated_cost=256.0, completed_at=end),  # the window is [start, end)
        _job(world, estimated_cost=512.0, completed_at=start - timedelta(microseconds=1)),
        _job(world, project_id=world.foreign, estimated_cost=1024.0),
    )
    with transaction(sessions) as db:
        rows = repo.billed_jobs(db, project_ids=[world.p1, world.p2], start=start, end=end)
        assert repo.billed_jobs(db, project_ids=[], start=start, end=end) == []
    found = {r.name: (r.amount, r.time_us, r.project_id, r.submitter_id) for r in rows}
    assert found == {
        "parent": (4.0, 0.0, world.p1, world.user),
        "billed": (1.0, 1500.0, world.p1, world.user),
        "predicted": (2.0, 7.0, world.p1, world.user),
        "timeless": (8.0, 0.0, world.p1, world.user),
        "zero": (16.0, 0.0, world.p1, world.user),
    }
    assert {r.id for r in rows} == {parent.id, billed.id, predicted.id, timeless.id, zero.id}
    assert all(r.completed_at.tzinfo is not None for r in rows)

"""The job queries of store/jobs.py through the services that use them, in-process on both
databases (scripts/mutation sees them): a multi-circuit parent's status, cancelling and
deleting, listing and its filters, idempotent submissions and the predicted queue wait.

Time is injected (``now``): no sleeping, no wall clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ionstack.catalog import Catalog
from ionstack.errors import NotFound
from ionstack.runtime import queue
from ionstack.service import accounts, lifecycle, results
from ionstack.service import sessions as service_sessions
from ionstack.service.accounts import Caller
from ionstack.service.jobs import submit
from ionstack.settings import Settings
from ionstack.store import jobs as repo
from ionstack.store.database import transaction
from ionstack.store.tables import Job

CATALOG = Catalog()
SETTINGS = Settings()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]


@pytest.fixture
def owner(sessions: sessionmaker[Session]) -> Caller:
    """The owner in the default project; the same owner's key to a second project is "k-lab"."""
    with transaction(sessions, write=True) as db:
        made = accounts.bootstrap(db, key="k-owner")
        assert made is not None
        lab = accounts.create_project(db, organization_id=made.organization.id, name="lab")
        accounts.create_key(db, project=lab, user=made.owner, name="lab", key="k-lab")
        return accounts.authenticate(db, "apiKey k-owner")


@pytest.fixture
def lab(sessions: sessionmaker[Session], owner: Caller) -> Caller:
    with transaction(sessions) as db:
        caller = accounts.authenticate(db, "apiKey k-lab")
    assert caller.user_id == owner.user_id and caller.project_id != owner.project_id
    return caller


def _body(**extra: Any) -> dict[str, Any]:
    return {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 100,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
        **extra,
    }


def _multi(n: int = 2, **extra: Any) -> dict[str, Any]:
    circuits = [{"circuit": BELL}] * n
    return _body(
        type="ionq.multi-circuit.v1",
        input={"gateset": "qis", "qubits": 2, "circuits": circuits},
        **extra,
    )


def _submit(
    sessions: sessionmaker[Session], caller: Caller, body: dict[str, Any], *, now: datetime = T0
) -> str:
    with transaction(sessions, write=True) as db:
        return submit(db, body, caller=caller, catalog=CATALOG, settings=SETTINGS, now=now).id


def _row(sessions: sessionmaker[Session], job_id: str) -> Job:
    with transaction(sessions) as db:
        job = db.get(Job, job_id)
        assert job is not None
        db.expunge(job)
        return job


def _children(sessions: sessionmaker[Session], parent_id: str) -> list[str]:
    with transaction(sessions) as db:
        return [k.id for k in repo.children(db, parent_id)]


def _claim(sessions: sessionmaker[Session], job_id: str, *, now: datetime) -> queue.Claim:
    held = queue.claim(sessions, worker_id="w", lease_seconds=60, now=now)
    assert held is not None and held.job_id == job_id
    return held


def _complete(
    sessions: sessionmaker[Session], held: queue.Claim, *, now: datetime, billed_us: int
) -> None:
    outcome = queue.Outcome(
        probabilities={"0": 0.5, "3": 0.5},
        histogram=None,
        shots=None,
        variants=None,
        output={},
        stats={**held.stats, "billed_quantum_compute_time_us": billed_us},
        execution_duration_ms=1,
    )
    assert queue.complete(sessions, held, outcome, now=now)


def _cancel(
    sessions: sessionmaker[Session], caller: Caller, job_id: str, *, now: datetime
) -> list[str]:
    with transaction(sessions, write=True) as db:
        return lifecycle.cancel(db, lifecycle.get_job(db, caller, job_id), now=now)


# --- a parent's status from its children's ------------------------------------------------------


@pytest.mark.parametrize(
    ("children", "parent"),
    [
        ([], "failed"),  # a parent without children cannot succeed
        (["completed", "completed"], "completed"),
        (["completed", "failed"], "failed"),
        (["canceled", "failed"], "failed"),
        (["completed", "canceled"], "canceled"),
        (["canceled", "canceled"], "canceled"),
        (["ready", "ready"], "ready"),
        (["submitted", "ready"], "ready"),
        (["started", "ready"], "started"),
        (["completed", "ready"], "started"),
        (["failed", "ready"], "started"),
        (["canceled", "submitted"], "started"),
        (["failed", "started"], "started"),  # not over while a child runs
    ],
)
def test_a_parent_status_follows_its_children(children: list[str], parent: str) -> None:
    assert repo.aggregate_status(children) == parent


def test_a_parent_starts_with_its_first_child_and_ends_with_its_last(
    sessions: sessionmaker[Session], owner: Caller
) -> None:
    """A parent's times, duration and billed time come from its children: started when its
    first child started, over when its last child is, billed what its children were."""
    parent = _submit(sessions, owner, _multi())
    first, second = _children(sessions, parent)
    t1, t2, t3 = (T0 + timedelta(minutes=m) for m in (1, 2, 3))
    run = _claim(sessions, first, now=t1)
    row = _row(sessions, parent)
    assert (row.status, row.started_at, row.completed_at) == ("started", t1, None)
    _complete(sessions, run, now=t2, billed_us=0)  # a simulator bills no QPU time
    run = _claim(sessions, second, now=t2)
    assert _row(sessions, parent).started_at == t1  # its first child's start, kept
    _complete(sessions, run, now=t3, billed_us=0)
    row = _row(sessions, parent)
    assert (row.status, row.started_at, row.completed_at) == ("completed", t1, t3)
    assert row.execution_duration_ms == 2 and row.has_results
    assert row.stats["billed_quantum_compute_time_us"] == 0
    # its results: each child's, by child id; a child's own
    with transaction(sessions) as db:
        done = lifecycle.get_job(db, owner, parent)
        each = {"0": 0.5, "3": 0.5}
        assert results.job_results(db, done, "probabilities", aggregation="average") == {
            first: each,
            second: each,
        }
        kid = lifecycle.get_job(db, owner, second)
        assert results.job_results(db, kid, "probabilities", aggregation="average") == each


def test_a_parent_with_a_canceled_child_ends_canceled(
    sessions: sessionmaker[Session], owner: Caller
) -> None:
    """Cancelling one child leaves its sibling to run; the parent is then under way (started,
    dated by the cancel), and canceled once the sibling is done; a never-run child adds no
    execution time."""
    parent = _submit(sessions, owner, _multi())
    first, second = _children(sessions, parent)
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    assert _cancel(sessions, owner, second, now=t1) == [second, parent]
    row = _row(sessions, parent)
    assert (row.status, row.started_at, row.completed_at) == ("started", t1, None)
    run = _claim(sessions, first, now=t2)
    _complete(sessions, run, now=t2, billed_us=5)
    row = _row(sessions, parent)
    assert (row.status, row.completed_at, row.execution_duration_ms) == ("canceled", t2, 1)
    assert not row.has_results
    # the other way round: cancelling the last child still queued ends its parent at once
    # (the cancel's own transaction had loaded that child before its bulk UPDATE)
    parent = _submit(sessions, owner, _multi())
    first, second = _children(sessions, parent)
    _complete(sessions, _claim(sessions, first, now=t2), now=t2, billed_us=0)
    assert _row(sessions, parent).status == "started"
    t3 = t2 + timedelta(minutes=1)
    assert _cancel(sessions, owner, second, now=t3) == [second, parent]
    row = _row(sessions, parent)
    assert (row.status, row.completed_at, row.execution_duration_ms) == ("canceled", t3, 1)


# --- cancel and delete ---------------------------------------------------------------------------


def test_cancel_ends_active_jobs_and_leaves_finished_ones(
    sessions: sessionmaker[Session], owner: Caller
) -> None:
    """A running or queued job is canceled at ``now`` with its lease cleared, and reported as
    changed; a finished job is left as it is, and nothing is reported."""
    running = _submit(sessions, owner, _body(name="running"))
    queued = _submit(sessions, owner, _body(name="queued"))
    done = _submit(sessions, owner, _body(name="done"))
    t1, t2, t3 = (T0 + timedelta(minutes=m) for m in (1, 2, 3))
    _claim(sessions, running, now=t1)
    assert _row(sessions, running).lease_until is not None
    assert _cancel(sessions, owner, running, now=t2) == [running]
    row = _row(sessions, running)
    assert (row.status, row.completed_at, row.lease_until) == ("canceled", t2, None)
    assert _cancel(sessions, owner, queued, now=t2) == [queued]
    row = _row(sessions, queued)
    assert (row.status, row.completed_at) == ("canceled", t2)
    _complete(sessions, _claim(sessions, done, now=t2), now=t2, billed_us=0)
    assert _cancel(sessions, owner, done, now=t3) == []
    row = _row(sessions, done)
    assert (row.status, row.completed_at) == ("completed", t2)
    # cancelling again changes nothing either
    assert _cancel(sessions, owner, running, now=t3) == []
    assert _row(sessions, running).completed_at == t2
    with transaction(sessions, write=True) as db:
        assert repo.cancel_active(db, [], now=t3) == 0
        assert repo.cancel_active(db, [running, done], now=t3) == 0


def test_cancel_and_delete_a_parent_take_its_children(
    sessions: sessionmaker[Session], owner: Caller, lab: Caller
) -> None:
    parent = _submit(sessions, owner, _multi())
    kids = _children(sessions, parent)
    assert sorted(_cancel(sessions, owner, parent, now=T0)) == sorted([parent, *kids])
    assert {_row(sessions, j).status for j in [parent, *kids]} == {"canceled"}
    other = _submit(sessions, owner, _multi(3))
    other_kids = _children(sessions, other)
    keep = _submit(sessions, owner, _body())
    theirs = _submit(sessions, lab, _body())
    t1 = T0 + timedelta(minutes=1)
    with transaction(sessions, write=True) as db:
        gone = lifecycle.delete(db, lifecycle.get_job(db, owner, other), now=t1)
    assert gone == sorted([other, *other_kids])
    for job_id in [other, *other_kids]:
        row = _row(sessions, job_id)
        assert (row.status, row.deleted_at) == ("canceled", t1)
    assert _row(sessions, keep).deleted_at is None
    with transaction(sessions) as db:
        for look_up in (lifecycle.get_job, lifecycle.read_job):
            with pytest.raises(NotFound):  # a deleted job is gone for its owner
                look_up(db, owner, other)
            with pytest.raises(NotFound):
                look_up(db, owner, "not-a-job")
            with pytest.raises(NotFound):  # another project's
                look_up(db, owner, theirs)
            found = look_up(db, owner, keep.upper())  # any spelling of the UUID
            assert (found.id, found.status, found.deleted_at) == (keep, "ready", None)
        assert repo.get(db, other) is None and repo.get(db, keep) is not None
    listed = _list(sessions, owner)
    assert other not in listed and keep in listed


# --- listing -----------------------------------------------------------------------------------


def _list(sessions: sessionmaker[Session], caller: Caller, **filters: Any) -> list[str]:
    with transaction(sessions) as db:
        return [j.id for j in lifecycle.list_jobs(db, caller, **filters).jobs]


def test_listing_filters_and_pages(
    sessions: sessionmaker[Session], owner: Caller, lab: Caller
) -> None:
    """Newest first, the caller's project only; each filter keeps exactly its jobs; a page ends
    at its size with a cursor to the next one."""
    elsewhere = _submit(sessions, lab, _body(name="Alpha elsewhere"))
    alpha = _submit(sessions, owner, _body(name="Alpha run"))
    beta = _submit(sessions, owner, _body(name="beta_50%", backend="qpu.aria-1"))
    gamma = _submit(sessions, owner, _body(name="gamma"))
    multi = _submit(sessions, owner, _multi(name="multi"))
    kids = sorted(_children(sessions, multi), reverse=True)
    everything = [*kids, multi, gamma, beta, alpha]  # newest first (UUIDv7 ids)
    assert _list(sessions, owner) == everything
    # search: a name containing it (any case; % and _ are plain characters) or an id prefix
    assert _list(sessions, owner, search="ALPHA") == [alpha]
    assert _list(sessions, owner, search="a_5") == [beta]
    assert _list(sessions, owner, search="a%r") == []
    assert _list(sessions, owner, search="_") == [beta]  # not every id ("_" is any character)
    assert _list(sessions, owner, search=gamma[:30]) == [gamma]
    assert _list(sessions, owner, ids=[alpha, gamma]) == [gamma, alpha]
    assert _list(sessions, owner, target="qpu.aria-1") == [beta]
    assert _list(sessions, owner, parent_job_id=multi) == kids
    assert _list(sessions, lab) == [elsewhere]
    assert _list(sessions, owner, ids=[elsewhere, alpha]) == [alpha]
    _complete(sessions, _claim(sessions, elsewhere, now=T0), now=T0, billed_us=0)
    _complete(sessions, _claim(sessions, alpha, now=T0), now=T0, billed_us=0)
    assert _list(sessions, owner, status="completed") == [alpha]
    assert _list(sessions, owner, status="ready") == [*kids, multi, gamma, beta]
    # a session's jobs
    with transaction(sessions, write=True) as db:
        body = {"backend": "simulator"}
        made = service_sessions.create(
            db, body, caller=owner, catalog=CATALOG, settings=SETTINGS, now=T0
        )
    joined = _submit(sessions, owner, _body(session_id=made.id))
    assert _list(sessions, owner, session_id=made.id) == [joined]
    everything.insert(0, joined)
    # pages: a limit, and the cursor to the next page
    with transaction(sessions) as db:
        first = lifecycle.list_jobs(db, owner, limit=2)
        assert [j.id for j in first.jobs] == everything[:2] and first.next == everything[2]
        rest = lifecycle.list_jobs(db, owner, next_id=first.next)
        assert [j.id for j in rest.jobs] == everything[2:] and rest.next is None


# --- idempotency and the queue wait -------------------------------------------------------------


def test_an_idempotency_key_replays_its_job_in_its_project(
    sessions: sessionmaker[Session], owner: Caller, lab: Caller
) -> None:
    with transaction(sessions, write=True) as db:
        first = submit(
            db,
            _body(),
            caller=owner,
            catalog=CATALOG,
            settings=SETTINGS,
            now=T0,
            idempotency_key="k1",
        )
        again = submit(
            db,
            _body(),
            caller=owner,
            catalog=CATALOG,
            settings=SETTINGS,
            now=T0,
            idempotency_key="k1",
        )
        other = submit(
            db,
            _body(),
            caller=owner,
            catalog=CATALOG,
            settings=SETTINGS,
            now=T0,
            idempotency_key="k2",
        )
    assert not first.replayed and again.replayed and again.id == first.id
    assert not other.replayed and other.id != first.id
    with transaction(sessions, write=True) as db:
        # a key is the project's own: another project's same key is a new job
        theirs = submit(
            db,
            _body(),
            caller=lab,
            catalog=CATALOG,
            settings=SETTINGS,
            now=T0,
            idempotency_key="k1",
        )
    assert not theirs.replayed and theirs.id not in (first.id, other.id)
    with transaction(sessions) as db:
        assert len(db.scalars(select(Job.id)).all()) == 3


def test_predicted_wait_is_the_work_ahead_on_the_backend(
    sessions: sessionmaker[Session], owner: Caller
) -> None:
    """The jobs ahead of a queued job on its backend: every started one, and the queued ones of
    a higher priority (session jobs) or submitted before it; other backends, later jobs,
    parents, and finished or deleted jobs add nothing."""
    aria = {"backend": "qpu.aria-1"}
    a, b, c, d = (_submit(sessions, owner, _body(**aria)) for _ in range(4))
    _submit(sessions, owner, _body())  # the simulator's queue
    each = _row(sessions, a).predicted_execution_ms
    assert each is not None and each > 0

    def wait(job_id: str) -> int:
        with transaction(sessions) as db:
            return lifecycle.predicted_wait_ms(db, _row(sessions, job_id))

    assert [wait(j) for j in (a, b, c, d)] == [0, each, 2 * each, 3 * each]
    _claim(sessions, a, now=T0)  # started: still ahead of every queued job
    assert [wait(j) for j in (b, c, d)] == [each, 2 * each, 3 * each]
    _complete(sessions, _claim(sessions, b, now=T0), now=T0, billed_us=0)  # over: not ahead
    assert [wait(j) for j in (c, d)] == [each, 2 * each]
    with transaction(sessions, write=True) as db:
        lifecycle.delete(db, lifecycle.get_job(db, owner, c), now=T0)
    assert wait(d) == each
    # a session job (priority 0) goes ahead of the earlier jobs
    with transaction(sessions, write=True) as db:
        made = service_sessions.create(
            db, {"backend": "qpu.aria-1"}, caller=owner, catalog=CATALOG, settings=SETTINGS, now=T0
        )
    first = _submit(sessions, owner, _body(session_id=made.id, **aria))
    assert (wait(first), wait(d)) == (each, 2 * each)
    parent = _submit(sessions, owner, _multi(**aria))
    assert wait(parent) == 0  # a parent's children wait, not the parent
    kid = _children(sessions, parent)[0]
    assert wait(kid) == 3 * each

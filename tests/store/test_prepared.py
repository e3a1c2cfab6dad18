"""The request path's hot statements (store/prepared.py) read what the ORM reads, on both
databases: every column of a job, its result row, a rate card and a key's owners, with the same
values and types (timestamps aware, booleans, JSON with non-ASCII text and big integers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ionstack.catalog import Catalog
from ionstack.errors import Unauthorized
from ionstack.runtime import queue
from ionstack.service import accounts, billing, lifecycle
from ionstack.service.jobs import submit
from ionstack.settings import Settings
from ionstack.store import accounts as account_store
from ionstack.store import billing as billing_store
from ionstack.store import jobs as job_store
from ionstack.store.database import transaction
from ionstack.store.tables import ApiKey, Job, JobResult, Organization, Project, RateCard, User

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BODY = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "name": "é ∑ snowman ☃",
    "shots": 100,
    "metadata": {"ключ": "значение", "n": "12345678901234567890123"},
    "noise": {"model": "aria-1", "seed": 7},
    "settings": {"error_mitigation": {"debiasing": False}},
    "input": {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}


def _columns(row: object, table: Any) -> dict[str, Any]:
    return {a.key: getattr(row, a.key) for a in inspect(table).column_attrs}


def _same(fast: dict[str, Any], orm: dict[str, Any]) -> None:
    assert fast.keys() == orm.keys()
    for key, value in orm.items():
        assert fast[key] == value, key
        assert type(fast[key]) is type(value), key
        if isinstance(value, datetime):
            assert fast[key].tzinfo is not None, key


@pytest.fixture
def completed(sessions: sessionmaker[Session]) -> str:
    with transaction(sessions, write=True) as db:
        accounts.bootstrap(db, key="k-owner")
        caller = accounts.authenticate(db, "apiKey k-owner")
        job_id = submit(db, BODY, caller=caller, catalog=Catalog(), settings=Settings(), now=T0).id
    held = queue.claim(sessions, worker_id="w", lease_seconds=60, now=T0)
    assert held is not None and held.job_id == job_id
    outcome = queue.Outcome(
        probabilities={"0": 0.25, "3": 0.75},
        histogram={"0": 25, "3": 75},
        shots=["0", "3"] * 50,
        variants=None,
        output={"noise_model": {"kind": "published", "model": "aria-1"}},
        stats=queue.billed(held.stats),
        execution_duration_ms=3,
    )
    assert queue.complete(sessions, held, outcome, now=T0 + timedelta(seconds=1))
    return job_id


def test_a_job_and_its_result_read_as_the_orm_reads_them(
    sessions: sessionmaker[Session], completed: str
) -> None:
    with transaction(sessions) as db:
        orm_job = db.get(Job, completed)
        orm_result = db.get(JobResult, completed)
        assert orm_job is not None and orm_result is not None
        orm = _columns(orm_job, Job), _columns(orm_result, JobResult)
    with transaction(sessions) as db:
        fast_job = job_store.read(db, completed)
        fast_result = job_store.result(db, completed)
        assert fast_job is not None and fast_result is not None
        _same(_columns(fast_job, Job), orm[0])
        _same(_columns(fast_result, JobResult), orm[1])
        assert fast_job.completed_at is not None and fast_job.completed_at > fast_job.submitted_at
        assert fast_job.name == "é ∑ snowman ☃" and fast_job.has_results is True
        assert fast_result.histogram == {"0": 25, "3": 75}


def test_a_deleted_or_unknown_job_is_not_read(
    sessions: sessionmaker[Session], completed: str
) -> None:
    with transaction(sessions, write=True) as db:
        job_store.mark_deleted(db, [completed], now=T0 + timedelta(seconds=2))
    with transaction(sessions) as db:
        assert job_store.read(db, completed) is None
        assert job_store.read(db, "00000000-0000-7000-8000-000000000000") is None
        assert job_store.result(db, "00000000-0000-7000-8000-000000000000") is None


def test_reads_see_the_transactions_own_writes(sessions: sessionmaker[Session]) -> None:
    """The statements run on the session's connection, inside its transaction."""
    with transaction(sessions, write=True) as db:
        accounts.bootstrap(db, key="k-owner")
        caller = accounts.authenticate(db, "apiKey k-owner")  # not committed yet
        job_id = submit(db, BODY, caller=caller, catalog=Catalog(), settings=Settings(), now=T0).id
        seen = lifecycle.read_job(db, caller, job_id)
        assert seen.status == "ready" and seen.project_id == caller.project_id
        billing.set_rates(db, Catalog(), "simulator", now=T0, cost_1q_gate=0.5)
        assert billing.rates_for(db, "simulator").cost_1q_gate == 0.5
        db.rollback()
    with transaction(sessions) as db:
        assert db.scalar(select(Job.id)) is None


def test_a_rate_card_reads_as_the_orm_reads_it(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions, write=True) as db:
        assert billing_store.rate_card(db, "qpu.aria-1") is None
        billing.set_rates(
            db, Catalog(), "qpu.aria-1", now=T0, unit="compute_second", unit_cost=1.25
        )
    with transaction(sessions) as db:
        orm_card = db.get(RateCard, "qpu.aria-1")
        fast_card = billing_store.rate_card(db, "qpu.aria-1")
        assert orm_card is not None and fast_card is not None
        _same(_columns(fast_card, RateCard), _columns(orm_card, RateCard))
        assert fast_card.unit == "compute_second" and fast_card.unit_cost == 1.25


def test_a_key_and_its_owners_read_as_the_orm_reads_them(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions, write=True) as db:
        made = accounts.bootstrap(db, key="k-owner")
        assert made is not None
        made.organization.qpu_access = False
    with transaction(sessions) as db:
        key = db.scalars(select(ApiKey)).one()
        owner = account_store.key_by_hash(db, key.key_hash)
        assert owner is not None
        project = db.get(Project, key.project_id)
        user = db.get(User, key.user_id)
        assert project is not None and user is not None
        org = db.get(Organization, project.organization_id)
        assert org is not None
        assert owner == account_store.KeyOwner(
            key_id=key.id,
            key_name=key.name,
            revoked=False,
            project_id=project.id,
            user_id=user.id,
            role=user.role,
            organization_id=org.id,
            qpu_access=False,
        )
        assert account_store.key_by_hash(db, "0" * 64) is None


def test_a_revoked_key_reads_as_revoked(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions, write=True) as db:
        accounts.bootstrap(db, key="k-owner")
        key = db.scalars(select(ApiKey)).one()
        key.revoked_at = T0
    with transaction(sessions) as db:
        owner = account_store.key_by_hash(db, key.key_hash)
        assert owner is not None and owner.revoked is True
        with pytest.raises(Unauthorized):
            accounts.authenticate(db, "apiKey k-owner")


def _stored(db: Session, job_id: str) -> dict[str, Any]:
    """The row as the database holds it, every column cast to text (JSON as its text, SQL NULL
    as None), not as the column types read it."""
    names = [c.name for c in Job.__table__.columns]
    listed = ", ".join(f'CAST("{n}" AS TEXT) AS "{n}"' for n in names)
    row = db.execute(text(f"SELECT {listed} FROM jobs WHERE id = :id"), {"id": job_id})
    return dict(row.mappings().one())


@pytest.mark.parametrize("explicit", [True, False], ids=["every-attribute-set", "defaults"])
def test_a_new_job_row_is_stored_as_a_flush_stores_it(
    sessions: sessionmaker[Session], explicit: bool
) -> None:
    """``insert_new`` (the submission path) against ``add`` + ``flush``, byte for byte: JSON
    text, JSON null vs SQL NULL for attributes never set, column defaults, timestamps."""
    with transaction(sessions, write=True) as db:
        accounts.bootstrap(db, key="k-owner")
        caller = accounts.authenticate(db, "apiKey k-owner")

    def new(job_id: str) -> Job:
        fields: dict[str, Any] = {
            "id": job_id,
            "project_id": caller.project_id,
            "submitter_id": caller.user_id,
            "key_id": caller.key_id,
            "type": "ionq.circuit.v1",
            "backend": "simulator",
            "status": "ready",
            "input": {"qubits": 2, "circuit": [{"gate": "h", "target": 0}], "ω": 2**70},
            "submitted_at": T0,
        }
        if explicit:
            fields |= {
                "name": "☃",
                "job_metadata": None,
                "noise": {"model": "ideal"},
                "child_ids": None,
                "failure": None,
                "settings": {"a": [1, 2.5, None]},
                "stats": {"gate_counts": {"1q": 1, "2q": 0}},
                "estimated_cost": 0.25,
                "priority": 0,
                "completed_at": T0 + timedelta(microseconds=1),
            }
        return Job(**fields)

    ids = ("00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b")
    with transaction(sessions, write=True) as db:
        db.add(new(ids[0]))
        db.flush()
        job_store.insert_new(db, new(ids[1]))
    with transaction(sessions) as db:
        flushed, inserted = _stored(db, ids[0]), _stored(db, ids[1])
    assert inserted.pop("id") != flushed.pop("id")
    assert inserted == flushed


def test_a_duplicate_row_raises_integrity_error_and_its_savepoint_recovers(
    sessions: sessionmaker[Session], completed: str
) -> None:
    """A driver's error comes out as SQLAlchemy's (submit catches ``IntegrityError`` for an
    Idempotency-Key race), and the transaction goes on after its savepoint rolls back."""
    with transaction(sessions, write=True) as db:
        again = Job(**_columns(job_store.read(db, completed), Job))
        with pytest.raises(IntegrityError), db.begin_nested():
            job_store.insert_new(db, again)
        assert job_store.read(db, completed) is not None  # the transaction is usable

"""Sessions (semantics.md §7): a run of jobs on one backend with optional limits.

State machine: ``created`` → ``started`` (its first job is accepted into the queue) → ``ended``
(by ``POST /sessions/{id}/end``, or by a limit). Limits:

- ``job_count_limit``: the (limit+1)-th top-level job is refused (400); the session ends once
  ``limit`` jobs were submitted and all of them are terminal.
- ``cost_limit``: a job whose price would take committed cost (charged + reserved) over the
  limit is refused (400); the session ends once the charged cost reaches the limit, and its
  jobs still queued then (free ones: priced jobs cannot fit) are cancelled (``SystemCancel``).
- ``duration_limit_min``: the session ends at ``expires_at`` (``started_at`` + the limit; before
  the start, ``created_at`` + the limit). Jobs still queued then are cancelled with
  ``failure.code = SystemCancel``; a running job completes.

Limit ends are evaluated lazily — on every read and submission, and by the queue before each
claim (so a worker never starts a job of a session that a limit ended) — and are dated when they
happened (``expires_at``, or the completion of the job that reached the limit), not when they
were noticed. ``ender_id`` is null for a limit end (the system) and the caller for an explicit
end. Session jobs go ahead of other jobs in the queue (``priority`` 0).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ionstack import ids
from ionstack.catalog import Backend, Catalog
from ionstack.errors import BadRequest, Forbidden, NotFound
from ionstack.logs import job_event
from ionstack.service.accounts import Caller
from ionstack.settings import Settings
from ionstack.store import billing as billing_repo
from ionstack.store import sessions as repo
from ionstack.store.tables import Job, JobSession
from ionstack.times import iso_z

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

#: qiskit-ionq names a simulator session's backend ``ionq_simulator`` (clients.md §1.6)
BACKEND_ALIASES = {"ionq_simulator": "simulator"}
SETTINGS_KEYS = ("job_count_limit", "duration_limit_min", "cost_limit")
COST_UNITS = ("usd",)
SESSION_PRIORITY = 0


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- create ------------------------------------------------------------------------------------


def create(
    db: Session,
    body: object,
    *,
    caller: Caller,
    catalog: Catalog,
    settings: Settings,
    now: datetime,
) -> JobSession:
    """``POST /sessions``: validate the request and write the session (``created``)."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", source="payload")
    extra = sorted(set(body) - {"backend", "settings"})
    if extra:
        raise BadRequest(f'"{extra[0]}" is not allowed', keys=extra, source="payload")
    backend = _backend(body.get("backend"), catalog)
    if backend.is_qpu and not caller.qpu_access:
        raise Forbidden(f"Your organization does not have access to {backend.name}.")
    limits = _limits(body.get("settings"), settings)
    row = JobSession(
        id=ids.uuid7(),
        organization_id=caller.organization_id,
        project_id=caller.project_id,
        creator_id=caller.user_id,
        backend=backend.name,
        status="created",
        job_count_limit=limits.get("job_count_limit"),
        duration_limit_min=limits.get("duration_limit_min"),
        cost_limit=limits.get("cost_limit"),
        cost_limit_unit="usd" if "cost_limit" in limits else None,
        created_at=now,
    )
    if row.duration_limit_min is not None:
        row.expires_at = now + timedelta(minutes=row.duration_limit_min)
    db.add(row)
    db.flush()
    return row


def _backend(value: object, catalog: Catalog) -> Backend:
    if value is None:
        raise BadRequest('"backend" is required', keys=["backend"], source="payload")
    if not isinstance(value, str):
        raise BadRequest('"backend" must be a string', keys=["backend"], source="payload")
    backend = catalog.get(BACKEND_ALIASES.get(value, value))
    if backend is None:
        raise BadRequest(
            f'"backend" {value!r} is not a known backend', keys=["backend"], source="payload"
        )
    if backend.status != "available":
        raise BadRequest(
            f"Backend {backend.name} is {backend.status}.", keys=["backend"], source="payload"
        )
    return backend


def _int_limit(value: object, key: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f'"{key}" must be an integer', keys=[key], source="payload")
    if isinstance(value, float) and not value.is_integer():
        raise BadRequest(f'"{key}" must be an integer', keys=[key], source="payload")
    number = int(value)
    if number < 1:
        raise BadRequest(f'"{key}" must be greater than or equal to 1', keys=[key])
    if number > maximum:
        raise BadRequest(f'"{key}" must be less than or equal to {maximum}', keys=[key])
    return number


def _limits(value: object, settings: Settings) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest('"settings" must be an object', keys=["settings"], source="payload")
    extra = sorted(set(value) - set(SETTINGS_KEYS))
    if extra:
        keys = [f"settings.{k}" for k in extra]
        raise BadRequest(f'"{keys[0]}" is not allowed', keys=keys, source="payload")
    out: dict[str, Any] = {}
    if value.get("job_count_limit") is not None:
        out["job_count_limit"] = _int_limit(
            value["job_count_limit"], "settings.job_count_limit", settings.session_max_job_count
        )
    if value.get("duration_limit_min") is not None:
        out["duration_limit_min"] = _int_limit(
            value["duration_limit_min"],
            "settings.duration_limit_min",
            settings.session_max_duration_min,
        )
    if value.get("cost_limit") is not None:
        out["cost_limit"] = _cost_limit(value["cost_limit"], settings)
    return out


def _cost_limit(value: object, settings: Settings) -> float:
    key = "settings.cost_limit"
    if not isinstance(value, dict):
        raise BadRequest(f'"{key}" must be an object', keys=[key], source="payload")
    extra = sorted(set(value) - {"unit", "value"})
    if extra:
        keys = [f"{key}.{k}" for k in extra]
        raise BadRequest(f'"{keys[0]}" is not allowed', keys=keys, source="payload")
    unit = value.get("unit")
    if unit is None:
        raise BadRequest(f'"{key}.unit" is required', keys=[f"{key}.unit"], source="payload")
    if not isinstance(unit, str) or unit.lower() not in COST_UNITS:
        raise BadRequest(f'"{key}.unit" must be "usd"', keys=[f"{key}.unit"], source="payload")
    amount = value.get("value")
    if amount is None:
        raise BadRequest(f'"{key}.value" is required', keys=[f"{key}.value"], source="payload")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise BadRequest(f'"{key}.value" must be a number', keys=[f"{key}.value"], source="payload")
    if not math.isfinite(amount) or amount <= 0:
        raise BadRequest(
            f'"{key}.value" must be greater than 0', keys=[f"{key}.value"], source="payload"
        )
    if amount > settings.session_max_cost_usd:
        raise BadRequest(
            f'"{key}.value" must be less than or equal to {settings.session_max_cost_usd:g}',
            keys=[f"{key}.value"],
            source="payload",
        )
    return float(amount)


# --- read, list, end ---------------------------------------------------------------------------


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def get(db: Session, caller: Caller, session_id: str, *, now: datetime) -> JobSession:
    """A session of the caller's project (404 otherwise), with its limits evaluated."""
    found = repo.get(db, session_id, for_update=True) if _is_uuid(session_id) else None
    if found is None or found.project_id != caller.project_id:
        raise NotFound()
    refresh(db, found, now=now)
    return found


def listing(db: Session, caller: Caller, *, active: bool | None, now: datetime) -> list[JobSession]:
    """The caller's project's sessions, newest first, optionally only (in)active ones."""
    rows = repo.listing(db, project_id=caller.project_id, active=None)
    for row in rows:
        refresh(db, row, now=now)
    if active is None:
        return rows
    return [r for r in rows if (r.status != "ended") == active]


def end(db: Session, caller: Caller, session_id: str, *, now: datetime) -> JobSession:
    """``POST /sessions/{id}/end``: stop accepting jobs (queued jobs still run). Idempotent:
    an ended session is returned unchanged."""
    found = get(db, caller, session_id, now=now)
    if found.status != "ended":
        found.status = "ended"
        found.ended_at = now
        found.ender_id = caller.user_id
        found.end_reason = "user"
        db.flush()
    return found


def refresh(db: Session, row: JobSession, *, now: datetime) -> None:
    """End the session if one of its limits says so (evaluated lazily; dated when it
    happened)."""
    if row.status == "ended":
        return
    if row.expires_at is not None and now >= row.expires_at:
        _end_by_limit(db, row, at=row.expires_at, reason="duration_limit", now=now)
        return
    if row.job_count_limit is not None:
        tally = repo.tally(db, row.id)
        if tally.total >= row.job_count_limit and tally.terminal == tally.total:
            _end_by_limit(db, row, at=tally.last_completed_at or now, reason="job_count_limit")
            return
    if row.cost_limit is not None:
        spend = billing_repo.session_spend(db, row.id)
        if spend.charged >= row.cost_limit - 1e-9:
            tally = repo.tally(db, row.id)
            _end_by_limit(db, row, at=tally.last_completed_at or now, reason="cost_limit", now=now)


def _end_by_limit(
    db: Session, row: JobSession, *, at: datetime, reason: str, now: datetime | None = None
) -> None:
    row.status = "ended"
    row.ended_at = at
    row.ender_id = None
    row.end_reason = reason
    db.flush()
    if now is not None:
        what = reason.replace("_", " ")
        canceled = repo.cancel_queued(
            db, row.id, now=now, message=f"Canceled by the system: the session reached its {what}."
        )
        for job_id in canceled:
            job_event(
                logger,
                "job_canceled",
                job_id=job_id,
                project_id=row.project_id,
                backend=row.backend,
                code="SystemCancel",
                session_id=row.id,
            )


def end_expired(db: Session, *, now: datetime) -> int:
    """End every open session that a limit ended: past its ``expires_at``, or with its charged
    cost at its ``cost_limit`` (the queue calls this before a claim, in the claim's
    transaction, so no worker starts a job that the end cancels). Returns how many ended."""
    ended = 0
    due = {*repo.due(db, now=now), *billing_repo.sessions_at_cost_limit(db)}
    for session_id in sorted(due):
        row = repo.get(db, session_id, for_update=True)
        if row is not None and row.status != "ended":
            refresh(db, row, now=now)
            if row.status == "ended":
                ended += 1
    return ended


# --- joining (POST /jobs with session_id) ------------------------------------------------------


def _refuse(message: str) -> BadRequest:
    return BadRequest(message, keys=["session_id"], source="payload")


def admit(
    db: Session, session_id: str, *, caller: Caller, backend: str, now: datetime
) -> JobSession:
    """The session a new job joins, or 400 with ``validation.keys = ["session_id"]``: unknown,
    of another project, ended, on another backend, or at its job count limit. Locks the
    session row so concurrent submissions are counted one after the other."""
    found = repo.get(db, session_id, for_update=True) if _is_uuid(session_id) else None
    if found is None or found.project_id != caller.project_id:
        raise _refuse(f"Session {session_id!r} does not exist in this project.")
    refresh(db, found, now=now)
    if found.status == "ended":
        if found.end_reason == "job_count_limit":  # its last job may finish before this POST
            raise _refuse(
                f"Session {session_id} reached its job_count_limit of {found.job_count_limit}."
            )
        raise _refuse(f"Session {session_id} has ended and accepts no more jobs.")
    if found.backend != backend:
        raise _refuse(f"Session {session_id} runs on {found.backend}; this job targets {backend}.")
    if found.job_count_limit is not None:
        tally = repo.tally(db, found.id)
        if tally.total >= found.job_count_limit:
            raise _refuse(
                f"Session {session_id} reached its job_count_limit of {found.job_count_limit}."
            )
    return found


def check_cost(db: Session, row: JobSession, amount: float) -> None:
    """Refuse a job whose price would take the session's committed cost over its limit."""
    if row.cost_limit is None or amount <= 0:
        return
    spend = billing_repo.session_spend(db, row.id)
    committed = spend.charged + spend.reserved
    if committed + amount > row.cost_limit + 1e-9:
        raise _refuse(
            f"The job's estimated cost (${amount:,.2f}) would take session {row.id} over its "
            f"cost_limit (${row.cost_limit:,.2f}; ${committed:,.2f} committed)."
        )


def joined(db: Session, row: JobSession, job: Job, *, now: datetime) -> None:
    """A job entered the session: ``created`` → ``started`` when it entered the queue."""
    if row.status == "created" and job.status != "failed":
        row.status = "started"
        row.started_at = now
        if row.duration_limit_min is not None:
            row.expires_at = now + timedelta(minutes=row.duration_limit_min)
        db.flush()


# --- wire --------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return iso_z(moment) if moment is not None else None


def usage_times(db: Session, session_ids: list[str]) -> dict[str, int]:
    """Billed execution time (ms) of each session's jobs so far."""
    return repo.usage_times(db, session_ids)


def wire(row: JobSession, *, usage_time_ms: int = 0) -> dict[str, Any]:
    """A ``Session`` of the spec, plus the two keys qiskit-ionq and the ``ionq`` SDK read
    (clients.md §1.2): ``state`` (the spec's ``status``) and ``usage_time`` (billed execution
    milliseconds of the session's jobs). Listed as a spec defect in tests/support/spec.py."""
    settings: dict[str, Any] = {}
    if row.job_count_limit is not None:
        settings["job_count_limit"] = row.job_count_limit
    if row.duration_limit_min is not None:
        settings["duration_limit_min"] = row.duration_limit_min
    if row.cost_limit is not None:
        settings["cost_limit"] = {"unit": row.cost_limit_unit or "usd", "value": row.cost_limit}
    if row.expires_at is not None:
        settings["expires_at"] = iso_z(row.expires_at)
    return {
        "id": row.id,
        "created_at": iso_z(row.created_at),
        "organization_id": row.organization_id,
        "backend": row.backend,
        "project_id": row.project_id,
        "creator_id": row.creator_id,
        "ended_at": _iso(row.ended_at),
        "ender_id": row.ender_id,
        "settings": settings,
        "active": row.status != "ended",
        "status": row.status,
        "started_at": _iso(row.started_at),
        "state": row.status,
        "usage_time": usage_time_ms,
    }

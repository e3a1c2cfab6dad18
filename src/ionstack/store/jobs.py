"""Queries over jobs and their results.

The queue's own statements (claim, lease, complete) live in :mod:`ionstack.runtime.queue`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Table, bindparam, func, insert, or_, select, update
from sqlalchemy import null as sql_null
from sqlalchemy.orm import Session

from ionstack.store.prepared import Prepared, mapped_columns
from ionstack.store.tables import Job, JobResult

_JOB_COLUMNS, _JOB_SELECTED = mapped_columns(Job)
_READ_JOB = Prepared(
    select(*_JOB_SELECTED).where(Job.id == bindparam("job_id"), Job.deleted_at.is_(None))
)
_INSERT_JOB = Prepared(
    insert(cast(Table, Job.__table__)).values(
        {
            column.key: bindparam(name, type_=column.type)
            for name, column in zip(_JOB_COLUMNS, _JOB_SELECTED, strict=True)
        }
    )
)
_RESULT_COLUMNS, _JOBRESULT_SELECTED = mapped_columns(JobResult)
_READ_RESULT = Prepared(select(*_JOBRESULT_SELECTED).where(JobResult.job_id == bindparam("job_id")))

TERMINAL = ("completed", "failed", "canceled")
ACTIVE = ("submitted", "ready", "started")


def by_idempotency_key(db: Session, project_id: str, key: str) -> Job | None:
    return db.scalars(
        select(Job).where(Job.project_id == project_id, Job.idempotency_key == key)
    ).first()


def get(db: Session, job_id: str, *, for_update: bool = False) -> Job | None:
    query = select(Job).where(Job.id == job_id, Job.deleted_at.is_(None))
    if for_update:
        query = query.with_for_update()
    return db.scalars(query).first()


def read(db: Session, job_id: str) -> Job | None:
    """A snapshot of the job, not attached to ``db`` (for answering reads: a change to it is
    not saved). The request path's statement (:mod:`ionstack.store.prepared`)."""
    row = _READ_JOB.first(db, job_id=job_id)
    return Job(**dict(zip(_JOB_COLUMNS, row, strict=True))) if row is not None else None


def insert_new(db: Session, job: Job) -> None:
    """Write a new job's row now, in ``db``'s transaction, without adding ``job`` to ``db`` (the
    submission path's statement, :mod:`ionstack.store.prepared`): attributes never set get
    their column's default, as a flush would give them."""
    values = job.__dict__
    _INSERT_JOB.rows(
        db, **{name: values[name] if name in values else default() for name, default in _DEFAULTS}
    )


def _default_of(column: Any) -> Callable[[], Any]:
    default = column.default
    if default is None:
        # a flush leaves an unset column out, so it is SQL NULL (not JSON's "null")
        return (lambda: sql_null()) if isinstance(column.type, JSON) else (lambda: None)
    if default.is_scalar:
        return lambda: default.arg
    return lambda: default.arg(None)  # a callable default (dict, ...) wrapped to take a context


_DEFAULTS = [
    (name, _default_of(column)) for name, column in zip(_JOB_COLUMNS, _JOB_SELECTED, strict=True)
]


def children(db: Session, parent_id: str, *, for_update: bool = False) -> list[Job]:
    """A parent's children in circuit order, as stored: a child this session loaded before a
    bulk UPDATE (``cancel_active``, ``synchronize_session=False``) is read again, so
    :func:`refresh_parent` never aggregates a stale status."""
    query = (
        select(Job)
        .where(Job.parent_id == parent_id)
        .order_by(Job.circuit_index)
        .execution_options(populate_existing=True)
    )
    if for_update:
        query = query.with_for_update()
    return list(db.scalars(query).all())


def page(
    db: Session,
    *,
    project_id: str,
    submitter_id: str | None,
    ids: Sequence[str] | None,
    statuses: Sequence[str] | None,
    backends: Sequence[str] | None,
    parent_id: str | None,
    session_id: str | None,
    before_or_at: str | None,
    limit: int,
    search: str | None = None,
) -> list[Job]:
    """Up to ``limit`` jobs, newest first (UUIDv7 ids sort by submission time); ``search``
    keeps jobs whose name contains it (any case) or whose id starts with it."""
    query = select(Job).where(Job.project_id == project_id, Job.deleted_at.is_(None))
    if search:
        term = search.lower()
        query = query.where(
            or_(
                func.lower(Job.name).contains(term, autoescape=True),
                Job.id.startswith(term, autoescape=True),
            )
        )
    if submitter_id is not None:
        query = query.where(Job.submitter_id == submitter_id)
    if ids is not None:
        query = query.where(Job.id.in_(list(ids)))
    if statuses is not None:
        query = query.where(Job.status.in_(list(statuses)))
    if backends is not None:
        query = query.where(Job.backend.in_(list(backends)))
    if parent_id is not None:
        query = query.where(Job.parent_id == parent_id)
    if session_id is not None:
        query = query.where(Job.session_id == session_id)
    if before_or_at is not None:
        query = query.where(Job.id <= before_or_at)
    return list(db.scalars(query.order_by(Job.id.desc()).limit(limit)).all())


def result(db: Session, job_id: str) -> JobResult | None:
    """The job's result row, not attached to ``db`` (read-only; :mod:`ionstack.store.prepared`)."""
    row = _READ_RESULT.first(db, job_id=job_id)
    return JobResult(**dict(zip(_RESULT_COLUMNS, row, strict=True))) if row is not None else None


def results(db: Session, job_ids: Sequence[str]) -> dict[str, JobResult]:
    rows = db.scalars(select(JobResult).where(JobResult.job_id.in_(list(job_ids)))).all()
    return {r.job_id: r for r in rows}


def cancel_active(db: Session, job_ids: Sequence[str], *, now: datetime) -> int:
    """Cancel the jobs among ``job_ids`` that are not terminal; returns how many changed."""
    if not job_ids:
        return 0
    done = db.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.status.in_(ACTIVE))
        .values(status="canceled", completed_at=now, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def mark_deleted(db: Session, job_ids: Sequence[str], *, now: datetime) -> None:
    if job_ids:
        db.execute(
            update(Job)
            .where(Job.id.in_(list(job_ids)))
            .values(deleted_at=now)
            .execution_options(synchronize_session=False)
        )


# --- parents -----------------------------------------------------------------------------------


def aggregate_status(statuses: Sequence[str]) -> str:
    """A multi-circuit parent's status from its children's (semantics.md §5.8)."""
    if not statuses:
        return "failed"
    if all(s == "completed" for s in statuses):
        return "completed"
    terminal = all(s in TERMINAL for s in statuses)
    if terminal and "failed" in statuses:
        return "failed"
    if terminal:
        return "canceled" if "canceled" in statuses else "completed"
    if any(s in ("started", "completed", "failed", "canceled") for s in statuses):
        return "started"
    return "ready"


def refresh_parent(db: Session, parent_id: str, *, now: datetime) -> None:
    """Recompute a parent from its children. Locks the parent first, so of two children
    finishing at once the later transaction sees both (PostgreSQL READ COMMITTED)."""
    parent = get(db, parent_id, for_update=True)
    if parent is None or parent.status in ("canceled",):
        return
    kids = children(db, parent_id)
    status = aggregate_status([k.status for k in kids])
    if status == parent.status:
        return
    parent.status = status
    if status == "started" and parent.started_at is None:
        parent.started_at = min((k.started_at for k in kids if k.started_at), default=now)
    if status in TERMINAL:
        parent.completed_at = now
        durations = [k.execution_duration_ms or 0 for k in kids]
        parent.execution_duration_ms = sum(durations)
        if status == "failed":
            first = next((k.failure for k in kids if k.failure), None)
            parent.failure = first or {"code": "InternalError", "message": "A child job failed."}
        if status == "completed":
            billed = [k.stats.get("billed_quantum_compute_time_us", 0) for k in kids]
            parent.stats = {
                **parent.stats,
                "billed_quantum_compute_time_us": sum(int(str(b or 0)) for b in billed),
            }
            parent.has_results = True
    db.flush()


def predicted_wait_ms(db: Session, job: Job) -> int:
    """Predicted queue wait of a queued job: the predicted run times of the jobs ahead of it on
    the same backend (semantics.md §5.10), in the claim order (priority, then id)."""
    ahead = db.scalar(
        select(func.coalesce(func.sum(Job.predicted_execution_ms), 0)).where(
            Job.backend == job.backend,
            Job.is_parent.is_(False),
            Job.status.in_(("ready", "started")),
            Job.deleted_at.is_(None),
            or_(
                Job.status == "started",
                Job.priority < job.priority,
                (Job.priority == job.priority) & (Job.id < job.id),
            ),
        )
    )
    return int(ahead or 0)

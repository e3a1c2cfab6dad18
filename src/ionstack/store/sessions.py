"""Queries over sessions and the jobs in them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from ionstack.store.jobs import refresh_parent
from ionstack.store.tables import Job, JobSession

OPEN = ("created", "started")
QUEUED = ("submitted", "ready")
TERMINAL = ("completed", "failed", "canceled")


def get(db: Session, session_id: str, *, for_update: bool = False) -> JobSession | None:
    query = select(JobSession).where(JobSession.id == session_id)
    if for_update:
        query = query.with_for_update()
    return db.scalars(query).first()


def listing(
    db: Session, *, project_id: str, active: bool | None, limit: int | None = None
) -> list[JobSession]:
    """The project's sessions, newest first (ids are UUIDv7)."""
    query = select(JobSession).where(JobSession.project_id == project_id)
    if active is True:
        query = query.where(JobSession.status.in_(OPEN))
    elif active is False:
        query = query.where(JobSession.status == "ended")
    query = query.order_by(JobSession.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(db.scalars(query).all())


@dataclass(frozen=True, kw_only=True)
class JobTally:
    """The top-level jobs of a session."""

    total: int
    terminal: int
    last_completed_at: datetime | None


def tally(db: Session, session_id: str) -> JobTally:
    terminal = func.sum(case((Job.status.in_(TERMINAL), 1), else_=0))
    row = db.execute(
        select(func.count(), terminal, func.max(Job.completed_at)).where(
            Job.session_id == session_id, Job.parent_id.is_(None)
        )
    ).one()
    return JobTally(total=int(row[0] or 0), terminal=int(row[1] or 0), last_completed_at=row[2])


def due(db: Session, *, now: datetime) -> list[str]:
    """Open sessions whose ``expires_at`` has passed."""
    return list(
        db.scalars(
            select(JobSession.id).where(JobSession.status.in_(OPEN), JobSession.expires_at <= now)
        ).all()
    )


def cancel_queued(db: Session, session_id: str, *, now: datetime, message: str) -> list[str]:
    """Cancel the session's jobs (parents and children) still waiting to run, with
    ``failure.code = SystemCancel``; returns their ids."""
    ids: Sequence[str] = db.scalars(
        select(Job.id).where(Job.session_id == session_id, Job.status.in_(QUEUED))
    ).all()
    if not ids:
        return []
    db.execute(
        update(Job)
        .where(Job.id.in_(list(ids)), Job.status.in_(QUEUED))
        .values(
            status="canceled",
            completed_at=now,
            lease_until=None,
            failure={"code": "SystemCancel", "message": message},
        )
        .execution_options(synchronize_session=False)
    )
    parents = db.scalars(
        select(Job.parent_id).where(Job.id.in_(list(ids)), Job.parent_id.is_not(None)).distinct()
    ).all()
    for parent_id in parents:
        if parent_id is not None:
            refresh_parent(db, parent_id, now=now)
    return list(ids)


def usage_times(db: Session, session_ids: list[str]) -> dict[str, int]:
    """Billed execution time (ms) of each session's jobs so far."""
    if not session_ids:
        return {}
    rows = db.execute(
        select(Job.session_id, func.coalesce(func.sum(Job.execution_duration_ms), 0))
        .where(Job.session_id.in_(session_ids))
        .group_by(Job.session_id)
    ).all()
    return {str(sid): int(total or 0) for sid, total in rows}

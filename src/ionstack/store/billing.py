"""Queries for cost: rate cards, budgets, and the money the jobs table holds.

The jobs table is the ledger (semantics.md §6.2). A top-level job that is not a dry run
*reserves* its ``estimated_cost`` while it is not terminal, is *charged* that amount when it
completes, and holds nothing once it failed or was cancelled. Reserve, charge and release are
therefore the job's own status changes, made in the same transaction as everything else that
changes with them. Children of a multi-circuit job are billed through their parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import Session

from ionstack.store.prepared import Prepared, mapped_columns
from ionstack.store.tables import Budget, Job, JobSession, Project, RateCard

ACTIVE = ("submitted", "ready", "started")


# --- rate cards --------------------------------------------------------------------------------


_RATE_CARD_COLUMNS, _RATECARD_SELECTED = mapped_columns(RateCard)
_READ_RATE_CARD = Prepared(
    select(*_RATECARD_SELECTED).where(RateCard.backend == bindparam("backend"))
)


def rate_card(db: Session, backend: str) -> RateCard | None:
    """The backend's card, not attached to ``db`` (read on every submission:
    :mod:`ionstack.store.prepared`); :func:`rate_card_row` is the one to change."""
    row = _READ_RATE_CARD.first(db, backend=backend)
    if row is None:
        return None
    return RateCard(**dict(zip(_RATE_CARD_COLUMNS, row, strict=True)))


def rate_card_row(db: Session, backend: str) -> RateCard | None:
    """The backend's card in ``db``, to change it."""
    return db.get(RateCard, backend)


def rate_cards(db: Session) -> dict[str, RateCard]:
    return {r.backend: r for r in db.scalars(select(RateCard)).all()}


def delete_rate_card(db: Session, backend: str) -> bool:
    row = db.get(RateCard, backend)
    if row is None:
        return False
    db.delete(row)
    db.flush()
    return True


# --- budgets -----------------------------------------------------------------------------------


def budget(db: Session, scope: str, subject_id: str, *, for_update: bool = False) -> Budget | None:
    query = select(Budget).where(Budget.scope == scope, Budget.subject_id == subject_id)
    if for_update:
        query = query.with_for_update()
    return db.scalars(query).first()


def set_budget(
    db: Session, scope: str, subject_id: str, amount: float | None, *, now: datetime
) -> None:
    """Set a limit (``None`` = unlimited: the row goes)."""
    row = budget(db, scope, subject_id, for_update=True)
    if amount is None:
        if row is not None:
            db.delete(row)
    elif row is None:
        db.add(Budget(scope=scope, subject_id=subject_id, amount=amount, updated_at=now))
    else:
        row.amount = amount
        row.updated_at = now
    db.flush()


@dataclass(frozen=True, kw_only=True)
class Spend:
    charged: float  #: completed top-level jobs
    reserved: float  #: top-level jobs not yet terminal


def _billable() -> Any:
    return and_(Job.parent_id.is_(None), Job.dry_run.is_(False))


def _spend(db: Session, condition: Any) -> Spend:
    charged = func.sum(case((Job.status == "completed", Job.estimated_cost), else_=0.0))
    reserved = func.sum(case((Job.status.in_(ACTIVE), Job.estimated_cost), else_=0.0))
    row = db.execute(select(charged, reserved).where(_billable(), condition)).one()
    return Spend(charged=float(row[0] or 0.0), reserved=float(row[1] or 0.0))


def project_spend(db: Session, project_id: str) -> Spend:
    """Charged and reserved amounts of a project (deleted jobs included: money was spent)."""
    return _spend(db, Job.project_id == project_id)


def organization_spend(db: Session, organization_id: str) -> Spend:
    projects = select(Project.id).where(Project.organization_id == organization_id)
    return _spend(db, Job.project_id.in_(projects.scalar_subquery()))


def session_spend(db: Session, session_id: str) -> Spend:
    return _spend(db, Job.session_id == session_id)


def sessions_at_cost_limit(db: Session) -> list[str]:
    """Open sessions whose charged cost has reached their ``cost_limit`` (the same test as
    ``service.sessions.refresh``, for every session at once)."""
    charged = (
        select(func.coalesce(func.sum(Job.estimated_cost), 0.0))
        .where(_billable(), Job.session_id == JobSession.id, Job.status == "completed")
        .correlate(JobSession)
        .scalar_subquery()
    )
    return list(
        db.scalars(
            select(JobSession.id).where(
                JobSession.status.in_(("created", "started")),
                JobSession.cost_limit.is_not(None),
                charged >= JobSession.cost_limit - 1e-9,
            )
        ).all()
    )


# --- queue -------------------------------------------------------------------------------------


def queued_ms(db: Session, backend: str) -> int:
    """Predicted run time of everything queued or running on ``backend`` (milliseconds)."""
    total = db.scalar(
        select(func.coalesce(func.sum(Job.predicted_execution_ms), 0)).where(
            Job.backend == backend,
            Job.is_parent.is_(False),
            Job.status.in_(("ready", "started")),
            Job.deleted_at.is_(None),
        )
    )
    return int(total or 0)


# --- usage -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Billed:
    """One completed, billed job in a usage window."""

    id: str
    name: str | None
    project_id: str
    submitter_id: str
    amount: float
    time_us: float
    completed_at: datetime


def billed_jobs(
    db: Session, *, project_ids: Sequence[str], start: datetime, end: datetime
) -> list[Billed]:
    """Completed top-level, non-dry-run jobs of these projects with ``completed_at`` in
    [start, end) (deleted jobs included: they were billed)."""
    if not project_ids:
        return []
    rows = db.execute(
        select(
            Job.id,
            Job.name,
            Job.project_id,
            Job.submitter_id,
            Job.estimated_cost,
            Job.stats,
            Job.completed_at,
        ).where(
            _billable(),
            Job.status == "completed",
            Job.project_id.in_(list(project_ids)),
            Job.completed_at >= start,
            Job.completed_at < end,
        )
    ).all()
    out: list[Billed] = []
    for r in rows:
        stats = r.stats or {}
        billed = stats.get("billed_quantum_compute_time_us")
        if billed is None:
            billed = stats.get("predicted_quantum_compute_time_us", 0)
        out.append(
            Billed(
                id=r.id,
                name=r.name,
                project_id=r.project_id,
                submitter_id=r.submitter_id,
                amount=float(r.estimated_cost or 0.0),
                time_us=float(billed or 0),
                completed_at=r.completed_at,
            )
        )
    return out

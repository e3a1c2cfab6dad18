"""The jobs table as a queue: claim, lease, heartbeat, complete, requeue (design.md steps 4–7).

- **Claim**: the next ``ready`` leaf job in (priority, id) order — session jobs first, then
  submission order (ids are UUIDv7) — becomes ``started`` with a lease (``worker_id``,
  ``lease_until``, ``attempts + 1``). PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: one
  conditional ``UPDATE … RETURNING`` under ``BEGIN IMMEDIATE``.
- **Heartbeat** extends the lease while the worker still holds it; it fails once the job was
  cancelled or the lease was taken over, and the worker stops.
- **Complete/fail** is conditioned on the lease (``worker_id``, ``attempts``, ``started``), so a
  worker whose lease expired can never overwrite, and a job never completes twice.
- **Requeue**: an expired lease (worker killed) puts the job back to ``ready``; after
  ``max_attempts`` it fails with ``InternalError``.
- **Wake-up**: workers sleep until told a job was submitted (:mod:`ionstack.store.wakeups`),
  with a slow poll as a fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session, sessionmaker

from ionstack.logs import job_event
from ionstack.service.sessions import end_expired as end_expired_sessions
from ionstack.store.database import transaction
from ionstack.store.jobs import refresh_parent
from ionstack.store.tables import Job, JobResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A job a worker holds, and what it needs to run it."""

    job_id: str
    worker_id: str
    attempt: int
    parent_id: str | None
    circuit_index: int | None
    backend: str
    input: dict[str, Any]
    shots: int | None
    noise: dict[str, Any] | None
    settings: dict[str, Any]
    stats: dict[str, Any]
    type: str = "ionq.circuit.v1"
    project_id: str | None = None
    submitted_at: datetime | None = None


def claim(
    sessions: sessionmaker[Session], *, worker_id: str, lease_seconds: float, now: datetime
) -> Claim | None:
    """Take the next runnable job, or None when the queue is empty."""
    with transaction(sessions, write=True) as db:
        # sessions past their duration limit end first: their queued jobs are cancelled
        end_expired_sessions(db, now=now)
        pick = (
            sa_select(Job.id)
            .where(Job.status == "ready", Job.is_parent.is_(False), Job.deleted_at.is_(None))
            .order_by(Job.priority, Job.id)
            .limit(1)
        )
        if db.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        row = db.execute(
            update(Job)
            .where(Job.id == pick.scalar_subquery(), Job.status == "ready")
            .values(
                status="started",
                worker_id=worker_id,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=Job.attempts + 1,
                started_at=now,
            )
            .returning(
                Job.id,
                Job.attempts,
                Job.parent_id,
                Job.circuit_index,
                Job.backend,
                Job.input,
                Job.shots,
                Job.noise,
                Job.settings,
                Job.stats,
                Job.type,
                Job.project_id,
                Job.submitted_at,
            )
            .execution_options(synchronize_session=False)
        ).first()
        if row is None:
            return None
        if row.parent_id is not None:
            refresh_parent(db, row.parent_id, now=now)
        return Claim(
            job_id=row.id,
            worker_id=worker_id,
            attempt=row.attempts,
            parent_id=row.parent_id,
            circuit_index=row.circuit_index,
            backend=row.backend,
            input=dict(row.input),
            shots=row.shots,
            noise=dict(row.noise) if row.noise else None,
            settings=dict(row.settings or {}),
            stats=dict(row.stats or {}),
            type=row.type,
            project_id=row.project_id,
            submitted_at=row.submitted_at,
        )


def _held(held: Claim) -> Any:
    return and_(
        Job.id == held.job_id,
        Job.worker_id == held.worker_id,
        Job.attempts == held.attempt,
        Job.status == "started",
    )


def heartbeat(
    sessions: sessionmaker[Session], held: Claim, *, lease_seconds: float, now: datetime
) -> bool:
    """Extend the lease; False when the job is no longer ours (cancelled, or taken over)."""
    with transaction(sessions, write=True) as db:
        done = db.execute(
            update(Job)
            .where(_held(held))
            .values(lease_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(done, "rowcount", 0))


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a finished run writes."""

    probabilities: dict[str, float]
    histogram: dict[str, int] | None
    shots: list[str] | None
    variants: list[dict[str, Any]] | None
    output: dict[str, Any]
    stats: dict[str, Any]
    execution_duration_ms: int
    #: ionq.qasm3.v1 jobs: the per-shot classical record (``JobResult.records``)
    records: dict[str, Any] | None = None


def billed(stats: dict[str, Any]) -> dict[str, Any]:
    """A finished run's stats: the predicted quantum compute time is what is billed."""
    out = dict(stats)
    out["billed_quantum_compute_time_us"] = out.get("predicted_quantum_compute_time_us", 0)
    return out


def complete(
    sessions: sessionmaker[Session], held: Claim, outcome: Outcome, *, now: datetime
) -> bool:
    """Store results and mark the job completed, if we still hold it. True when written."""
    with transaction(sessions, write=True) as db:
        done = db.execute(
            update(Job)
            .where(_held(held))
            .values(
                status="completed",
                completed_at=now,
                lease_until=None,
                output=outcome.output,
                stats=outcome.stats,
                execution_duration_ms=outcome.execution_duration_ms,
                has_results=True,
                sampled=outcome.histogram is not None,
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(done, "rowcount", 0):
            db.rollback()
            return False
        db.execute(
            insert(JobResult).values(
                job_id=held.job_id,
                probabilities=outcome.probabilities,
                histogram=outcome.histogram,
                shots=outcome.shots,
                variants=outcome.variants,
                records=outcome.records,
            )
        )
        if held.parent_id is not None:
            refresh_parent(db, held.parent_id, now=now)
        return True


def fail(
    sessions: sessionmaker[Session],
    held: Claim,
    failure: dict[str, str],
    *,
    now: datetime,
    execution_duration_ms: int = 0,
) -> bool:
    with transaction(sessions, write=True) as db:
        done = db.execute(
            update(Job)
            .where(_held(held))
            .values(
                status="failed",
                failure=failure,
                completed_at=now,
                lease_until=None,
                execution_duration_ms=execution_duration_ms,
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(done, "rowcount", 0):
            return False
        if held.parent_id is not None:
            refresh_parent(db, held.parent_id, now=now)
        return True


def release(sessions: sessionmaker[Session], held: Claim) -> bool:
    """Give a job back to the queue unfinished (graceful shutdown); the attempt is not counted."""
    with transaction(sessions, write=True) as db:
        done = db.execute(
            update(Job)
            .where(_held(held))
            .values(status="ready", worker_id=None, lease_until=None, attempts=Job.attempts - 1)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(done, "rowcount", 0))


def requeue_expired(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    max_attempts: int,
    killed: Callable[[str], str | None] | None = None,
) -> tuple[int, list[str]]:
    """Jobs whose worker vanished: back to ``ready``, or ``failed`` after ``max_attempts``.

    ``killed(job_id)`` may name evidence that the job itself killed its worker (it held a
    large share of the host's memory when the worker died: :meth:`HostBudget.orphaned`); such
    a job fails at once with ``SimulationError`` and that message instead of being retried.

    Returns how many were requeued, and the ids to announce as finished: the jobs that failed
    and their parents (a parent may still be running other children: announcing it only makes
    its held polls re-read it).
    """
    with transaction(sessions, write=True) as db:
        expired = db.execute(
            sa_select(Job.id, Job.attempts, Job.parent_id, Job.project_id, Job.backend).where(
                Job.status == "started", Job.is_parent.is_(False), Job.lease_until < now
            )
        ).all()
        if not expired:
            return 0, []
        failures: dict[str, dict[str, str]] = {}
        for row in expired:
            evidence = killed(row.id) if killed is not None else None
            if evidence is not None:
                failures[row.id] = {"code": "SimulationError", "message": evidence}
            elif row.attempts >= max_attempts:
                failures[row.id] = {
                    "code": "InternalError",
                    "message": f"The job's worker stopped {row.attempts} times while running it.",
                }
        again = [r.id for r in expired if r.id not in failures]
        dead = [r for r in expired if r.id in failures]
        if again:
            db.execute(
                update(Job)
                .where(Job.id.in_(again), Job.status == "started", Job.lease_until < now)
                .values(status="ready", worker_id=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )
        for row in dead:
            db.execute(
                update(Job)
                .where(Job.id == row.id, Job.status == "started", Job.lease_until < now)
                .values(
                    status="failed",
                    completed_at=now,
                    lease_until=None,
                    failure=failures[row.id],
                )
                .execution_options(synchronize_session=False)
            )
        for parent_id in {r.parent_id for r in dead if r.parent_id}:
            refresh_parent(db, parent_id, now=now)
        for row in expired:
            failure = failures.get(row.id)
            job_event(
                logger,
                "job_failed" if failure else "job_requeued",
                job_id=row.id,
                project_id=row.project_id,
                backend=row.backend,
                level=logging.WARNING,
                attempt=row.attempts,
                code=failure["code"] if failure else None,
            )
        if again or dead:
            logger.warning(
                "requeued %d and failed %d jobs with expired leases",
                len(again),
                len(dead),
                extra={"action": "lease_expired"},
            )
        failed = [r.id for r in dead] + sorted({r.parent_id for r in dead if r.parent_id})
        return len(again), failed

"""Reading, listing, cancelling and deleting jobs (semantics.md §5.1, §5.5, §5.6, §5.8, §5.11).

Visibility is per project: a job of another project (or a deleted one) is 404, which leaks
nothing. A multi-circuit parent's status follows its children (:func:`refresh_parent`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ionstack.errors import BadRequest, NotFound
from ionstack.logs import job_event
from ionstack.service.accounts import Caller
from ionstack.store import accounts as accounts_repo
from ionstack.store import jobs as repo
from ionstack.store.tables import Job

logger = logging.getLogger(__name__)

STATUSES = ("submitted", "ready", "started", "canceled", "failed", "completed")
#: qiskit-ionq's session code asks for ``status=queued`` (not a v0.4 status)
STATUS_ALIASES = {"queued": ("submitted", "ready")}
MAX_PAGE = 25


def get_job(db: Session, caller: Caller, job_id: str, *, for_update: bool = False) -> Job:
    job = repo.get(db, _uuid(job_id), for_update=for_update) if _is_uuid(job_id) else None
    if job is None or job.project_id != caller.project_id:
        raise NotFound()
    return job


def read_job(db: Session, caller: Caller, job_id: str) -> Job:
    """The caller's job as a read-only snapshot (answers to GETs: a change to it is not saved;
    use :func:`get_job` to change a job)."""
    job = repo.read(db, _uuid(job_id)) if _is_uuid(job_id) else None
    if job is None or job.project_id != caller.project_id:
        raise NotFound()
    return job


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _uuid(value: str) -> str:
    return str(uuid.UUID(value))


def finishes_within(
    job: Job, *, wait_ms: int, seconds: float, emulate_qpu_duration: bool, now: datetime
) -> bool:
    """Whether a status poll on ``job`` is worth holding up to ``seconds`` for it to finish.

    Not when it has finished already. A simulation's run time is not predicted (the predicted
    execution time of a job is the QPU's), so any unfinished simulation is worth waiting for:
    the hold is bounded. An emulated QPU that takes its predicted duration
    (``IONSTACK_EMULATE_QPU_DURATION``) is held only when its predicted wait plus its remaining
    predicted duration fit in ``seconds``.
    """
    if job.status in ("completed", "failed", "canceled"):
        return False
    if not (emulate_qpu_duration and job.backend.startswith("qpu.")):
        return True
    remaining_ms = float(wait_ms + (job.predicted_execution_ms or 0))
    if job.status == "started" and job.started_at is not None:
        remaining_ms -= (now - job.started_at).total_seconds() * 1000
    return remaining_ms <= seconds * 1000


def predicted_wait_ms(db: Session, job: Job) -> int:
    """How long a queued job is predicted to wait (0 for a parent: its children wait)."""
    return 0 if job.is_parent else repo.predicted_wait_ms(db, job)


@dataclass(frozen=True, kw_only=True)
class JobPage:
    jobs: list[Job]
    next: str | None


def list_jobs(
    db: Session,
    caller: Caller,
    *,
    ids: Sequence[str] | None = None,
    status: str | None = None,
    target: str | None = None,
    parent_job_id: str | None = None,
    session_id: str | None = None,
    submitter_id: str | None = None,
    limit: int | None = None,
    next_id: str | None = None,
    search: str | None = None,
) -> JobPage:
    """One page of the caller's project's jobs, newest first, with a ``next`` cursor.

    ``search`` (an ionstack extension used by the console) keeps the jobs whose name contains
    it or whose id starts with it.
    """
    size = MAX_PAGE if limit is None else max(1, min(limit, MAX_PAGE))
    statuses = _statuses(status)
    backends = [t.strip() for t in target.split(",") if t.strip()] if target else None
    wanted_ids = _ids(ids)
    scoped_submitter = _submitter(
        db, caller, submitter_id, filtered=bool(wanted_ids or parent_job_id or session_id)
    )
    rows = repo.page(
        db,
        project_id=caller.project_id,
        submitter_id=scoped_submitter,
        ids=wanted_ids,
        statuses=statuses,
        backends=backends,
        parent_id=_optional_uuid(parent_job_id, "parent_job_id"),
        session_id=_optional_uuid(session_id, "session_id"),
        before_or_at=_optional_uuid(next_id, "next"),
        limit=size + 1,
        search=search.strip() if search else None,
    )
    more = rows[size].id if len(rows) > size else None
    return JobPage(jobs=rows[:size], next=more)


def _statuses(status: str | None) -> list[str] | None:
    if not status:
        return None
    wanted: list[str] = []
    for part in status.split(","):
        part = part.strip()
        if part in STATUS_ALIASES:
            wanted.extend(STATUS_ALIASES[part])
        elif part in STATUSES:
            wanted.append(part)
        else:
            raise BadRequest(
                f'"status" must be one of [{", ".join(STATUSES)}]', keys=["status"], source="query"
            )
    return wanted


def _ids(ids: Sequence[str] | None) -> list[str] | None:
    if not ids:
        return None
    out: list[str] = []
    for value in ids:
        for part in value.split(","):
            part = part.strip()
            if part and _is_uuid(part):
                out.append(_uuid(part))
            elif part:
                raise BadRequest('"ids" must be job ids', keys=["ids"], source="query")
    return out


def _optional_uuid(value: str | None, key: str) -> str | None:
    if value is None or value == "":
        return None
    if not _is_uuid(value):
        raise BadRequest(f'"{key}" must be a valid id', keys=[key], source="query")
    return _uuid(value)


def _submitter(
    db: Session, caller: Caller, submitter_id: str | None, *, filtered: bool
) -> str | None:
    """Whose jobs a listing shows (semantics.md §5.11).

    By default the caller's own; ``submitter_id`` shows a fellow project member's (ignored if
    not a member). Explicit id, parent or session filters look across the whole project.
    """
    if submitter_id:
        if accounts_repo.is_member(db, project_id=caller.project_id, user_id=submitter_id):
            return submitter_id
        return caller.user_id
    return None if filtered else caller.user_id


# --- cancel and delete -------------------------------------------------------------------------


def cancel(db: Session, job: Job, *, now: datetime) -> list[str]:
    """Cancel a job that has not finished; a terminal job is left as it is (a no-op).

    A started job is cancelled too: its worker notices between units of work and stops, and
    its result is discarded (the worker's completion is conditioned on ``started``).
    Returns the ids of the jobs that may have changed (the job, its children, its parent), to
    announce as finished once committed.
    """
    targets = [job.id]
    if job.is_parent:
        targets += [k.id for k in repo.children(db, job.id)]
    was = job.status
    changed = repo.cancel_active(db, targets, now=now)
    if job.parent_id is not None:
        repo.refresh_parent(db, job.parent_id, now=now)
        targets.append(job.parent_id)
    if changed and was not in ("completed", "failed", "canceled"):
        waited = int((now - job.submitted_at).total_seconds() * 1000)
        job_event(
            logger,
            "job_canceled",
            job_id=job.id,
            project_id=job.project_id,
            backend=job.backend,
            duration_ms=max(0, waited),
            was=was,
        )
    db.expire_all()
    return targets if changed else []


def delete(db: Session, job: Job, *, now: datetime) -> list[str]:
    """Cancel if still active, then hide the job (and a parent's children) for good. Returns
    the ids to announce as finished (see :func:`cancel`)."""
    canceled = cancel(db, job, now=now)
    targets = [job.id]
    if job.is_parent:
        targets += [k.id for k in repo.children(db, job.id)]
    repo.mark_deleted(db, targets, now=now)
    return sorted({*canceled, *targets})

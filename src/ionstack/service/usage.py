"""Organization usage reports (semantics.md §8.3).

- Access: the organization's owners only (403 for its other members); an unknown organization
  or another organization's id is 404 (it leaks nothing).
- Jobs counted: completed, billed (not dry-run) top-level jobs of the organization's projects,
  deleted ones included, whose ``completed_at`` is in [start_date, end_date) UTC. A multi-
  circuit job counts once (its children are billed through it). Simulator jobs count with
  amount 0. ``amount`` is the charged cost; ``time_us`` the billed quantum compute time.
- Buckets: daily = UTC date, weekly = ISO week (from Monday), monthly = calendar month; the
  first bucket is clipped to the window (``from`` is then ``start_date``). Empty buckets are
  left out; ``usage_data`` is newest first; ``group_usages`` are the top 5 groups by amount.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ionstack.errors import BadRequest, Forbidden, NotFound
from ionstack.service.accounts import Caller
from ionstack.store import accounts as accounts_repo
from ionstack.store import billing as repo
from ionstack.store.tables import Organization

GROUP_BY = ("job", "project", "user")
MODALITIES = ("daily", "weekly", "monthly")
TOP_GROUPS = 5
USAGE_UNIT = "USD"


@dataclass(frozen=True, kw_only=True)
class UsageQuery:
    start: date
    end: date
    group_by: str
    modality: str


def _required(value: str | None, key: str) -> str:
    if value is None or value == "":
        raise BadRequest(f'"{key}" is required', keys=[key], source="query")
    return value


def _date(value: str | None, key: str) -> date:
    text = _required(value, key)
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f'"{key}" must be a date in the format YYYY-MM-DD', keys=[key], source="query"
        ) from None


def _choice(value: str | None, key: str, choices: tuple[str, ...]) -> str:
    text = _required(value, key)
    if text not in choices:
        raise BadRequest(
            f'"{key}" must be one of [{", ".join(choices)}]', keys=[key], source="query"
        )
    return text


def parse_query(
    *,
    start_date: str | None,
    end_date: str | None,
    group_by: str | None,
    modality: str | None,
    max_days: int,
) -> UsageQuery:
    """Validate the query (400 with ``source: "query"`` naming the field)."""
    start = _date(start_date, "start_date")
    end = _date(end_date, "end_date")
    if end <= start:
        raise BadRequest(
            '"end_date" must be later than "start_date"',
            keys=["start_date", "end_date"],
            source="query",
        )
    if (end - start).days > max_days:
        raise BadRequest(
            f'"end_date" must be at most {max_days} days after "start_date"',
            keys=["end_date"],
            source="query",
        )
    return UsageQuery(
        start=start,
        end=end,
        group_by=_choice(group_by, "group_by", GROUP_BY),
        modality=_choice(modality, "modality", MODALITIES),
    )


def _organization(db: Session, caller: Caller, organization_id: str) -> Organization:
    org = db.get(Organization, organization_id)
    if org is None or org.id != caller.organization_id:
        raise NotFound()
    if not caller.is_owner:
        raise Forbidden("Only the organization's owners may read its usage.")
    return org


def bucket_start(day: date, modality: str, *, clip: date) -> date:
    """The first day of ``day``'s bucket, not before ``clip`` (the window's start)."""
    if modality == "weekly":
        first = day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    elif modality == "monthly":
        first = day.replace(day=1)
    else:
        first = day
    return max(first, clip)


@dataclass
class _Sum:
    amount: float = 0.0
    job_count: int = 0
    time_us: float = 0.0
    groups: dict[str, _Sum] = field(default_factory=dict)

    def add(self, amount: float, time_us: float) -> None:
        self.amount += amount
        self.job_count += 1
        self.time_us += time_us


def _money(value: float) -> float:
    return round(value, 6)


def report(db: Session, caller: Caller, organization_id: str, query: UsageQuery) -> dict[str, Any]:
    """``GET /organizations/{organization_id}/usage`` (the spec's ``Usages``)."""
    org = _organization(db, caller, organization_id)
    projects = {p.id: p.name for p in accounts_repo.list_projects(db, organization_id=org.id)}
    start = datetime.combine(query.start, time(0), tzinfo=UTC)
    end = datetime.combine(query.end, time(0), tzinfo=UTC)
    jobs = repo.billed_jobs(db, project_ids=list(projects), start=start, end=end)
    names = _group_names(db, org.id, query.group_by, projects, jobs)
    buckets: dict[date, _Sum] = defaultdict(_Sum)
    total = _Sum()
    for job in jobs:
        day = job.completed_at.astimezone(UTC).date()
        bucket = buckets[bucket_start(day, query.modality, clip=query.start)]
        bucket.add(job.amount, job.time_us)
        group_id = _group_id(query.group_by, job)
        bucket.groups.setdefault(group_id, _Sum()).add(job.amount, job.time_us)
        total.add(job.amount, job.time_us)
    usage_data = []
    for first in sorted(buckets, reverse=True):
        bucket = buckets[first]
        top = sorted(bucket.groups.items(), key=lambda kv: (-kv[1].amount, -kv[1].job_count, kv[0]))
        usage_data.append(
            {
                "from": first.isoformat(),
                "amount": _money(bucket.amount),
                "job_count": bucket.job_count,
                "time_us": bucket.time_us,
                "group_usages": [
                    {
                        "group_id": gid,
                        "group_name": names.get(gid, gid),
                        "amount": _money(g.amount),
                        "job_count": g.job_count,
                        "time_us": g.time_us,
                    }
                    for gid, g in top[:TOP_GROUPS]
                ],
            }
        )
    return {
        "organization": org.id,
        "group_type": query.group_by,
        "modality": query.modality,
        "start_date": query.start.isoformat(),
        "end_date": query.end.isoformat(),
        "usage_from": f"{query.start.isoformat()}T00:00:00Z",
        "usage_to": f"{query.end.isoformat()}T00:00:00Z",
        "usage_unit": USAGE_UNIT,
        "amount_total": _money(total.amount),
        "job_count": total.job_count,
        "time_us_total": total.time_us,
        "usage_data": usage_data,
    }


def _group_id(group_by: str, job: repo.Billed) -> str:
    if group_by == "project":
        return job.project_id
    if group_by == "user":
        return job.submitter_id
    return job.id


def _group_names(
    db: Session,
    organization_id: str,
    group_by: str,
    projects: dict[str, str],
    jobs: Iterable[repo.Billed],
) -> dict[str, str]:
    if group_by == "project":
        return dict(projects)
    if group_by == "user":
        wanted = {j.submitter_id for j in jobs}
        users = accounts_repo.list_users(db, organization_id=organization_id)
        return {u.id: u.email for u in users if u.id in wanted}
    return {j.id: j.name or j.id for j in jobs}

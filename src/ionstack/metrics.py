"""Prometheus metrics, correct across the API process and its worker processes.

Two sources make one ``/metrics`` page:

- **Events** (HTTP requests, job runs, worker polls) are counted where they happen, with
  prometheus-client's multiprocess mode: every process writes its samples to files in one
  directory (``PROMETHEUS_MULTIPROC_DIR``), and a scrape sums them. ``ionstack serve`` sets up
  that directory for itself and the workers it starts (:func:`multiprocess_directory`).
- **State** (jobs by status, queue depth and age, leases held by workers) is read from the
  database at scrape time by :class:`DatabaseCollector`, so it is right whichever process or
  machine changed it, and survives restarts.

No metric object exists at import time: :class:`Metrics` is built by ``create_app`` and by each
worker process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ionstack.store.tables import Job

ENV = "PROMETHEUS_MULTIPROC_DIR"
STATUSES = ("submitted", "ready", "started", "completed", "failed", "canceled")
QUEUED = ("submitted", "ready")
#: seconds; requests are mostly milliseconds, a few (large submissions) seconds
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: seconds; simulations run from microseconds to the 600 s time limit
RUN_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0)


def multiprocess_path() -> str | None:
    """The shared metrics directory in force, or None (single-process mode)."""
    path = os.environ.get(ENV)
    return path if path and os.path.isdir(path) else None


@contextmanager
def multiprocess_directory() -> Iterator[str]:
    """Put this process (and the children it starts later) in multiprocess mode.

    An operator's ``PROMETHEUS_MULTIPROC_DIR`` is used as it is; otherwise a fresh temporary
    directory is made, and removed at exit. Call it before any :class:`Metrics` is built.
    """
    given = os.environ.get(ENV)
    made = None if given else tempfile.mkdtemp(prefix="ionstack-metrics-")
    path = given or made
    assert path is not None
    os.makedirs(path, exist_ok=True)
    os.environ[ENV] = path
    # prometheus-client picks its value store when first imported; pick again now.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    try:
        yield path
    finally:
        if made is not None:
            os.environ.pop(ENV, None)
            values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
            shutil.rmtree(made, ignore_errors=True)


class Metrics:
    """The event metrics of one process (API or worker).

    In multiprocess mode the samples go to the shared directory and :meth:`registry` sums every
    process's files; otherwise they live in this object's own registry.
    """

    def __init__(self) -> None:
        self._own = CollectorRegistry(auto_describe=True)
        own = self._own
        self.http_requests = Counter(
            "ionstack_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=own,
        )
        self.http_duration = Histogram(
            "ionstack_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=own,
        )
        self.job_run = Histogram(
            "ionstack_job_run_seconds",
            "Time a worker spent running a job, by backend and outcome "
            "(completed, failed, canceled, released, lost).",
            ["backend", "outcome"],
            buckets=RUN_BUCKETS,
            registry=own,
        )
        self.held_polls = Counter(
            "ionstack_held_polls",
            "Status polls (GET /jobs/{id}) held for an unfinished job, by how they ended: "
            "finished (released by the job's finished signal), rechecked (found finished by a "
            "timed re-read), expired (the hold's bound passed first).",
            ["outcome"],
            registry=own,
        )
        self.submission_batches = Histogram(
            "ionstack_submission_batch_size",
            "Submissions written by one transaction (SQLite group commit; 1 on PostgreSQL).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=own,
        )
        self.held_polls_waiting = Gauge(
            "ionstack_held_polls_waiting",
            "Status polls being held now, waiting for their jobs to finish.",
            multiprocess_mode="livesum",
            registry=own,
        )
        self.worker_seen = Gauge(
            "ionstack_worker_last_seen_timestamp_seconds",
            "When each worker loop last polled the queue or renewed a lease (Unix time).",
            ["worker"],
            multiprocess_mode="max",
            registry=own,
        )

    def registry(self, *extra: Collector) -> CollectorRegistry:
        """A registry for one scrape: every process's events plus ``extra`` collectors."""
        registry = CollectorRegistry(auto_describe=False)
        path = multiprocess_path()
        if path is None:
            registry.register(_Forward(self._own))
        else:
            MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
        for collector in extra:
            registry.register(collector)
        return registry

    # --- what the code calls -------------------------------------------------------------------

    def request(self, *, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def job_ran(self, *, backend: str, outcome: str, seconds: float) -> None:
        self.job_run.labels(backend, outcome).observe(seconds)

    def worker_alive(self, worker: str) -> None:
        self.worker_seen.labels(worker).set(time.time())


class _Forward(Collector):
    """This process's own registry, inside a scrape's registry (single-process mode)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()


class DatabaseCollector(Collector):
    """Job, queue and lease gauges computed from the jobs table at scrape time.

    Jobs count as users see them (top-level, not deleted; a multi-circuit job is one job); the
    queue counts the runnable units (single-circuit jobs and the circuits of multi-circuit
    jobs). A worker shows up while it holds a lease; its heartbeat age is how long ago it
    last renewed one.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        backends: Iterable[str],
        lease_seconds: float,
    ) -> None:
        self.sessions = sessions
        self.backends = sorted(backends)
        self.lease_seconds = lease_seconds

    def describe(self) -> list[Metric]:
        return []  # collected lazily: never query the database at registration

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "ionstack_database_up", "1 when the last scrape could read the database."
        )
        try:
            with self.sessions() as db:
                families = self._families(db, now=datetime.now(UTC))
        except Exception:
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from families

    def _families(self, db: Session, *, now: datetime) -> list[Metric]:
        return [
            self._jobs(db),
            *self._queue(db, now=now),
            *self._leases(db, now=now),
        ]

    def _jobs(self, db: Session) -> Metric:
        family = GaugeMetricFamily(
            "ionstack_jobs",
            "Jobs by status and backend (not deleted).",
            labels=["status", "backend"],
        )
        rows = db.execute(
            select(Job.status, Job.backend, func.count())
            .where(Job.parent_id.is_(None), Job.deleted_at.is_(None))
            .group_by(Job.status, Job.backend)
        ).all()
        counts = {(r[0], r[1]): int(r[2]) for r in rows}
        backends = sorted({*self.backends, *(b for _, b in counts)})
        for backend in backends:
            for status in STATUSES:
                family.add_metric([status, backend], counts.get((status, backend), 0))
        return family

    def _queue(self, db: Session, *, now: datetime) -> list[Metric]:
        depth = GaugeMetricFamily(
            "ionstack_queue_depth",
            "Runnable jobs (circuits) waiting for a worker, by backend.",
            labels=["backend"],
        )
        age = GaugeMetricFamily(
            "ionstack_queue_oldest_age_seconds",
            "How long the oldest waiting job (circuit) has waited, by backend (0 when none).",
            labels=["backend"],
        )
        rows = db.execute(
            select(Job.backend, func.count(), func.min(Job.submitted_at))
            .where(Job.status.in_(QUEUED), Job.is_parent.is_(False), Job.deleted_at.is_(None))
            .group_by(Job.backend)
        ).all()
        found = {r[0]: (int(r[1]), _aware(r[2])) for r in rows}
        for backend in sorted({*self.backends, *found}):
            count, oldest = found.get(backend, (0, None))
            depth.add_metric([backend], count)
            age.add_metric([backend], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        return [depth, age]

    def _leases(self, db: Session, *, now: datetime) -> list[Metric]:
        running = GaugeMetricFamily(
            "ionstack_worker_running_jobs", "Jobs a worker holds a lease on.", labels=["worker"]
        )
        heartbeat = GaugeMetricFamily(
            "ionstack_worker_heartbeat_age_seconds",
            "Seconds since a worker last renewed one of its leases.",
            labels=["worker"],
        )
        expired = GaugeMetricFamily(
            "ionstack_leases_expired",
            "Started jobs whose lease ran out (their worker stopped); they are requeued soon.",
        )
        rows = db.execute(
            select(Job.worker_id, func.count(), func.max(Job.lease_until))
            .where(Job.status == "started", Job.is_parent.is_(False), Job.worker_id.is_not(None))
            .group_by(Job.worker_id)
        ).all()
        for worker, count, lease_until in rows:
            renewed = _aware(lease_until)
            running.add_metric([str(worker)], int(count))
            if renewed is not None:
                since = (now - renewed).total_seconds() + self.lease_seconds
                heartbeat.add_metric([str(worker)], max(0.0, since))
        stale = db.execute(
            select(func.count()).where(
                Job.status == "started", Job.is_parent.is_(False), Job.lease_until < now
            )
        ).scalar_one()
        expired.add_metric([], int(stale))
        return [running, heartbeat, expired]


def _aware(moment: Any) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):  # SQLite aggregates return the stored text
        moment = datetime.fromisoformat(moment)
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if isinstance(moment, datetime) else None

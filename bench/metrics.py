"""What one ``/metrics`` scrape costs as the jobs table grows (the database collector's queries).

Usage: ``.venv/bin/python bench/metrics.py [JOBS ...] [--database-url URL]``; a temporary
SQLite file by default. Jobs are 80% completed, 10% failed, 10% queued, spread over every
backend of the catalog. Prints the median of 5 scrapes (the Prometheus text built in-process).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import generate_latest
from sqlalchemy import insert

from ionstack.catalog import Catalog
from ionstack.metrics import DatabaseCollector, Metrics
from ionstack.service.accounts import bootstrap
from ionstack.store.database import make_engine, make_sessionmaker, migrate, transaction
from ionstack.store.tables import Job

STATUSES = ["completed"] * 8 + ["failed", "ready"]


def fill(url: str, count: int) -> DatabaseCollector:
    engine = make_engine(url, pool_size=2, max_overflow=0)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions, write=True) as db:
        made = bootstrap(db, key="isk_bench_metrics_0123456789abcdef", qpu_access=True)
        assert made is not None, "use an empty database"
        project, user = made.project.id, made.owner.id
    backends = [b.name for b in Catalog()]
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {
            "id": str(uuid.uuid4()),
            "project_id": project,
            "submitter_id": user,
            "key_id": "bench",
            "type": "ionq.circuit.v1",
            "backend": backends[i % len(backends)],
            "status": STATUSES[i % len(STATUSES)],
            "is_parent": False,
            "priority": 1,
            "dry_run": False,
            "input": {"qubits": 2, "circuit": [{"gate": "h", "target": 0}]},
            "settings": {},
            "stats": {},
            "output": {},
            "submitted_at": now - timedelta(seconds=i),
            "attempts": 0,
            "has_results": False,
            "sampled": False,
            "estimated_cost": 0.0,
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        for start in range(0, count, 5000):
            conn.execute(insert(Job), rows[start : start + 5000])
    return DatabaseCollector(sessions, backends=backends, lease_seconds=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("jobs", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--database-url", help="an empty database (default: temporary SQLite)")
    args = parser.parse_args()
    for count in args.jobs:
        url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        collector = fill(url, count)
        metrics = Metrics()
        times = []
        for _ in range(5):
            started = time.perf_counter()
            generate_latest(metrics.registry(collector))
            times.append(time.perf_counter() - started)
        print(f"{count:>8} jobs: scrape {sorted(times)[2] * 1000:7.1f} ms (median of 5)")


if __name__ == "__main__":
    main()

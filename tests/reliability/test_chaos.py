"""Chaos: 200 jobs while processes are killed with SIGKILL at random points and restarted.

Every job accepted with 201 must end exactly once, completed, with its results:

- **scale-out shape** (PostgreSQL): two API replicas (``serve --workers 0``) and two standalone
  workers; replicas and workers are killed and restarted at seeded-random moments while a
  client submits through whichever replica is up (retrying with an ``Idempotency-Key``, so a
  request cut off mid-flight never makes a second job);
- **embedded shape** (SQLite): one ``ionstack serve`` with its worker processes, killed as a
  whole and restarted.

Jobs are short emulated-QPU runs (they take their predicted duration), so some are always
running when a kill lands. Leases are short so abandoned jobs are taken over quickly.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ionstack.store.database import make_engine, make_sessionmaker, transaction
from ionstack.store.tables import Job, JobResult
from support import postgres
from support.server import BOOTSTRAP_KEY, Server, server_env, start_worker

JOBS = 200
SEED = 8
#: a kill after every 8 to 20 accepted jobs (about 14 kills over the run)
KILL_EVERY = (8, 20)
ENV = {
    "IONSTACK_EMULATE_QPU_DURATION": "true",
    "IONSTACK_LEASE_SECONDS": "1.5",
    "IONSTACK_MAX_ATTEMPTS": "20",
    "IONSTACK_RATE_LIMIT": "",
    "IONSTACK_POLL_INTERVAL_S": "0.5",
}


# Bell on forte-1 without debiasing: ~1 ms of emulated QPU time per shot → 50-150 ms jobs
def _job(rng: random.Random) -> dict[str, Any]:
    return {
        "type": "ionq.circuit.v1",
        "backend": "qpu.forte-1",
        "shots": rng.choice([50, 100, 150]),
        "settings": {"error_mitigation": {"debiasing": False}},
        "input": {
            "gateset": "qis",
            "qubits": 2,
            "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
        },
    }


def _submit_with_retries(
    urls: list[str], body: dict[str, Any], rng: random.Random, *, deadline: float
) -> str:
    """POST through any live replica until one answers 201; the same Idempotency-Key on every
    try, so a request that reached the database before its connection died is not doubled."""
    key = f"chaos-{uuid.uuid4()}"
    headers = {"Authorization": f"apiKey {BOOTSTRAP_KEY}", "Idempotency-Key": key}
    while time.monotonic() < deadline:
        url = rng.choice(urls)
        try:
            response = httpx.post(f"{url}/jobs", json=body, headers=headers, timeout=10)
        except httpx.HTTPError:
            time.sleep(0.05)
            continue
        if response.status_code == 201:
            job_id: str = response.json()["id"]
            return job_id
        assert response.status_code >= 500, response.text  # only outages may be retried
        time.sleep(0.05)
    raise AssertionError("no replica accepted the job in time")


def _final_states(database_url: str, ids: list[str]) -> dict[str, tuple[str, int, int]]:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            rows = db.execute(select(Job.id, Job.status, Job.attempts).where(Job.id.in_(ids)))
            results = dict(
                db.execute(
                    select(JobResult.job_id, func.count())
                    .where(JobResult.job_id.in_(ids))
                    .group_by(JobResult.job_id)
                ).all()
            )
            return {r.id: (r.status, r.attempts, int(results.get(r.id, 0))) for r in rows}
    finally:
        engine.dispose()


def _wait_all_terminal(database_url: str, ids: list[str], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = _final_states(database_url, ids)
        if all(s[0] in ("completed", "failed", "canceled") for s in states.values()):
            return
        time.sleep(0.5)
    pending = {
        k: v
        for k, v in _final_states(database_url, ids).items()
        if v[0] not in ("completed", "failed", "canceled")
    }
    raise AssertionError(f"{len(pending)} jobs never finished: {list(pending.items())[:5]}")


def _assert_exactly_once(database_url: str, ids: list[str], client: httpx.Client) -> None:
    assert len(set(ids)) == len(ids) == JOBS
    states = _final_states(database_url, ids)
    assert len(states) == JOBS  # nothing lost
    bad = {k: v for k, v in states.items() if v[0] != "completed" or v[2] != 1}
    assert not bad, f"{len(bad)} jobs not completed exactly once: {list(bad.items())[:5]}"
    for job_id in random.Random(SEED).sample(ids, 10):
        job = client.get(f"/jobs/{job_id}").json()
        histogram = client.get(f"/jobs/{job_id}/results/histogram").json()
        assert sum(histogram.values()) == job["shots"]


@pytest.fixture
def cleanup() -> Iterator[list[Any]]:
    things: list[Any] = []
    yield things
    for thing in things:
        if isinstance(thing, Server):
            thing.stop(kill=True)
        elif thing.poll() is None:
            os.killpg(thing.pid, signal.SIGKILL)
            thing.wait()


@pytest.mark.postgres
def test_scale_out_survives_killed_replicas_and_workers(
    postgres_admin_url: str, tmp_path: Path, cleanup: list[Any]
) -> None:
    rng = random.Random(SEED)
    url = postgres.create_database(postgres_admin_url)
    replicas = [
        Server(
            env=server_env(database_url=url, data_dir=tmp_path, bootstrap_key=BOOTSTRAP_KEY, **ENV),
            log_path=tmp_path / f"api-{i}.log",
            workers=0,
        )
        for i in range(2)
    ]
    for replica in replicas:
        cleanup.append(replica.start())
    workers: list[subprocess.Popen[bytes]] = [
        start_worker(replicas[0], log_name=f"worker-{i}.log") for i in range(2)
    ]
    cleanup.extend(workers)
    deadline = time.monotonic() + 300
    ids: list[str] = []
    next_kill = rng.randint(*KILL_EVERY)
    while len(ids) < JOBS:
        ids.append(
            _submit_with_retries([r.url for r in replicas], _job(rng), rng, deadline=deadline)
        )
        if len(ids) >= next_kill:
            _kill_something(rng, replicas, workers, cleanup)
            next_kill = len(ids) + rng.randint(*KILL_EVERY)
    for _ in range(4):  # keep killing workers while the backlog drains
        time.sleep(rng.uniform(0.5, 1.5))
        _kill_something(rng, replicas, workers, cleanup, workers_only=True)
    _wait_all_terminal(url, ids, timeout=240)
    with httpx.Client(
        base_url=replicas[0].url, headers={"Authorization": f"apiKey {BOOTSTRAP_KEY}"}
    ) as client:
        _assert_exactly_once(url, ids, client)


def _kill_something(
    rng: random.Random,
    replicas: list[Server],
    workers: list[subprocess.Popen[bytes]],
    cleanup: list[Any],
    *,
    workers_only: bool = False,
) -> None:
    if workers_only or rng.random() < 0.6:
        i = rng.randrange(len(workers))
        os.killpg(workers[i].pid, signal.SIGKILL)
        workers[i].wait()
        workers[i] = start_worker(replicas[0], log_name=f"worker-r{rng.randrange(10**6)}.log")
        cleanup.append(workers[i])
    else:
        replica = rng.choice(replicas)
        replica.stop(kill=True)
        replica.start(wait=False)  # the other replica serves meanwhile


def test_embedded_server_survives_being_killed(tmp_path: Path, cleanup: list[Any]) -> None:
    rng = random.Random(SEED + 1)
    url = f"sqlite:///{tmp_path / 'ionstack.db'}"
    server = Server(
        env=server_env(database_url=url, data_dir=tmp_path, bootstrap_key=BOOTSTRAP_KEY, **ENV),
        log_path=tmp_path / "server.log",
        workers=2,
    )
    cleanup.append(server.start())
    deadline = time.monotonic() + 300
    ids: list[str] = []
    next_kill = rng.randint(*KILL_EVERY)
    while len(ids) < JOBS:
        ids.append(_submit_with_retries([server.url], _job(rng), rng, deadline=deadline))
        if len(ids) >= next_kill:
            server.stop(kill=True)  # the API and its worker processes, all at once
            server.start(wait=False)  # submissions retry until it is back
            next_kill = len(ids) + rng.randint(*KILL_EVERY)
    server.stop(kill=True)  # and once more while the last of the backlog runs
    server.start()
    _wait_all_terminal(url, ids, timeout=240)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {BOOTSTRAP_KEY}"}
    ) as client:
        _assert_exactly_once(url, ids, client)

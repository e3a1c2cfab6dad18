"""Submissions that arrive together share one transaction on SQLite (group commit), and each
still gets its own answer: 201 only once durable, its own 400 or 401 otherwise.

Through a real server on both databases; the batches are read from the
``ionstack_submission_batch_size`` histogram (PostgreSQL commits each submission on its own).
Whether jobs were really written is checked in the database, not through the API.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from ionstack.store.database import make_engine, make_sessionmaker, transaction
from ionstack.store.tables import Job
from support.server import BOOTSTRAP_KEY, Server

SERVER_WORKERS = 0  # nothing runs: only the submissions are under test

BELL: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "shots": 100,
    "input": {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}
CLIENTS, EACH = 8, 15


def _batches(server: Server) -> tuple[float, float]:
    """(transactions, submissions) written so far."""
    text = httpx.get(f"{server.root}/metrics", timeout=10).text
    values = {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("ionstack_submission_batch_size")
    }
    return (
        values.get("ionstack_submission_batch_size_count", 0.0),
        values.get("ionstack_submission_batch_size_sum", 0.0),
    )


def _kind(i: int, k: int) -> str:
    n = i * EACH + k
    return "bad_key" if n % 11 == 5 else "bad_body" if n % 7 == 3 else "ok"


def test_concurrent_submissions_each_get_their_own_answer(server: Server) -> None:
    answers: list[tuple[str, int, dict[str, Any]]] = []
    start = threading.Barrier(CLIENTS)

    def client(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as api:
            start.wait()
            for k in range(EACH):
                kind = _kind(i, k)
                key = "isk_not_a_key" if kind == "bad_key" else BOOTSTRAP_KEY
                body = {**BELL, "shots": -1} if kind == "bad_body" else {**BELL, "name": f"{i}-{k}"}
                r = api.post("/jobs", json=body, headers={"Authorization": f"apiKey {key}"})
                answers.append((kind, r.status_code, r.json()))

    before = _batches(server)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    after = _batches(server)

    assert len(answers) == CLIENTS * EACH
    expected = {"ok": 201, "bad_body": 400, "bad_key": 401}
    assert [(kind, status) for kind, status, _ in answers if status != expected[kind]] == []
    for kind, _, body in answers:
        if kind == "bad_body":
            assert body["validation"]["keys"] == ["shots"]
    created = Counter(body["id"] for kind, _, body in answers if kind == "ok")
    assert all(n == 1 for n in created.values())

    # every 201 is a row in the database, with the name its request gave; nothing else was made
    engine = make_engine(server.env["IONSTACK_DATABASE_URL"], pool_size=1, max_overflow=0)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            rows = dict(db.execute(select(Job.id, Job.name).where(Job.id.in_(created))).all())
            total = db.scalar(select(func.count()).select_from(Job).where(Job.name.like("%-%")))
    finally:
        engine.dispose()
    assert rows.keys() == created.keys()
    assert total == len(created)

    transactions, submissions = after[0] - before[0], after[1] - before[1]
    assert submissions == CLIENTS * EACH  # refused ones were written (and rolled back) too
    if server.env["IONSTACK_DATABASE_URL"].startswith("sqlite"):
        # 8 clients at once: submissions arriving during a commit share the next one
        assert transactions < submissions
    else:
        assert transactions == submissions  # PostgreSQL commits each on its own


def test_concurrent_retries_with_one_idempotency_key_make_one_job(server: Server) -> None:
    """Clients retrying at once with the same Idempotency-Key all get the same job, and only one
    row is written: on SQLite the later ones in a batch find the first in their transaction; on
    PostgreSQL concurrent transactions race to the unique index and the losers' IntegrityError
    turns into a replay of the winner's job."""
    keys = [f"race-{uuid.uuid4()}" for _ in range(5)]
    answers: list[tuple[str, int, dict[str, Any]]] = []
    start = threading.Barrier(CLIENTS)

    def client(i: int) -> None:
        headers = {"Authorization": f"apiKey {BOOTSTRAP_KEY}"}
        with httpx.Client(base_url=server.url, timeout=60, headers=headers) as api:
            for key in keys:
                start.wait()
                r = api.post("/jobs", json=BELL, headers={"Idempotency-Key": key})
                answers.append((key, r.status_code, r.json()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert len(answers) == CLIENTS * len(keys)
    assert {status for _, status, _ in answers} == {201}
    ids = {key: {body["id"] for k, _, body in answers if k == key} for key in keys}
    assert all(len(found) == 1 for found in ids.values()), ids
    engine = make_engine(server.env["IONSTACK_DATABASE_URL"], pool_size=1, max_overflow=0)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            stored = db.execute(
                select(Job.idempotency_key, func.count())
                .where(Job.idempotency_key.in_(keys))
                .group_by(Job.idempotency_key)
            ).all()
    finally:
        engine.dispose()
    assert dict(stored) == dict.fromkeys(keys, 1)

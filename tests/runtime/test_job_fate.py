"""The rules that decide a job's fate when its run goes wrong, with real worker processes.

- a job whose worker dies on every run fails with ``InternalError`` after
  ``IONSTACK_MAX_ATTEMPTS`` runs (and is requeued before that);
- a run longer than ``IONSTACK_SIMULATION_TIMEOUT_S`` fails with ``SimulationTimeout``;
- a worker paused past its lease (SIGSTOP) while another worker takes the job over cannot store
  its result when it resumes (SIGCONT): the job completes once, by the worker that holds it;
- a submission wakes an idle worker: with the fallback poll at 600 s, a job still completes
  within the test's bound.

Emulated QPU jobs take their predicted duration (seconds), so there is time to kill or pause a
worker mid-run; leases are short so an abandoned job is taken over quickly. The lease rule is
also tested on the queue itself, where the instants are injected (no timing involved).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ionstack.catalog import Catalog
from ionstack.runtime import queue
from ionstack.service import accounts
from ionstack.service.jobs import submit as submit_job
from ionstack.settings import Settings
from ionstack.store.database import make_engine, make_sessionmaker, transaction
from ionstack.store.tables import Job, JobResult
from support.server import LONG_QPU_JOB, Server, submit, wait_for_job

SERVER_WORKERS = 0  # every worker here is a standalone process the test controls
SERVER_ENV = {
    # these tests watch jobs start: status polls answer at once
    "IONSTACK_POLL_HOLD_S": "0",
    "IONSTACK_EMULATE_QPU_DURATION": "true",
    "IONSTACK_LEASE_SECONDS": "1.5",
}

LONG_JOB = LONG_QPU_JOB
QUICK_JOB: dict[str, Any] = {**LONG_JOB, "backend": "simulator", "shots": 10}
FINAL_EVENTS = ("job_completed", "job_failed", "job_abandoned", "job_result_discarded")

T = TypeVar("T")


def _until(probe: Callable[[], T | None], *, what: str, timeout: float = 60) -> T:
    """Poll ``probe`` until it returns something (bounded; never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s: {what}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Row:
    status: str
    attempts: int
    worker_id: str | None
    lease_until: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    results: int  #: rows in job_results

    @property
    def worker_pid(self) -> int | None:
        # worker ids are "{host}-{pid}-{random}" (runtime/worker.py)
        return None if self.worker_id is None else int(self.worker_id.rsplit("-", 2)[1])


@pytest.fixture
def db(server: Server) -> Iterator[sessionmaker[Session]]:
    """The server's database, read the way test_worker_faults.py reads it."""
    engine = make_engine(server.env["IONSTACK_DATABASE_URL"], pool_size=1, max_overflow=0)
    yield make_sessionmaker(engine)
    engine.dispose()


def _row(sessions: sessionmaker[Session], job_id: str) -> Row:
    with transaction(sessions) as db:
        job = db.get(Job, job_id)
        assert job is not None
        count = db.scalar(
            select(func.count()).select_from(JobResult).where(JobResult.job_id == job_id)
        )
        return Row(
            status=job.status,
            attempts=job.attempts,
            worker_id=job.worker_id,
            lease_until=job.lease_until,
            started_at=job.started_at,
            completed_at=job.completed_at,
            results=int(count or 0),
        )


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def events(self, job_id: str) -> list[str]:
        """The job's transitions this worker logged (JSON log lines)."""
        actions = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("job_id") == job_id:
                actions.append(str(record.get("action")))
        return actions

    def final(self, job_id: str) -> Callable[[], list[str] | None]:
        """A probe: how this worker's runs of the job ended, once one has."""
        return lambda: [e for e in self.events(job_id) if e in FINAL_EVENTS] or None


Spawn = Callable[..., Worker]


@pytest.fixture
def spawn(server: Server) -> Iterator[Spawn]:
    """Start standalone ``ionstack worker`` processes with extra settings; killed afterwards."""
    started: list[Worker] = []

    def start(name: str, **env: str) -> Worker:
        # beside the server's log, where the harness looks for tracebacks
        path = server.log_path.parent / f"{name}.log"
        with path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "ionstack", "worker"],
                env={**server.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(Worker(name, process, path))
        return started[-1]

    yield start
    for worker in started:
        if worker.process.poll() is None:
            os.killpg(worker.process.pid, signal.SIGKILL)  # also ends a stopped one
            worker.process.wait()


def _wait_row(
    sessions: sessionmaker[Session], job_id: str, ok: Callable[[Row], bool], *, what: str
) -> Row:
    def probe() -> Row | None:
        row = _row(sessions, job_id)
        return row if ok(row) else None

    return _until(probe, what=what)


def _running(attempt: int) -> Callable[[Row], bool]:
    return lambda row: row.status == "started" and row.attempts == attempt


def _holder(workers: list[Worker], row: Row) -> Worker:
    found = [w for w in workers if w.process.pid == row.worker_pid]
    assert found, f"job held by {row.worker_id}, not by one of {[w.name for w in workers]}"
    return found[0]


def _kill(worker: Worker) -> None:
    os.killpg(worker.process.pid, signal.SIGKILL)  # mid-run, no chance to clean up
    worker.process.wait()


def test_a_job_whose_worker_always_dies_fails_with_internal_error(
    client: httpx.Client, db: sessionmaker[Session], spawn: Spawn
) -> None:
    """Runs 1 and 2 of ``MAX_ATTEMPTS=2`` are each killed: the first is requeued, the second
    is the last, and the surviving worker fails the job instead of running it a third time."""
    workers = [
        spawn(f"dies-{i}", IONSTACK_MAX_ATTEMPTS="2", IONSTACK_POLL_INTERVAL_S="0.2")
        for i in range(3)
    ]
    job_id = submit(client, LONG_JOB)
    for attempt in (1, 2):
        running = _wait_row(db, job_id, _running(attempt), what=f"run {attempt} started")
        _kill(_holder(workers, running))
    job = wait_for_job(client, job_id, timeout=60)
    assert job["status"] == "failed", job
    assert isinstance(job["failure"], dict) and job["failure"]["code"] == "InternalError", job
    final = _row(db, job_id)
    assert final.attempts == 2  # never claimed a third time
    assert final.results == 0
    cost = client.get(f"/jobs/{job_id}/cost").json()
    assert cost["cost"]["value"] == 0.0  # a failed job is not charged


def test_a_run_past_the_simulation_timeout_fails(
    client: httpx.Client, db: sessionmaker[Session], spawn: Spawn
) -> None:
    """A 4.2 s run on a worker whose limit is 1 s fails with ``SimulationTimeout``, once."""
    spawn("timeout", IONSTACK_SIMULATION_TIMEOUT_S="1")
    job_id = submit(client, LONG_JOB)
    job = wait_for_job(client, job_id, timeout=60)
    assert job["status"] == "failed", job
    assert isinstance(job["failure"], dict) and job["failure"]["code"] == "SimulationTimeout", job
    assert "1 s" in str(job["failure"]["message"])
    final = _row(db, job_id)
    assert final.attempts == 1 and final.results == 0  # not retried, nothing stored
    assert final.started_at is not None and final.completed_at is not None
    assert final.completed_at - final.started_at >= timedelta(seconds=1)  # it did get its 1 s
    assert client.get(f"/jobs/{job_id}/cost").json()["cost"]["value"] == 0.0


def test_a_worker_paused_past_its_lease_cannot_store_its_result(
    client: httpx.Client, db: sessionmaker[Session], spawn: Spawn
) -> None:
    """SIGSTOP the worker running a job until another worker has taken it over, then SIGCONT:
    the first one's run is thrown away (its lease is gone) and the job completes once, by the
    worker that holds it. The first worker is paused after about 1 s of its 4.2 s run, so once
    resumed it would finish well before the worker that restarted the job from zero."""
    logs = {"IONSTACK_LOG_LEVEL": "info", "IONSTACK_LOG_JSON": "true"}
    workers = [spawn(f"pause-{n}", IONSTACK_POLL_INTERVAL_S="0.2", **logs) for n in "ab"]
    job_id = submit(client, LONG_JOB)
    first = _wait_row(db, job_id, _running(1), what="run 1 started")
    slow = _holder(workers, first)
    (other,) = [w for w in workers if w is not slow]
    # Pause it just after its second heartbeat committed: it has run about 1 s, and its next
    # heartbeat is 0.5 s away, so it holds no database lock while it is stopped.
    leases = {first.lease_until}

    def renewed() -> Row | None:
        row = _row(db, job_id)
        leases.add(row.lease_until)
        return row if len(leases) >= 3 and row.attempts == 1 else None

    _until(renewed, what="the first worker's lease renewed twice")
    os.killpg(slow.process.pid, signal.SIGSTOP)
    taken = _wait_row(db, job_id, _running(2), what="the job taken over while the first sleeps")
    assert _holder(workers, taken) is other
    os.killpg(slow.process.pid, signal.SIGCONT)

    job = wait_for_job(client, job_id, timeout=60)
    assert job["status"] == "completed", job
    hist = client.get(f"/jobs/{job_id}/results/histogram").json()
    assert sum(hist.values()) == 4000
    final = _row(db, job_id)
    assert final.results == 1  # completed exactly once
    assert final.attempts == 2 and final.worker_id == taken.worker_id
    # what each worker did with its run (its last transition of this job)
    ends = {w.name: _until(w.final(job_id), what=f"{w.name} finished its run") for w in workers}
    assert ends[other.name] == ["job_completed"], ends
    assert ends[slow.name] in (["job_abandoned"], ["job_result_discarded"]), ends


def test_a_submission_wakes_an_idle_worker(
    client: httpx.Client, db: sessionmaker[Session], spawn: Spawn
) -> None:
    """The worker's fallback poll is 600 s: only the submission's wake-up can start the job
    within the 60 s this test waits."""
    spawn("idle", IONSTACK_POLL_INTERVAL_S="600")
    # a first job shows the worker is up; once it is done the worker goes back to sleep
    warm = wait_for_job(client, submit(client, QUICK_JOB), timeout=60)
    assert warm["status"] == "completed", warm
    time.sleep(0.5)  # let it reach its wait: a job submitted before that is claimed anyway
    job_id = submit(client, QUICK_JOB)
    job = wait_for_job(client, job_id, timeout=60)
    assert job["status"] == "completed", job
    assert _row(db, job_id).attempts == 1


# --- the lease condition on the queue itself (instants injected) ---------------------------


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _outcome(held: queue.Claim) -> queue.Outcome:
    return queue.Outcome(
        probabilities={"0": 0.5, "3": 0.5},
        histogram={"0": 5, "3": 5},
        shots=None,
        variants=None,
        output={},
        stats=dict(held.stats),
        execution_duration_ms=1,
    )


def test_a_run_that_lost_its_lease_cannot_write(sessions: sessionmaker[Session]) -> None:
    """Run A's lease expires and run B takes the job: whatever A does afterwards (heartbeat,
    complete, fail, release) changes nothing, even while B still runs it; B completes it once."""
    with transaction(sessions, write=True) as db:
        made = accounts.bootstrap(db, key="k-owner")
        assert made is not None
        caller = accounts.authenticate(db, "apiKey k-owner")
        body = {**QUICK_JOB, "shots": 10}
        job_id = submit_job(
            db, body, caller=caller, catalog=Catalog(), settings=Settings(), now=T0
        ).id
    a = queue.claim(sessions, worker_id="a", lease_seconds=30, now=T0)
    assert a is not None and a.job_id == job_id and a.attempt == 1
    later = T0 + timedelta(seconds=31)
    assert queue.requeue_expired(sessions, now=later, max_attempts=3) == (1, [])
    b = queue.claim(sessions, worker_id="b", lease_seconds=30, now=later)
    assert b is not None and b.job_id == job_id and b.attempt == 2
    # the same worker name on the later run: the attempt number still tells them apart
    a_again = dataclasses.replace(a, worker_id="b")
    for stale in (a, a_again):
        assert not queue.heartbeat(sessions, stale, lease_seconds=30, now=later)
        assert not queue.complete(sessions, stale, _outcome(stale), now=later)
        assert not queue.fail(
            sessions, stale, {"code": "SimulationError", "message": "x"}, now=later
        )
        assert not queue.release(sessions, stale)
    assert queue.heartbeat(sessions, b, lease_seconds=30, now=later)
    assert queue.complete(sessions, b, _outcome(b), now=later)
    assert not queue.complete(sessions, b, _outcome(b), now=later)  # never twice
    with transaction(sessions) as db:
        job = db.get(Job, job_id)
        assert job is not None and job.status == "completed" and job.attempts == 2
        results = db.scalar(
            select(func.count()).select_from(JobResult).where(JobResult.job_id == job_id)
        )
    assert results == 1


# --- every transition of the queue, row by row (instants injected; scripts/mutation) ---------

BELL_2Q = QUICK_JOB["input"]["circuit"]


def _submit_in_process(sessions: sessionmaker[Session], body: dict[str, Any]) -> str:
    with transaction(sessions, write=True) as db:
        if accounts.bootstrap(db, key="k-owner") is None:
            pass  # already made by an earlier submission of this test
        caller = accounts.authenticate(db, "apiKey k-owner")
        return submit_job(
            db, body, caller=caller, catalog=Catalog(), settings=Settings(), now=T0
        ).id


def _job_row(sessions: sessionmaker[Session], job_id: str) -> Job:
    with transaction(sessions) as db:
        job = db.get(Job, job_id)
        assert job is not None
        db.expunge(job)
        return job


def test_claim_hands_out_the_job_as_submitted_and_leases_it(
    sessions: sessionmaker[Session],
) -> None:
    """A claim carries what the worker needs, starts the job with its lease, and skips parents
    and deleted jobs; completing, failing and releasing write exactly their own row."""
    noisy = {
        **QUICK_JOB,
        "name": "noisy",
        "noise": {"model": "aria-1", "seed": 7},
        "settings": {"error_mitigation": {"debiasing": False}},
    }
    first = _submit_in_process(sessions, noisy)
    multi = _submit_in_process(
        sessions,
        {
            **QUICK_JOB,
            "type": "ionq.multi-circuit.v1",
            "input": {"gateset": "qis", "qubits": 2, "circuits": [{"circuit": BELL_2Q}] * 2},
        },
    )
    deleted = _submit_in_process(sessions, QUICK_JOB)
    with transaction(sessions, write=True) as db:
        gone = db.get(Job, deleted)
        assert gone is not None
        gone.deleted_at = T0
        submitted = _job_row(sessions, first)

    held = queue.claim(sessions, worker_id="w1", lease_seconds=30, now=T0)
    assert held is not None and held.job_id == first  # submission order, parents skipped
    assert held == queue.Claim(
        job_id=first,
        worker_id="w1",
        attempt=1,
        parent_id=None,
        circuit_index=None,
        backend="simulator",
        input=submitted.input,
        shots=10,
        noise={"model": "aria-1", "seed": 7},
        settings=submitted.settings,
        stats=submitted.stats,
        type="ionq.circuit.v1",
        project_id=submitted.project_id,
        submitted_at=submitted.submitted_at,
    )
    assert held.settings and held.stats  # non-empty, so a lost copy shows
    row = _job_row(sessions, first)
    assert (row.status, row.worker_id, row.attempts) == ("started", "w1", 1)
    assert row.started_at == T0 and row.lease_until == T0 + timedelta(seconds=30)

    child = queue.claim(sessions, worker_id="w1", lease_seconds=30, now=T0)
    # (the children of one job share its millisecond: either may come first)
    assert child is not None and child.parent_id == multi and child.circuit_index in (0, 1)
    assert child.attempt == 1 and child.type == "ionq.circuit.v1"
    assert _job_row(sessions, multi).status == "started"  # the parent follows its first child

    # the two claims share worker and attempt: only the job id tells them apart
    later = T0 + timedelta(seconds=10)
    assert queue.heartbeat(sessions, held, lease_seconds=30, now=later)
    assert _job_row(sessions, first).lease_until == later + timedelta(seconds=30)
    assert _job_row(sessions, child.job_id).lease_until == T0 + timedelta(seconds=30)
    outcome = dataclasses.replace(
        _outcome(held),
        shots=["0", "3"],
        variants=[{"kind": "v"}],
        output={"o": 1},
        stats={**held.stats, "s": 2},
        execution_duration_ms=42,
    )
    assert queue.complete(sessions, held, outcome, now=later)
    row = _job_row(sessions, first)
    assert (row.status, row.completed_at, row.lease_until) == ("completed", later, None)
    assert (row.output, row.stats, row.execution_duration_ms) == ({"o": 1}, outcome.stats, 42)
    assert row.has_results and row.sampled
    with transaction(sessions) as db:
        stored = db.scalars(select(JobResult).where(JobResult.job_id == first)).one()
        assert (stored.probabilities, stored.histogram) == ({"0": 0.5, "3": 0.5}, {"0": 5, "3": 5})
        assert (stored.shots, stored.variants) == (["0", "3"], [{"kind": "v"}])
    assert _job_row(sessions, child.job_id).status == "started"  # not the other claim's row

    assert queue.release(sessions, child)
    row = _job_row(sessions, child.job_id)
    assert (row.status, row.worker_id, row.lease_until, row.attempts) == ("ready", None, None, 0)
    again = queue.claim(sessions, worker_id="w2", lease_seconds=30, now=later)
    assert again is not None and again.job_id == child.job_id and again.attempt == 1
    # same job, same attempt number, another worker: the released claim is stale
    assert not queue.fail(sessions, child, {"code": "SimulationError", "message": "x"}, now=later)
    failure = {"code": "SimulationError", "message": "boom"}
    assert queue.fail(sessions, again, failure, now=later)
    row = _job_row(sessions, child.job_id)
    assert (row.status, row.failure, row.completed_at) == ("failed", failure, later)
    assert (row.lease_until, row.execution_duration_ms) == (None, 0)
    assert _job_row(sessions, multi).status == "started"  # its other child is still queued

    last = queue.claim(sessions, worker_id="w3", lease_seconds=30, now=later)
    assert last is not None and last.parent_id == multi
    assert last.circuit_index == 1 - (child.circuit_index or 0)
    assert queue.complete(sessions, last, _outcome(last), now=later)
    parent = _job_row(sessions, multi)  # its last child's end decides it
    assert (parent.status, parent.failure, parent.completed_at) == ("failed", failure, later)
    assert queue.claim(sessions, worker_id="w3", lease_seconds=30, now=later) is None  # deleted
    # a function job is handed out as one: the worker runs it by its type
    ansatz = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nh q[0];'
    function = {
        "type": "quantum-function",
        "backend": "simulator",
        "shots": 10,
        "input": {
            "data": {
                "type": "hamiltonian-energy",
                "data": {
                    "hamiltonian": [{"pauli_string": "Z", "coefficient": 1.0}],
                    "ansatz": {"format": "qasm", "data": ansatz},
                },
            },
            "params": [],
        },
    }
    function_id = _submit_in_process(sessions, function)
    run = queue.claim(sessions, worker_id="w3", lease_seconds=30, now=later)
    assert run is not None and run.job_id == function_id and run.type == "quantum-function"


def test_requeue_expired_requeues_then_fails_at_max_attempts(
    sessions: sessionmaker[Session],
) -> None:
    """Only leases that ended strictly before now expire; below ``max_attempts`` the job goes
    back to ``ready``, at it the job (and its parent) fails with ``InternalError``."""
    single = _submit_in_process(sessions, QUICK_JOB)
    multi_body = {
        **QUICK_JOB,
        "type": "ionq.multi-circuit.v1",
        "input": {"gateset": "qis", "qubits": 2, "circuits": [{"circuit": BELL_2Q}]},
    }
    multi = _submit_in_process(sessions, multi_body)
    assert queue.requeue_expired(sessions, now=T0, max_attempts=2) == (0, [])
    # the single job runs once and its worker vanishes
    one = queue.claim(sessions, worker_id="w", lease_seconds=30, now=T0)
    assert one is not None and one.job_id == single
    end = T0 + timedelta(seconds=30)
    assert queue.requeue_expired(sessions, now=end, max_attempts=2) == (0, [])  # not yet
    assert queue.requeue_expired(sessions, now=end + timedelta(seconds=1), max_attempts=2) == (
        1,
        [],
    )
    row = _job_row(sessions, single)
    assert (row.status, row.worker_id, row.lease_until, row.attempts) == ("ready", None, None, 1)
    # now both run: the single job a second time (its last), the first child a first time
    t1 = T0 + timedelta(seconds=60)
    last = queue.claim(sessions, worker_id="w", lease_seconds=30, now=t1)
    child = queue.claim(sessions, worker_id="w", lease_seconds=30, now=t1)
    assert last is not None and last.job_id == single and last.attempt == 2
    assert child is not None and child.parent_id == multi and child.attempt == 1
    t2 = t1 + timedelta(seconds=31)
    # at max_attempts the single job fails; the child, on its first run, goes back
    assert queue.requeue_expired(sessions, now=t2, max_attempts=2) == (1, [single])
    assert _job_row(sessions, child.job_id).status == "ready"
    retry = queue.claim(sessions, worker_id="w", lease_seconds=30, now=t2)
    assert retry is not None and retry.job_id == child.job_id and retry.attempt == 2
    t3 = t2 + timedelta(seconds=31)
    assert queue.requeue_expired(sessions, now=t3, max_attempts=2) == (0, [child.job_id, multi])
    for job_id, when in ((single, t2), (child.job_id, t3)):
        row = _job_row(sessions, job_id)
        assert (row.status, row.completed_at, row.lease_until) == ("failed", when, None), job_id
        assert row.attempts == 2
        assert row.failure == {
            "code": "InternalError",
            "message": "The job's worker stopped 2 times while running it.",
        }
    parent = _job_row(sessions, multi)  # its only child failed
    assert (parent.status, parent.completed_at) == ("failed", t3)
    # a child's own failure (not its lease) ends its parent the same way
    other = _submit_in_process(sessions, multi_body)
    run = queue.claim(sessions, worker_id="w", lease_seconds=30, now=t3)
    assert run is not None and run.parent_id == other
    failure = {"code": "SimulationError", "message": "boom"}
    assert queue.fail(sessions, run, failure, now=t3)
    parent = _job_row(sessions, other)
    assert (parent.status, parent.failure, parent.completed_at) == ("failed", failure, t3)

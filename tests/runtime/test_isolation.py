"""Large jobs run in a child process with an OS memory limit (issue 16 §1; runtime/isolation.py).

``ionstack serve`` with one worker, isolating every job estimated at 4 MiB or more, with a
margin of a quarter of the estimate (so a noisy 20-qubit job, whose trajectories need more
than that, runs out of its allowance) and a 5 s time limit. Real processes, no mocks:

- a job over its allowance fails with ``SimulationError`` naming the limit in GiB, and the
  worker runs the next job (no worker process exits);
- a child SIGKILLed mid-run (as the OOM killer would) fails its job at once, on its first
  attempt, naming the signal;
- a job in one long engine call (a 24-qubit circuit of 3840 gates: one qsim segment, ~30 s)
  is stopped by the time limit (``SimulationTimeout``) and by cancel, its child killed — a
  child left running would complete the job, since only the worker applies the stop rules;
- the same job and seed give identical results in a child and in the worker's thread.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from ionstack.catalog import Catalog
from ionstack.runtime import isolation, queue
from ionstack.runtime.worker import Worker, compute_isolated
from ionstack.settings import Settings
from ionstack.store.database import make_engine, make_sessionmaker, transaction
from ionstack.store.tables import Job
from ionstack.store.wakeups import ThreadWakeup
from support.processes import LONG_24, gone, job_child, layers
from support.server import Server, submit, wait_for_job, wait_for_status

SERVER_WORKERS = 1
SERVER_ENV = {
    "IONSTACK_POLL_HOLD_S": "0",
    "IONSTACK_ISOLATE_ABOVE_BYTES": str(4 << 20),
    "IONSTACK_ISOLATE_MARGIN": "0.25",
    "IONSTACK_SIMULATION_TIMEOUT_S": "5",
}


def _job(qubits: int, gates: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "input": {"gateset": "qis", "qubits": qubits, "circuit": gates},
        **extra,
    }


BELL = _job(2, [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}])
#: ≈ 170 MiB estimated (trajectory checkpoints); allowed a quarter of it + 32 MiB of threads
NOISY_20 = _job(20, layers(20, 2), shots=100, noise={"model": "aria-1", "seed": 3})
SEEDED_15 = _job(15, layers(15, 3), shots=500, noise={"model": "aria-1", "seed": 11})
EXACT_18 = _job(18, layers(18, 3))


@pytest.fixture
def db(server: Server) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(server.env["IONSTACK_DATABASE_URL"], pool_size=1, max_overflow=0)
    yield make_sessionmaker(engine)
    engine.dispose()


def _job_row(db: sessionmaker[Session], job_id: str) -> tuple[int, int]:
    """(worker pid, attempts) of a started job (worker ids: host-pid-random)."""
    with transaction(db) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.worker_id is not None
        return int(job.worker_id.rsplit("-", 2)[1]), job.attempts


def _started_child(client: httpx.Client, db: sessionmaker[Session], job_id: str) -> int:
    wait_for_status(client, job_id, ("started",))
    worker, _ = _job_row(db, job_id)
    return job_child(worker)


def _oom_score_adj(pid: int, *, timeout: float = 10) -> str:
    """The child's ``oom_score_adj`` once it has set it (it does so as it starts)."""
    deadline = time.monotonic() + timeout
    path = Path(f"/proc/{pid}/oom_score_adj")
    while (value := path.read_text().strip() if path.exists() else "gone") == "0":
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    return value


def _next_job_completes(server: Server, client: httpx.Client) -> None:
    follow = submit(client, BELL)
    assert wait_for_job(client, follow, timeout=60)["status"] == "completed"
    log = server.log_path.read_text(errors="replace")
    assert "worker process exited" not in log, log[-3000:]


def test_a_job_over_its_allowance_fails_naming_the_memory(
    server: Server, client: httpx.Client
) -> None:
    job_id = submit(client, NOISY_20)
    job = wait_for_job(client, job_id)
    assert job["status"] == "failed", job
    failure: Any = job["failure"]
    assert failure["code"] == "SimulationError", failure
    assert "ran out of memory: its process was limited to" in failure["message"], failure
    assert " GiB" in failure["message"], failure
    _next_job_completes(server, client)


def test_a_child_killed_by_a_signal_fails_its_job_without_a_retry(
    server: Server, client: httpx.Client, db: sessionmaker[Session]
) -> None:
    job_id = submit(client, LONG_24)
    child = _started_child(client, db, job_id)
    assert _oom_score_adj(child) == "1000"  # the OOM killer's first choice
    os.kill(child, signal.SIGKILL)  # the kernel's OOM killer, say
    job = wait_for_job(client, job_id)
    assert job["status"] == "failed", job
    failure: Any = job["failure"]
    assert failure["code"] == "SimulationError", failure
    assert "killed by SIGKILL" in failure["message"], failure
    assert "GiB" in failure["message"] and "not retried" in failure["message"], failure
    assert _job_row(db, job_id)[1] == 1  # one attempt: not requeued
    memory = Path(server.env["IONSTACK_DATA_DIR"]) / "memory"
    assert not list(memory.glob(f"*_{job_id}_*")), "the dead child's reservation is left"
    _next_job_completes(server, client)


def test_the_time_limit_kills_a_child_inside_one_long_call(
    server: Server, client: httpx.Client, db: sessionmaker[Session]
) -> None:
    job_id = submit(client, LONG_24)
    child = _started_child(client, db, job_id)
    job = wait_for_job(client, job_id)
    assert job["status"] == "failed", job  # a child left alone would complete it
    failure: Any = job["failure"]
    assert failure["code"] == "SimulationTimeout", failure
    assert gone(child), "the child still runs"
    _next_job_completes(server, client)


def test_cancel_kills_the_child(
    server: Server, client: httpx.Client, db: sessionmaker[Session]
) -> None:
    job_id = submit(client, LONG_24)
    child = _started_child(client, db, job_id)
    assert client.put(f"/jobs/{job_id}/status/cancel").status_code == 200
    assert gone(child), "the child still runs"
    _next_job_completes(server, client)
    final = client.get(f"/jobs/{job_id}").json()
    assert final["status"] == "canceled" and final["results"] is None


def _claim(body: dict[str, Any], job_id: str) -> queue.Claim:
    return queue.Claim(
        job_id=job_id,
        worker_id="test",
        attempt=1,
        parent_id=None,
        circuit_index=None,
        backend=body["backend"],
        input=body["input"],
        shots=body.get("shots"),
        noise=body.get("noise"),
        settings={},
        stats={},
    )


def _in_thread(held: queue.Claim, settings: Settings) -> queue.Outcome:
    worker = Worker(settings=settings, sessions=sessionmaker(), wakeup=ThreadWakeup(), name="t")
    return worker.compute(held, check=lambda: None, device=None)


def _stored(outcome: queue.Outcome) -> str:
    fields = dataclasses.asdict(outcome)
    del fields["execution_duration_ms"]
    return json.dumps(fields, sort_keys=True)


@pytest.mark.parametrize("body", [SEEDED_15, EXACT_18], ids=["noisy-seeded", "exact"])
def test_a_child_and_the_thread_give_identical_results(body: dict[str, Any]) -> None:
    settings = Settings(isolate_above_bytes=1)
    held = _claim(body, "0190f000-0000-7000-8000-000000000001")
    sized = isolation.estimate(held, catalog=Catalog(), device=None, settings=settings)
    assert sized is not None
    task = isolation.Task(
        held=held,
        device=None,
        catalog=Catalog(),
        settings=settings,
        host=None,
        estimate=sized[0],
        allowance=isolation.allowance(*sized, settings),
    )
    child = isolation.run(task, compute=compute_isolated, check=lambda: None)
    assert _stored(child) == _stored(_in_thread(held, settings))


def test_an_isolated_job_stores_what_the_thread_computes(
    client: httpx.Client,
) -> None:
    job_id = submit(client, SEEDED_15)
    assert wait_for_job(client, job_id)["status"] == "completed"
    stored = client.get(f"/jobs/{job_id}/results/probabilities").json()
    expected = _in_thread(_claim(SEEDED_15, job_id), Settings())
    assert stored == expected.probabilities

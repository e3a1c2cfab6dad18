"""What running a job in a child process with a memory limit costs (issue 16 §1;
``src/ionstack/runtime/isolation.py``).

Usage::

    .venv/bin/python bench/isolation.py                  # start cost, baseline, a 26-qubit job
    .venv/bin/python bench/isolation.py --qubits 26,28   # also 28 q (a 2 GiB state)
    .venv/bin/python bench/isolation.py --qubits none    # start cost and baseline only

Prints:

* the fork server's first start (its imports of the quantum modules, paid once per worker
  process, in the background at the worker's start);
* the start cost of a child: a 2-qubit job run through ``isolation.run`` against the same job
  in this thread (median of ``--runs``), the difference being what isolation adds to a job;
* the child's baseline when it starts: ``VmRSS`` (mostly shared with the fork server) and
  ``VmData``, from which its ``RLIMIT_DATA`` is counted;
* per ``--qubits``: the issue's circuit (an h layer, a ring of zz, an rx layer) exact on the
  ideal simulator, run in a child with the default settings: the estimate, the allowance, the
  child's limit, its peak resident memory (``ru_maxrss``, baseline included) and the time,
  beside the same job in this thread.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy.orm import sessionmaker

from ionstack.catalog import Catalog
from ionstack.runtime import isolation, queue
from ionstack.runtime.worker import Worker, compute_isolated
from ionstack.settings import Settings
from ionstack.store.wakeups import ThreadWakeup


def _issue_circuit(n: int) -> list[dict[str, Any]]:
    ring = [{"gate": "zz", "targets": [q, (q + 1) % n], "rotation": 0.2} for q in range(n)]
    return [
        {"gate": "h", "targets": list(range(n))},
        *ring,
        {"gate": "rx", "targets": list(range(n)), "rotation": 0.3},
    ]


def _claim(n: int, gates: list[dict[str, Any]]) -> queue.Claim:
    return queue.Claim(
        job_id="0190f000-0000-7000-8000-00000000b001",
        worker_id="bench",
        attempt=1,
        parent_id=None,
        circuit_index=None,
        backend="simulator",
        input={"gateset": "qis", "qubits": n, "circuit": gates},
        shots=None,
        noise=None,
        settings={},
        stats={},
    )


def _task(held: queue.Claim, settings: Settings) -> isolation.Task:
    sized = isolation.estimate(held, catalog=Catalog(), device=None, settings=settings)
    assert sized is not None
    return isolation.Task(
        held=held,
        device=None,
        catalog=Catalog(),
        settings=settings,
        host=None,
        estimate=sized[0],
        allowance=isolation.allowance(*sized, settings),
    )


def _baseline(conn: Connection) -> None:
    status: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmData"):
                status[key] = int(value.split()[0]) * 1024
    conn.send(status)
    conn.close()


class _Done(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "action", "") == "job_isolated_done":
            self.last = {"peak": record.bytes, "limit": record.limit}  # type: ignore[attr-defined]


def _noop() -> None:
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", default="26", help="comma-separated, or 'none'")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    settings = Settings()
    done = _Done()
    logging.getLogger("ionstack.runtime.isolation").addHandler(done)
    logging.getLogger("ionstack.runtime.isolation").setLevel(logging.INFO)

    bell = _claim(2, [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}])
    started = time.perf_counter()
    isolation.run(_task(bell, settings), compute=compute_isolated, check=_noop)
    print(f"fork server's first start and first child: {time.perf_counter() - started:.2f} s")
    worker = Worker(settings=settings, sessions=sessionmaker(), wakeup=ThreadWakeup(), name="b")
    child_ms, thread_ms = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        isolation.run(_task(bell, settings), compute=compute_isolated, check=_noop)
        child_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        worker.compute(bell, check=_noop, device=None)
        thread_ms.append((time.perf_counter() - t) * 1000)
    child, thread = statistics.median(child_ms), statistics.median(thread_ms)
    print(
        f"2-qubit job, median of {args.runs}: child {child:.1f} ms, thread {thread:.2f} ms: "
        f"start cost {child - thread:.1f} ms"
    )
    context = isolation._context()
    receive, send = context.Pipe(duplex=False)
    probe = context.Process(target=_baseline, args=(send,))
    probe.start()
    send.close()
    status = receive.recv()
    probe.join()
    print(
        f"child at start: VmRSS {status['VmRSS'] / 2**20:.0f} MiB (mostly shared with the "
        f"fork server), VmData {status['VmData'] / 2**20:.0f} MiB"
    )
    if args.qubits == "none":
        return
    print("| qubits | estimate | allowance | limit (VmData) | peak RSS | child s | thread s |")
    print("|---|---|---|---|---|---|---|")
    for n in (int(q) for q in args.qubits.split(",")):
        held = _claim(n, _issue_circuit(n))
        task = _task(held, settings)
        t = time.perf_counter()
        isolation.run(task, compute=compute_isolated, check=_noop)
        seconds = time.perf_counter() - t
        t = time.perf_counter()
        worker.compute(held, check=_noop, device=None)
        in_thread = time.perf_counter() - t
        print(
            f"| {n} | {task.estimate / 2**30:.3g} GiB | {task.allowance / 2**30:.3g} GiB | "
            f"{done.last['limit'] / 2**30:.3g} GiB | {done.last['peak'] / 2**30:.3g} GiB | "
            f"{seconds:.1f} | {in_thread:.1f} |"
        )


if __name__ == "__main__":
    main()

"""Large jobs run in a child process with an OS memory limit (issue 16 §1, "enforcement the OS
does").

The memory guard refuses a run whose *estimate* exceeds the limit, and the host budget keeps
the workers of a host from starting more than fits; both trust the estimate. A job whose
estimate is at or above ``IONSTACK_ISOLATE_ABOVE_BYTES`` therefore runs its computation in a
child process whose data segment is capped (``RLIMIT_DATA``, which on Linux ≥ 4.7 counts every
private writable mapping: numpy's and qsim's large arrays included) at its *allowance*:

    the child's data segment when it starts + ``IONSTACK_ISOLATE_MARGIN`` × the estimate
    + the answer as Python objects + a thread stack and allocator arena per engine thread

An allocation beyond it is a ``MemoryError`` in the child, and the job fails with
``SimulationError`` naming the limit; a child killed by a signal (the kernel's OOM killer sends
SIGKILL) fails the job too, naming the signal, and is never retried. Either way the worker goes
on with its next job. Should the host run out of memory anyway, the child is the OOM killer's
first choice (``oom_score_adj`` 1000), not the API server or PostgreSQL.

The worker keeps the lease heartbeat and the stop rules: cancel, a lost lease, shutdown and the
simulation time limit kill the child (even inside one long engine call, where ``check`` is not
reached). The device model (read from the database) is computed by the worker and passed in;
the child touches no database. Its outcome comes back pickled and the worker stores it as an
in-thread run's: the same seed gives byte-identical results either way.

Children are forked by a ``forkserver`` (started once per worker process, with the quantum
modules imported): a fork of a single-threaded server, safe from the threaded worker, and
about 30 ms a child instead of ~0.4 s for ``spawn`` (bench/README.md, "bench/memory.py").
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import functools
import logging
import multiprocessing
import os
import resource
import select
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from typing import Any

from ionstack.catalog import Catalog
from ionstack.errors import JobFailure
from ionstack.quantum import budget, memory
from ionstack.quantum.circuit import parse_input
from ionstack.quantum.device import DeviceModel
from ionstack.quantum.noise import NoiseModel, noise_model
from ionstack.quantum.plan import DEFAULT_MAX_OUTCOMES
from ionstack.quantum.simulate import footprint
from ionstack.quantum.width import used_qubits
from ionstack.runtime import queue
from ionstack.settings import Settings

logger = logging.getLogger(__name__)

#: Imported once by the fork server, so a child starts with them (copy-on-write).
PRELOAD = ["ionstack.runtime.worker", "ionstack.quantum.debias", "ionstack.quantum.engines.qsim"]

#: Per engine thread: its stack (8 MiB, private and writable) and allocator arena growth.
THREAD_BYTES = 16 << 20
#: Per entry of the answer as Python objects (a key string and a float or int in a dict, a
#: shot string in a list) and its pickle on the way back.
ANSWER_ENTRY_BYTES = 256

#: A child's ``oom_score_adj``: the largest, so the OOM killer takes it first.
OOM_SCORE_ADJ = 1000

#: prctl(2): the signal a process gets when its parent exits.
PR_SET_PDEATHSIG = 1

#: How often the worker looks at its stop rules while a child runs.
POLL_S = 0.05


@functools.cache
def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    context.set_forkserver_preload(PRELOAD)
    return context


def warm() -> None:
    """Start the fork server now (≈ 1 s of imports), not when the first large job arrives."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


# --------------------------------------------------------------------------- the estimate


def estimate(
    held: queue.Claim, *, catalog: Catalog, device: DeviceModel | None, settings: Settings
) -> tuple[float, int] | None:
    """The memory a job's largest run will take (:func:`ionstack.quantum.simulate.footprint`)
    and the entries of its answer; ``None`` when not known in advance (qasm3 programs and
    function workloads: they run in the worker's thread, guarded as before) or when the job
    is invalid (the run itself reports why)."""
    backend = catalog.get(held.backend)
    if backend is None or held.type != "ionq.circuit.v1":
        return None
    try:
        circuit = parse_input(held.input, job_type="ionq.circuit.v1")[0]
        shots: int | None = held.shots or settings.default_shots
        noise: NoiseModel | None = device
        if device is None:
            name = str((held.noise or {"model": "ideal"}).get("model", "ideal"))
            noise = None if name == "ideal" else noise_model(name)
            shots = None if noise is None else shots
        common: dict[str, Any] = {
            "threads": settings.engine_threads,
            "memory_limit_bytes": settings.memory_limit_bytes,
        }
        peak = footprint(circuit, shots=shots, noise=noise, seed=1, **common).peak
        mitigation = held.settings.get("error_mitigation") or {}
        if isinstance(mitigation, dict) and mitigation.get("symmetry_verification"):
            peak = max(peak, footprint(circuit, shots=None, noise=None, **common).peak)
    except Exception:  # an invalid job fails in its run, with its own code
        return None
    outcomes = min(2 ** len(used_qubits(circuit)), DEFAULT_MAX_OUTCOMES)
    return peak, (outcomes if shots is None else min(outcomes, shots) + shots)


def allowance(peak: float, answer: int, settings: Settings) -> int:
    """Bytes a child may add to its data segment (the module docstring has the terms)."""
    threads = settings.engine_threads or memory.cores()
    return int(
        settings.isolate_margin * peak + ANSWER_ENTRY_BYTES * answer + THREAD_BYTES * threads
    )


# --------------------------------------------------------------------------- the child


@dataclass(frozen=True, kw_only=True)
class Task:
    """What a child needs to compute a job (no database: the device model is in it)."""

    held: queue.Claim
    device: DeviceModel | None
    catalog: Catalog
    settings: Settings
    host: budget.HostBudget | None
    estimate: float
    allowance: int


def _data_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmData in /proc/self/status")


def limit_data(extra: int) -> int:
    """Cap this process's data segment at its current size plus ``extra``; the cap."""
    cap = _data_bytes() + extra
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    return cap


def _exit_with_worker(conn: Connection, server: int | None) -> None:
    """SIGKILL this child as soon as its worker is gone, so no job computes on unowned.

    The kernel does it (``PR_SET_PDEATHSIG``) when the fork server ``server`` exits, which it
    does when its worker dies, once no child holds a copy of its lifeline: this child drops
    the one it inherits. A thread also watches the pipe to the worker (its write end polls
    ``POLLERR`` once the worker's read end is closed), for a fork server already gone; it
    needs the GIL, which an engine call such as qsim's may hold for minutes.
    """
    from multiprocessing import forkserver

    lifeline = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
    if isinstance(lifeline, int):
        with contextlib.suppress(OSError):
            os.close(lifeline)
        forkserver._forkserver._forkserver_alive_fd = None  # type: ignore[attr-defined]
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if server is not None and os.getppid() != server:  # it exited before the prctl
        os.kill(os.getpid(), signal.SIGKILL)

    def watch() -> None:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLERR | select.POLLHUP)
        while not poller.poll():
            pass
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="worker-watch", daemon=True).start()


def _oom_first() -> None:
    """Make this child the kernel's first choice when the host runs out of memory anyway
    (``oom_score_adj`` 1000), before the API server, PostgreSQL or the worker."""
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as f:
            f.write(str(OOM_SCORE_ADJ))
    except OSError:  # not Linux, or not allowed: the limit still applies
        pass


Compute = Callable[[Task], queue.Outcome]


def _child(conn: Connection, task: Task, compute: Compute, server: int | None) -> None:
    """The child's body: limit, compute, send ``(kind, payload, peak RSS, limit)`` back."""
    _exit_with_worker(conn, server)
    faulthandler.enable()  # a crash in an engine leaves its Python stack in the worker's log
    for signum in (signal.SIGINT, signal.SIGTERM):  # the worker stops it (SIGKILL), not these
        signal.signal(signum, signal.SIG_IGN)
    _oom_first()
    budget.use(task.host)
    cap = limit_data(task.allowance)
    message: tuple[str, Any]
    try:
        with budget.labelled(task.held.job_id):
            message = ("outcome", compute(task))
    except MemoryError:
        message = ("memory", cap)
    except JobFailure as failure:
        message = ("failure", failure.failure())
    except Exception as exc:  # reported to the worker, which logs it
        message = ("crash", (type(exc).__name__, traceback.format_exc()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        conn.send((*message, peak, cap))
    except MemoryError:
        conn.send(("memory", cap, peak, cap))
    conn.close()


# --------------------------------------------------------------------------- the worker's side


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def run(task: Task, *, compute: Compute, check: Callable[[], None]) -> queue.Outcome:
    """``compute(task)`` in a child process (a module-level function: it is pickled by name);
    ``check`` (the worker's stop rules) is called every ``POLL_S`` and whatever it raises stops
    the run after the child is killed.

    Raises:
        JobFailure: ``SimulationError`` when the child ran out of its allowance, was killed by
            a signal or exited unexpectedly; the child's own failures as they are.
    """
    context = _context()
    receive, send = context.Pipe(duplex=False)
    from multiprocessing import forkserver

    forkserver.ensure_running()
    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    child = context.Process(
        target=_child, args=(send, task, compute, server), name=f"job-{task.held.job_id}"
    )
    child.start()
    send.close()
    logger.info(
        "job runs in a child process",
        extra={
            "action": "job_isolated",
            "job_id": task.held.job_id,
            "pid": child.pid,
            "bytes": task.allowance,
        },
    )
    try:
        message = _wait(child, receive, check)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
        host = budget.current()
        if host is not None and child.exitcode != 0:  # its reservation is no evidence now
            host.orphaned(task.held.job_id)
    if message is None:
        raise _died(task, child.exitcode)
    kind, payload, peak, cap = message
    logger.info(
        "job's child process finished: peak %.3g GiB of its %.3g GiB limit",
        peak / 2**30,
        cap / 2**30,
        extra={
            "action": "job_isolated_done",
            "job_id": task.held.job_id,
            "bytes": peak,
            "limit": cap,
        },
    )
    if kind == "outcome":
        assert isinstance(payload, queue.Outcome)
        return payload
    if kind == "failure":
        raise JobFailure(payload["code"], payload["message"])
    if kind == "memory":
        raise JobFailure(
            "SimulationError",
            f"The simulation ran out of memory: its process was limited to {_gib(payload)} "
            f"({_gib(task.allowance)} for the run, estimated at {_gib(task.estimate)}).",
        )
    name, text = payload
    logger.error(
        "job crashed in its child process: %s",
        text,
        extra={"action": "job_error", "job_id": task.held.job_id, "backend": task.held.backend},
    )
    raise JobFailure("SimulationError", f"Simulation failed: {name}")


def _wait(
    child: multiprocessing.process.BaseProcess, receive: Connection, check: Callable[[], None]
) -> tuple[str, Any, int, int] | None:
    """The child's message, or ``None`` when it ended without one; ``check`` raising kills it."""
    while True:
        if receive.poll(POLL_S):
            try:
                message: tuple[str, Any, int, int] = receive.recv()
            except EOFError:  # it died before sending
                check()
                return None
            return message
        check()
        if not child.is_alive() and not receive.poll(0):
            check()  # a shutdown or cancel that arrived with its death is still a stop
            return None


_CAUSES = {
    "SIGKILL": " (the kernel's out-of-memory killer sends it)",
    "SIGSEGV": " (an engine's allocation beyond the limit, most likely)",
    "SIGBUS": " (an engine's allocation beyond the limit, most likely)",
    "SIGABRT": " (an engine's allocation beyond the limit, most likely)",
}


def _died(task: Task, exitcode: int | None) -> JobFailure:
    """A child that ended without a message: the job's failure (never retried)."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        return JobFailure(
            "SimulationError",
            f"The simulation process was killed by {name}"
            + _CAUSES.get(name, "")
            + f"; its memory was limited to {_gib(task.allowance)} for the run (estimated at "
            f"{_gib(task.estimate)}); the job is not retried.",
        )
    return JobFailure(
        "SimulationError",
        f"The simulation process exited unexpectedly (status {exitcode}); its memory was "
        f"limited to {_gib(task.allowance)} beyond its start.",
    )

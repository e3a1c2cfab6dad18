"""One memory budget shared by every simulating process of a host (issue 16 §1).

Each process guards its own runs (:func:`ionstack.quantum.memory.guard`), but two workers on
one host could still start two 15 GiB runs together on 24 GiB. A run whose estimate is large
therefore *reserves* its bytes in a budget kept in a directory every worker of the host shares
(beside the SQLite database, or the data directory): one small file per reservation, written
and summed under an exclusive ``flock``. A reservation of a process that died is dropped the
next time anyone looks (its pid no longer exists), so a killed worker never leaks budget.

A reservation is named after the job it runs for (:func:`labelled`). When its process was
killed mid-run, the reservation is kept as an *orphan* for the queue to find: a job whose
worker died while it held a large share of the host's memory is failed rather than retried
into the next out-of-memory kill (:meth:`HostBudget.orphaned`).

A run that does not fit waits (its lease stays alive; cancel, shutdown and the simulation
time limit still stop it through ``check``) until the runs ahead of it finish; one that could
never fit fails at once with ``SimulationError``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

from ionstack.errors import JobFailure

logger = logging.getLogger(__name__)

#: Runs estimated below this reserve nothing (they fit beside anything).
MIN_RESERVED_BYTES = 64 << 20


#: Orphans older than this are dropped unread (their job was requeued long ago).
ORPHAN_TTL_S = 24 * 3600

#: The job the current thread's runs belong to (set by the worker around a job's run).
_label: ContextVar[str] = ContextVar("ionstack_budget_label", default="-")


@contextlib.contextmanager
def labelled(label: str) -> Iterator[None]:
    """Name the reservations made inside the block after ``label`` (a job id)."""
    token = _label.set(label.replace("_", "-"))
    try:
        yield
    finally:
        _label.reset(token)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class HostBudget:
    """Bytes the simulating processes of one host may hold at once.

    Args:
        directory: Shared by every worker of the host (created if missing).
        total_bytes: The budget.
        poll_s: How often a waiting run looks again.
    """

    def __init__(self, directory: Path, *, total_bytes: int, poll_s: float = 0.2) -> None:
        self.directory = directory
        self.total_bytes = total_bytes
        self.poll_s = poll_s

    def held(self) -> int:
        """Bytes reserved now by live processes (dead ones' reservations are dropped)."""
        with self._locked():
            return self._live()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "budget.lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _live(self) -> int:
        """Bytes held by live processes; a dead process's reservations become orphans."""
        total = 0
        for entry in self.directory.glob("*.reservation"):
            pid_text = entry.name.partition("_")[0]
            try:
                pid, size = int(pid_text), int(entry.read_text() or 0)
            except (ValueError, OSError):
                continue
            if _alive(pid):
                total += size
            else:
                entry.rename(entry.with_suffix(".orphan"))
        for entry in self.directory.glob("*.partial"):  # a process died while writing one
            with contextlib.suppress(ValueError, OSError):
                if not _alive(int(entry.name.partition("_")[0])):
                    entry.unlink()
        now = time.time()
        for entry in self.directory.glob("*.orphan"):
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > ORPHAN_TTL_S:
                    entry.unlink()
        return total

    def orphaned(self, label: str) -> int:
        """Bytes a dead process held for ``label`` when it died (0 if none); forgets them."""
        with self._locked():
            self._live()
            label = label.replace("_", "-")
            largest = 0
            for entry in self.directory.glob(f"*_{label}_*.orphan"):
                with contextlib.suppress(ValueError, OSError):
                    largest = max(largest, int(entry.read_text() or 0))
                entry.unlink(missing_ok=True)
            return largest

    @contextlib.contextmanager
    def reserve(self, nbytes: float, *, check: Callable[[], None]) -> Iterator[None]:
        """Hold ``nbytes`` of the budget while the block runs (waits for room; see module)."""
        need = int(nbytes)
        if need < MIN_RESERVED_BYTES:
            yield
            return
        if need > self.total_bytes:
            raise JobFailure(
                "SimulationError",
                f"the simulation needs about {need / 2**30:.3g} GiB of memory; this host's "
                f"simulation budget is {self.total_bytes / 2**30:.3g} GiB",
            )
        entry = self.directory / f"{os.getpid()}_{_label.get()}_{uuid.uuid4().hex}.reservation"
        waited = False
        while True:
            with self._locked():
                held = self._live()
                if held + need <= self.total_bytes:
                    # written whole, then named: a reservation is never seen empty (a worker
                    # killed between creating and writing it would leave no evidence)
                    partial = entry.with_suffix(".partial")
                    partial.write_text(str(need))
                    partial.replace(entry)
                    break
            if not waited:
                waited = True
                logger.info(
                    "waiting for memory: %.3g GiB needed, %.3g of %.3g GiB held by other runs",
                    need / 2**30,
                    held / 2**30,
                    self.total_bytes / 2**30,
                    extra={"action": "memory_wait", "bytes": need},
                )
            check()
            time.sleep(self.poll_s)
        try:
            yield
        finally:
            entry.unlink(missing_ok=True)


class _Unlimited:
    @contextlib.contextmanager
    def reserve(self, nbytes: float, *, check: Callable[[], None]) -> Iterator[None]:
        yield


#: The process's budget: unlimited until a worker installs the host's (:func:`use`).
_current: HostBudget | _Unlimited = _Unlimited()


def current() -> HostBudget | None:
    """The installed host budget, if any."""
    return _current if isinstance(_current, HostBudget) else None


#: A worker that died while its job held at least this share of the host budget is evidence
#: against the job (see :meth:`HostBudget.orphaned`).
KILLED_SHARE = 0.25


def killed_evidence(job_id: str) -> str | None:
    """Why ``job_id`` is not to be retried, if its worker died holding a large reservation."""
    host = current()
    if host is None:
        return None
    held = host.orphaned(job_id)
    if held < KILLED_SHARE * host.total_bytes:
        return None
    return (
        f"The worker running this job was killed while the simulation held about "
        f"{held / 2**30:.3g} GiB of this host's {host.total_bytes / 2**30:.3g} GiB simulation "
        "budget (most likely out of memory); it is not retried."
    )


def use(budget: HostBudget | None) -> None:
    """Install the host budget for this process's runs (a worker at start; ``None``: none)."""
    global _current
    _current = budget if budget is not None else _Unlimited()


def reserve(nbytes: float, *, check: Callable[[], None]) -> contextlib.AbstractContextManager[None]:
    """Reserve ``nbytes`` in the installed budget for the duration of a run."""
    return _current.reserve(nbytes, check=check)

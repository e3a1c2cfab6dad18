"""The host memory budget (quantum/budget.py) across real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from ionstack.errors import JobFailure
from ionstack.quantum.budget import MIN_RESERVED_BYTES, HostBudget

GIB = 1 << 30

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ionstack.quantum.budget import HostBudget, labelled
    budget = HostBudget(Path(sys.argv[1]), total_bytes=int(sys.argv[2]))
    with labelled(sys.argv[4]), budget.reserve(int(sys.argv[3]), check=lambda: None):
        print("held", flush=True)
        time.sleep(600)
    """
)


def _holder(directory: Path, total: int, size: int, label: str = "-") -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), str(total), str(size), label],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_a_run_waits_while_another_process_holds_the_budget(tmp_path: Path) -> None:
    budget = HostBudget(tmp_path, total_bytes=3 * GIB, poll_s=0.02)
    holder = _holder(tmp_path, 3 * GIB, 2 * GIB)
    try:
        assert budget.held() == 2 * GIB
        entered = threading.Event()

        def run() -> None:
            with budget.reserve(2 * GIB, check=lambda: None):
                entered.set()

        waiter = threading.Thread(target=run)
        waiter.start()
        assert not entered.wait(0.5)  # 2 + 2 > 3 GiB: it waits
        os.kill(holder.pid, signal.SIGKILL)  # a worker killed mid-run leaks nothing
        holder.wait()
        assert entered.wait(10)
        waiter.join()
    finally:
        holder.kill()
        holder.wait()
    assert budget.held() == 0


def test_runs_that_fit_together_do_not_wait(tmp_path: Path) -> None:
    budget = HostBudget(tmp_path, total_bytes=3 * GIB)
    holder = _holder(tmp_path, 3 * GIB, 1 * GIB)
    try:
        checks: list[int] = []
        with budget.reserve(2 * GIB, check=lambda: checks.append(1)):
            assert budget.held() == 3 * GIB
        assert checks == []
        assert budget.held() == 1 * GIB
    finally:
        holder.kill()
        holder.wait()


def test_a_run_larger_than_the_budget_fails_at_once(tmp_path: Path) -> None:
    budget = HostBudget(tmp_path, total_bytes=GIB)
    with pytest.raises(JobFailure) as failed, budget.reserve(2 * GIB, check=lambda: None):
        pass
    assert failed.value.code == "SimulationError"
    assert "budget" in failed.value.message


def test_a_waiting_run_is_stopped_by_its_check(tmp_path: Path) -> None:
    budget = HostBudget(tmp_path, total_bytes=3 * GIB, poll_s=0.01)
    holder = _holder(tmp_path, 3 * GIB, 2 * GIB)
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise TimeoutError("cancelled")

    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError), budget.reserve(2 * GIB, check=check):
            pass
        assert calls == 3 and time.monotonic() - started < 60
        assert budget.held() == 2 * GIB  # nothing reserved by the run that gave up
    finally:
        holder.kill()
        holder.wait()


def test_small_runs_reserve_nothing(tmp_path: Path) -> None:
    budget = HostBudget(tmp_path, total_bytes=MIN_RESERVED_BYTES)
    with budget.reserve(MIN_RESERVED_BYTES - 1, check=lambda: None):
        assert budget.held() == 0


def test_a_killed_runs_reservation_is_left_as_evidence_for_its_job(tmp_path: Path) -> None:
    budget = HostBudget(tmp_path, total_bytes=4 * GIB)
    alive = _holder(tmp_path, 4 * GIB, 1 * GIB, "job-alive")
    doomed = _holder(tmp_path, 4 * GIB, 2 * GIB, "job-doomed")
    try:
        assert budget.orphaned("job-alive") == 0  # its process is alive: not an orphan
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        assert budget.held() == 1 * GIB  # the dead process holds nothing any more
        assert budget.orphaned("job-doomed") == 2 * GIB
        assert budget.orphaned("job-doomed") == 0  # read once
        assert budget.orphaned("job-alive") == 0
    finally:
        for child in (alive, doomed):
            child.kill()
            child.wait()


def test_a_reservation_is_never_seen_without_its_size(tmp_path: Path) -> None:
    """A reservation file appears with its size already in it: a worker killed the instant its
    reservation appeared must still leave the job's evidence (an empty file read as 0 bytes would
    let the job be retried into the next kill)."""
    budget = HostBudget(tmp_path, total_bytes=4 * GIB)
    size = 2 * MIN_RESERVED_BYTES
    stop = threading.Event()
    seen: list[str] = []

    def watch() -> None:
        while not stop.is_set():
            for entry in tmp_path.glob("*.reservation"):
                try:
                    seen.append(entry.read_text())
                except FileNotFoundError:  # released meanwhile
                    continue

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(2000):
            with budget.reserve(size, check=lambda: None):
                pass
    finally:
        stop.set()
        watcher.join()
    assert seen, "the watcher never saw a reservation"
    assert set(seen) == {str(size)}

"""Processes a test watches: a worker's children, a job's child process (runtime/isolation.py)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ")[1][0] != "Z"  # not a zombie
    except (OSError, IndexError):  # gone, or being reaped as we read (ESRCH)
        return False


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[1])


def resident(pid: int) -> int:
    """``VmRSS`` of ``pid`` in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:  # gone, or being reaped as we read
        pass
    return 0


def job_child(worker: int, *, timeout: float = 30) -> int:
    """The process running the worker's job: a child of the worker's fork server."""
    deadline = time.monotonic() + timeout
    while True:
        for server in children(worker):
            try:
                cmdline = Path(f"/proc/{server}/cmdline").read_bytes()
            except OSError:  # it ended meanwhile
                continue
            if b"forkserver" in cmdline and (jobs := children(server)):
                return jobs[0]
        assert time.monotonic() < deadline, "no child process runs the job"
        time.sleep(0.01)


def gone(pid: int, *, timeout: float = 10) -> bool:
    """Whether ``pid`` ended within ``timeout`` (bounded; never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def layers(n: int, count: int) -> list[dict[str, Any]]:
    """``count`` layers of an rx on every qubit and a ring of zz: ``count × 2n`` gates."""
    return [
        gate
        for layer in range(count)
        for gate in (
            {"gate": "rx", "targets": list(range(n)), "rotation": 0.1 + layer / 50},
            *({"gate": "zz", "targets": [q, (q + 1) % n], "rotation": 0.3} for q in range(n)),
        )
    ]


#: 3840 gates on 24 qubits: one qsim call of about half a minute (a 128 MiB state)
LONG_24: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "input": {"gateset": "qis", "qubits": 24, "circuit": layers(24, 80)},
}

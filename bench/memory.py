"""Peak memory of ``ionstack.quantum.run`` per engine path beside the guard's estimate (issue 16).

Usage::

    .venv/bin/python bench/memory.py                      # every path at its default sizes
    .venv/bin/python bench/memory.py --quick              # small sizes only (seconds)
    .venv/bin/python bench/memory.py --paths exact,shots --qubits 28
    .venv/bin/python bench/memory.py --paths exact --qubits 30 --max-gib 9   # check free first
    .venv/bin/python bench/memory.py --json out.json      # also the raw numbers

Every case runs in its own child process (a fresh interpreter with qsim loaded, as a worker
has it after its first job) under a hard ``RLIMIT_AS`` cap, so a case that needs more than
expected fails with ``MemoryError`` in the child instead of pressing on the machine. The child
builds the circuit and computes the estimate first, then records its resident set
(``VmRSS``), resets its high-water mark (``/proc/self/clear_refs``), calls
``ionstack.quantum.run`` as the worker does (all cores, no explicit memory limit) and reads
``VmHWM``:

* ``peak``: the high-water mark of the run above the resident set before it — what the guard
  estimates (the process's own baseline, Python and the libraries, is not the job's);
* ``answer``: what is still resident after the run returned (the result object), after
  ``gc.collect()`` and ``malloc_trim``;
* ``estimate``: :func:`ionstack.quantum.simulate.footprint` for the same arguments, the figure
  the guard compares with ``IONSTACK_MEMORY_LIMIT_BYTES``;
* ``abs``: the child's own ``ru_maxrss`` (baseline included).

Paths (``--paths``): ``exact`` (ideal, ``shots=None``, engines.md's depth-10 random circuit),
``sym`` (ideal exact, the issue's circuit: an h layer, a ring of zz, an rx layer — many equal
probabilities), ``shots`` (ideal, 1000 shots, the random circuit), ``noisy`` (aria-1,
trajectories, 100 shots, a depth-1 random circuit), ``density`` (aria-1 forced onto the density
matrix, 100 shots, depth 2), ``stim`` (ideal exact Clifford circuit on stim) and ``stim-shots``
(aria-1 Clifford circuit, 10,000 shots, on stim).

Safety (a shared machine): cases run one at a time, smallest first. A case's expected peak is
the larger of the guard's estimate and a projection from the same path's last measured size
(peak/state there × state here + answer); a case expected above ``--max-gib`` (default 6,
at most 10) is skipped and its projection printed, as is one that would leave less than
4 GiB of the machine's available memory.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from _circuits import clifford_layers, random_layers  # noqa: E402

GiB = 1 << 30
SEED = 7
MiB = 1 << 20
#: Default cap on a case's expected peak (``--max-gib`` raises it; the available-memory check
#: below still keeps ``HEADROOM`` free for the rest of the machine).
HARD_MAX_GIB = 10.0
#: Memory left to the rest of the machine when a case starts.
HEADROOM = 4 * GiB

SV_SIZES = [16, 20, 24, 26]
SIZES: dict[str, list[int]] = {
    "exact": SV_SIZES,
    "sym": SV_SIZES,
    "shots": SV_SIZES,
    "noisy": [16, 20, 24],
    "density": [8, 10, 11, 12],
    "stim": [30, 40, 100],
    "stim-shots": [100, 1000],
}
QUICK: dict[str, list[int]] = {
    "exact": [16, 20],
    "sym": [16, 20],
    "shots": [16, 20],
    "noisy": [16],
    "density": [8, 10],
    "stim": [30, 40],
    "stim-shots": [100],
}
SV_PATHS = ("exact", "sym", "shots", "noisy")


# --------------------------------------------------------------------------- cases


def symmetric(n: int) -> list[dict[str, Any]]:
    """The issue's circuit: h on every qubit, a ring of zz(0.4), rx(0.3) on every qubit."""
    ring = [{"gate": "zz", "targets": [q, (q + 1) % n], "rotation": 0.4} for q in range(n)]
    return [
        {"gate": "h", "targets": list(range(n))},
        *ring,
        {"gate": "rx", "targets": list(range(n)), "rotation": 0.3},
    ]


def case(path: str, n: int) -> tuple[Any, dict[str, Any]]:
    """The parsed circuit of a case and the keyword arguments of its ``run``."""
    from ionstack.quantum import noise_model, parse_circuit

    seed = 1000 + n
    gates, kwargs = {
        # the state-vector paths are forced: past 29 qubits these circuits would run as
        # (exact, far smaller) matrix-product states (issue 16 §4)
        "exact": (
            lambda: random_layers(n, 10, seed),
            {"shots": None, "noise": None, "method": "statevector"},
        ),
        "sym": (lambda: symmetric(n), {"shots": None, "noise": None, "method": "statevector"}),
        "shots": (
            lambda: random_layers(n, 10, seed),
            {"shots": 1000, "noise": None, "method": "statevector"},
        ),
        "noisy": (
            lambda: random_layers(n, 1, seed),
            {"shots": 100, "noise": "aria-1", "method": "trajectories"},
        ),
        "density": (
            lambda: random_layers(n, 2, seed),
            {"shots": 100, "noise": "aria-1", "method": "density_matrix"},
        ),
        "stim": (lambda: clifford_layers(n, 10, seed), {"shots": None, "noise": None}),
        "stim-shots": (lambda: clifford_layers(n, 10, seed), {"shots": 10_000, "noise": "aria-1"}),
    }[path]
    if kwargs.get("noise"):
        kwargs = {**kwargs, "noise": noise_model(kwargs["noise"])}
    return parse_circuit(gates(), gateset="qis", qubits=n), kwargs


# --------------------------------------------------------------------------- child


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _settle() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def child(task: dict[str, Any]) -> dict[str, Any]:
    """One case, measured in this (fresh) process."""
    resource.setrlimit(resource.RLIMIT_AS, (task["cap"], task["cap"]))
    from ionstack.quantum import run
    from ionstack.quantum.engines import qsim
    from ionstack.quantum.simulate import footprint

    qsim._qsim()  # loaded once per worker process: not a job's memory

    circuit, kwargs = case(task["path"], task["n"])
    fp = footprint(circuit, seed=SEED, threads=task["threads"], **kwargs)
    _settle()
    before = _status("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")  # reset VmHWM to the current VmRSS
        reset = True
    except OSError:
        reset = False  # then VmHWM still holds the imports' peak (lower than any large run)
    t0 = time.perf_counter()
    try:
        result = run(circuit, seed=SEED, threads=task["threads"], **kwargs)
    except MemoryError:
        return {"error": f"MemoryError under the {task['cap'] / GiB:.1f} GiB cap"}
    seconds = time.perf_counter() - t0
    peak = _status("VmHWM") - before
    _settle()
    answer = _status("VmRSS") - before
    return {
        "method": result.method,
        "engine": result.engine,
        "entries": len(result.probabilities),
        "estimate": fp.peak,
        "state": fp.state,
        "peak": peak,
        "answer": max(0, answer),
        "abs": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "seconds": seconds,
        "hwm_reset": reset,
    }


# --------------------------------------------------------------------------- parent


def _available() -> int:
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def _expected(path: str, n: int, fp: Any, done: dict[str, list[dict[str, Any]]]) -> float:
    """The larger of the estimate and the projection from this path's last measured size."""
    last = [r for r in done.get(path, []) if "peak" in r and r["state"] > 0]
    if not last:
        return float(fp.peak)
    r = last[-1]
    ratio = max(0.0, r["peak"] - r["answer"]) / r["state"]
    return max(float(fp.peak), ratio * fp.state + r["answer"])


def measure(path: str, n: int, *, threads: int, cap: float, timeout: float) -> dict[str, Any]:
    task = {"path": path, "n": n, "threads": threads, "cap": int(cap)}
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1")
    p = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(task)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    lines = [x for x in p.stdout.splitlines() if x.startswith("@@")]
    if not lines:
        return {"error": f"exit {p.returncode}: {p.stderr.strip()[-300:]}"}
    out: dict[str, Any] = json.loads(lines[-1][2:])
    return out


def _size(b: float) -> str:
    if b <= 0:
        return "—"
    return f"{b / GiB:.2f} GiB" if b >= GiB else f"{b / MiB:.1f} MiB"


def row(path: str, n: int, r: dict[str, Any]) -> str:
    head = f"{path:<10} {n:>4}"
    if "error" in r or "skipped" in r:
        return f"{head}  {r.get('skipped') or r['error']}"
    base = r["state"] + r["answer"]
    est = f"{r['estimate'] / r['peak']:.2f}" if r["estimate"] > 0 and r["peak"] > 0 else "—"
    over = f"{r['peak'] / base:.2f}" if base > 0 else "—"
    return (
        f"{head}  {r['engine']:<16} {_size(r['state']):>10} {_size(r['estimate']):>10} "
        f"{_size(r['peak']):>10} {_size(r['answer']):>10} {est:>8} {over:>11} "
        f"{_size(r['abs']):>10} {r['seconds']:>8.2f}"
    )


HEADER = (
    f"{'path':<10} {'n':>4}  {'engine':<16} {'state':>10} {'estimate':>10} {'peak':>10} "
    f"{'answer':>10} {'est/peak':>8} {'peak/(s+a)':>11} {'abs':>10} {'seconds':>8}"
)


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--paths", help="comma-separated subset of " + ",".join(SIZES))
    parser.add_argument("--qubits", help="sizes for the state-vector paths, e.g. 24,26,28")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--max-gib", type=float, default=6.0, help="skip cases expected above")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per case")
    parser.add_argument("--json", help="also write the raw numbers to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("@@" + json.dumps(child(json.loads(args.worker))), flush=True)
        return
    from ionstack.quantum.simulate import footprint

    max_bytes = args.max_gib * GiB
    plan = QUICK if args.quick else SIZES
    paths = args.paths.split(",") if args.paths else list(plan)
    t0 = time.perf_counter()
    print(f"load average at start: {_load()} ({os.cpu_count()} cores); threads={args.threads}")
    print(HEADER, flush=True)
    done: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        sizes = plan[path]
        if args.qubits and path in SV_PATHS:
            sizes = [int(x) for x in args.qubits.split(",")]
        for n in sizes:
            circuit, kwargs = case(path, n)
            fp = footprint(circuit, seed=SEED, threads=args.threads, **kwargs)
            expected = _expected(path, n, fp, done)
            r: dict[str, Any]
            if expected > max_bytes:
                r = {"skipped": f"skipped: expected {_size(expected)} > {_size(max_bytes)}"}
            elif _available() < expected + HEADROOM:
                r = {"skipped": f"skipped: {_size(_available())} available now"}
            else:
                cap = min(
                    max(max_bytes, HARD_MAX_GIB * GiB), max(2 * GiB, 1.5 * expected + 1.5 * GiB)
                )
                r = measure(path, n, threads=args.threads, cap=cap, timeout=args.timeout)
            r.update(path=path, n=n, expected=expected)
            done.setdefault(path, []).append(r)
            print(row(path, n, r), flush=True)
    print(f"load average at end: {_load()}; total {time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(done, indent=2))


if __name__ == "__main__":
    main()

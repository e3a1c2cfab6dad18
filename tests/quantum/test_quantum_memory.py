"""Memory that is measured and enforced (issue 16 §1): the guard's estimate holds to the peaks.

Every case runs ``ionstack.quantum.run`` in a child process — an interpreter with qsim loaded,
as a worker has it, under a 2 GiB address-space cap — and measures its peak: the
high-water mark of the resident set (``VmHWM``, reset through ``/proc/self/clear_refs``) above
the resident set before the run. :func:`~ionstack.quantum.simulate.footprint`, the figure the
guard compares with the memory limit, must be within 25 % of it. Sizes are small (≤ 24 qubits,
seconds in all); ``bench/memory.py`` measures the same paths up to 30 qubits (bench/README.md,
"Memory").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ionstack.quantum import sampling
from ionstack.quantum.sampling import Distribution

MiB = 1 << 20

if not Path("/proc/self/clear_refs").exists():  # pragma: no cover - Linux only
    pytest.skip("peaks are read from /proc (Linux)", allow_module_level=True)

CHILD = r"""
import ctypes, gc, json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
import numpy as np
from ionstack.errors import JobFailure
from ionstack.quantum import noise_model, parse_circuit, run
from ionstack.quantum.engines import qsim
from ionstack.quantum.simulate import footprint

qsim._qsim()  # loaded once per worker process: not a job's memory


def layer(n, depth, seed):
    rng = np.random.default_rng(seed)
    gates = []
    for d in range(depth):
        for q in range(n):
            for name in ("rx", "ry", "rz"):
                gates.append({"gate": name, "target": q, "rotation": float(rng.uniform(0, 6.3))})
        for q in range(d % 2, n - 1, 2):
            gates.append({"gate": "cnot", "control": q, "target": q + 1})
    return gates


def clifford(n, depth, seed):
    rng = np.random.default_rng(seed)
    gates = []
    for d in range(depth):
        for q in range(n):
            gates.append({"gate": ["h", "s", "v"][int(rng.integers(3))], "target": q})
        for q in range(d % 2, n - 1, 2):
            gates.append({"gate": "cnot", "control": q, "target": q + 1})
    return gates


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024


def measure(spec):
    n = spec["n"]
    gates = (clifford if spec.get("clifford") else layer)(n, spec.get("depth", 1), 1000 + n)
    gates = gates[:: spec.get("stride", 1)][: spec.get("gates", len(gates))]
    circuit = parse_circuit(gates, gateset="qis", qubits=n)
    kwargs = {"shots": spec.get("shots"), "noise": None, "method": spec.get("method")}
    if spec.get("noise"):
        kwargs["noise"] = noise_model(spec["noise"])
    fp = footprint(circuit, seed=7, threads=2, **kwargs)
    limit = int(fp.peak * spec["limit"]) if "limit" in spec else None
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    before = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    try:
        result = run(circuit, seed=7, threads=2, memory_limit_bytes=limit, **kwargs)
        failure = None
    except JobFailure as exc:
        result, failure = None, exc.code
    peak = status("VmHWM") - before
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    answer = max(0, status("VmRSS") - before)
    return {
        "method": fp.method, "state": fp.state, "estimate": fp.peak, "peak": peak,
        "answer": answer, "failure": failure, "ran": None if result is None else result.method,
    }


# one process, several cases in turn (each measured from its own baseline), as a worker runs
# one job after another
print(json.dumps([measure(spec) for spec in json.loads(sys.argv[1])]))
"""

#: Each engine path at a small size; the answer of the exact ones is 2²⁰ entries.
CASES: dict[str, dict[str, Any]] = {
    "ideal exact 22 q (capped at 2^20 outcomes)": {"n": 22},
    "ideal exact 24 q": {"n": 24},
    "ideal exact 20 q (every outcome)": {"n": 20},
    "ideal 1000 shots 24 q": {"n": 24, "shots": 1000},
    "noisy trajectories 20 q": {"n": 20, "shots": 20, "noise": "aria-1"},
    "density matrix 10 q": {  # one rx on each qubit: all 10 are simulated (issue 16 §2)
        "n": 10,
        "gates": 10,
        "stride": 3,
        "shots": 100,
        "noise": "aria-1",
        "method": "density_matrix",
    },
    "stim exact 30 q": {"n": 30, "depth": 3, "clifford": True},
    "stim noisy 200 q, 20000 shots": {
        "n": 200,
        "depth": 4,
        "clifford": True,
        "shots": 20000,
        "noise": "aria-1",
    },
}
METHODS = {
    "ideal exact 22 q (capped at 2^20 outcomes)": "statevector",
    "ideal exact 24 q": "statevector",
    "ideal exact 20 q (every outcome)": "statevector",
    "ideal 1000 shots 24 q": "statevector",
    "noisy trajectories 20 q": "trajectories",
    "density matrix 10 q": "density_matrix",
    "stim exact 30 q": "stabilizer",
    "stim noisy 200 q, 20000 shots": "stabilizer",
}
#: A 24-qubit exact run under a limit 5 % below its estimate, and 30 % above.
GUARD = {"below": {"n": 24, "limit": 0.95}, "above": {"n": 24, "limit": 1.3}}


#: Cases measured one after another in one process (four processes side by side).
GROUPS = [
    [
        "ideal exact 20 q (every outcome)",
        "ideal exact 22 q (capped at 2^20 outcomes)",
        "ideal exact 24 q",
    ],
    ["guard below", "guard above", "ideal 1000 shots 24 q"],
    ["noisy trajectories 20 q"],
    ["density matrix 10 q", "stim exact 30 q", "stim noisy 200 q, 20000 shots"],
]


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[str, Any]]:
    specs = {**CASES, **{f"guard {k}": v for k, v in GUARD.items()}}
    assert sorted(name for group in GROUPS for name in group) == sorted(specs)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps([specs[name] for name in group])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for group in GROUPS
    ]
    out: dict[str, dict[str, Any]] = {}
    for group, child in zip(GROUPS, children, strict=True):
        stdout, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, f"{group}: {stderr[-3000:]}"
        out.update(zip(group, json.loads(stdout.strip().splitlines()[-1]), strict=True))
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_estimate_holds_to_the_measured_peak(
    name: str, measured: dict[str, dict[str, Any]]
) -> None:
    got = measured[name]
    assert got["ran"] == got["method"] == METHODS[name]
    ratio = got["estimate"] / got["peak"]
    assert 0.75 <= ratio <= 1.25, (
        f"{name}: estimate {got['estimate'] / MiB:.1f} MiB, measured peak "
        f"{got['peak'] / MiB:.1f} MiB (×{ratio:.2f})"
    )


@pytest.mark.parametrize("name", ["ideal exact 24 q", "ideal 1000 shots 24 q"])
def test_ideal_peak_is_within_one_and_a_half_state_and_answer(
    name: str, measured: dict[str, dict[str, Any]]
) -> None:
    """No full-size temporaries: probabilities in pieces, the largest selected in place."""
    got = measured[name]
    base = got["state"] + got["answer"]
    assert got["peak"] <= 1.5 * base, (
        f"{name}: peak {got['peak'] / MiB:.1f} MiB for a {got['state'] / MiB:.0f} MiB state "
        f"and a {got['answer'] / MiB:.1f} MiB answer (×{got['peak'] / base:.2f})"
    )


def test_the_guard_fails_before_allocating(measured: dict[str, dict[str, Any]]) -> None:
    """A limit just below the estimate: ``SimulationError`` and no state allocated."""
    below, above = measured["guard below"], measured["guard above"]
    assert below["failure"] == "SimulationError"
    assert below["peak"] < 0.1 * below["state"], f"{below['peak'] / MiB:.1f} MiB allocated"
    assert above["failure"] is None and above["ran"] == "statevector"


@pytest.mark.parametrize("n", [16, 23])
def test_total_is_numpys_chunk_sum_to_the_bit(n: int) -> None:
    """:meth:`Distribution.total` sums each chunk from small pieces; numpy's pairwise sum of
    the whole chunk gives the same bits (what keeps sampled outcomes unchanged)."""
    rng = np.random.default_rng(n)
    state = (rng.standard_normal(1 << n) + 1j * rng.standard_normal(1 << n)).astype(np.complex64)
    state[rng.random(1 << n) < 0.3] = 0
    state *= rng.random(1 << n).astype(np.float32) ** 4
    dist = Distribution(state=state, threads=2)
    expected = 0.0
    for start in range(0, 1 << n, sampling.CHUNK):
        a = state[start : start + sampling.CHUNK]
        re, im = a.real.astype(np.float64), a.imag.astype(np.float64)
        expected += float((re * re + im * im).sum())
    assert dist.total() == expected

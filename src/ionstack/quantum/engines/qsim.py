"""qsim (qsimcirq) driven through its pybind module, without building cirq objects.

Measured on this machine (bench/README.md): the fastest engine from ~14 qubits up, about
1.0× qsim-through-cirq at 28 qubits. Single precision (complex64); probabilities stay within
1e-6 of exact (tests/quantum/test_simulate.py). Matrix gates use the basis of
:mod:`ionstack.quantum.gates` (first listed qubit most significant); the returned state is
little-endian. qsim returns its own buffer, so a run needs one state of memory (8·2ⁿ bytes),
plus one more when an initial state is passed in.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ionstack.quantum import gates as G
from ionstack.quantum.engines import Ops

#: qsim's matrix gates and controlled gates take at most this many targets.
MAX_TARGETS = 4
#: Controlled gates this wide (controls + targets) are passed as dense, fusable matrices.
DENSE_CONTROLLED = 3

State = npt.NDArray[np.complex64]


def _extension(fullname: str, directory: Path) -> Any:
    if fullname in sys.modules:
        return sys.modules[fullname]
    leaf = fullname.rsplit(".", 1)[1]
    path = next(
        directory / (leaf + suffix)
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        if (directory / (leaf + suffix)).exists()
    )
    spec = importlib.util.spec_from_file_location(fullname, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[fullname] = module  # a later ``import qsimcirq`` reuses it
    return module


@functools.cache
def _qsim() -> Any:
    """qsim's pybind module for this CPU, loaded without importing cirq (≈4 s saved).

    Mirrors ``qsimcirq.__init__._load_simd_qsim``; if qsimcirq is already imported, its module
    is used.
    """
    if "qsimcirq" in sys.modules:
        return sys.modules["qsimcirq"].qsim
    spec = importlib.util.find_spec("qsimcirq")  # locates the package without running it
    assert spec is not None and spec.origin is not None
    directory = Path(spec.origin).parent
    level = _extension("qsimcirq.qsim_decide", directory).detect_instructions()
    name = {0: "qsim_avx512", 1: "qsim_avx2", 2: "qsim_sse"}.get(level, "qsim_basic")
    return _extension(f"qsimcirq.{name}", directory)


def _flat(m: npt.NDArray[np.complex128]) -> list[float]:
    """Row-major ``[re, im, re, im, …]``: a complex128 array's own memory layout, so a
    float64 view gives it without copying (the hot path of noisy trajectories)."""
    out: list[float] = (
        np.ascontiguousarray(m, dtype=np.complex128).view(np.float64).ravel().tolist()
    )
    return out


def build(n: int, ops: Ops) -> Any:
    """A ``qsim.Circuit`` for ``ops`` (each op at its own time step)."""
    qsim = _qsim()
    circuit = qsim.Circuit()
    circuit.num_qubits = n
    for time, (targets, controls, m) in enumerate(ops):
        if controls and len(controls) + len(targets) <= DENSE_CONTROLLED:
            # qsim does not fuse controlled gates; a small one is cheaper as a dense matrix.
            m, targets, controls = G.controlled(m, len(controls)), controls + targets, ()
        qsim.add_matrix_gate(time, list(targets), _flat(m), circuit)
        if controls:
            qsim.control_last_gate(list(controls), [1] * len(controls), circuit)
    return circuit


def threads_for(n: int, threads: int) -> int:
    """Threads worth using: below 18 qubits one thread is faster (measured, bench/README.md)."""
    return 1 if n < 18 else max(1, threads)


def _room(n: int) -> None:
    """Raise ``MemoryError`` here when qsim's state would not fit: qsim does not check its
    allocation and would crash the process (a job run under a memory limit,
    runtime/isolation.py). The probe is not written to, so it costs no memory."""
    np.empty(8 * 2**n + (1 << 20), dtype=np.uint8)


def simulate(
    n: int, ops: Ops, *, threads: int, fuse: int = 4, initial: State | None = None
) -> State:
    """Final complex64 state of ``ops`` from ``|0…0⟩`` or a copy of ``initial``."""
    options: dict[str, Any] = {
        "f": fuse,
        "t": threads_for(n, threads),
        "r": 1,
        "g": False,
        "gmode": 0,
        "gsst": 512,
        "gdb": 16,
        "v": 0,
        "z": False,
        "s": 1,
        "c": build(n, ops),
    }
    run = _qsim().qsim_simulate_fullstate
    _room(n)
    if initial is None:
        raw = run(options, 0)
    else:
        raw = run(options, np.ascontiguousarray(initial, dtype=np.complex64).view(np.float32))
    state: State = raw.view(np.complex64)
    return state

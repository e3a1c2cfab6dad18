"""qsim (qsimcirq) driven through its pybind module, without building cirq objects.

Measured on this machine (bench/README.md): the fastest engine from ~14 qubits up, about
1.0× qsim-through-cirq at 28 qubits. Single precision (complex64); probabilities stay within
1e-6 of exact (tests/quantum/test_simulate.py). Matrix gates use the basis of
:mod:`ionstack.quantum.gates` (first listed qubit most significant); the returned state is
little-endian. qsim returns its own buffer, so a run needs one state of memory (8·2ⁿ bytes),
plus one more when an initial state is passed in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from qsimcirq import qsim

from ionstack.quantum import gates as G
from ionstack.quantum.engines import Ops

#: qsim's matrix gates and controlled gates take at most this many targets.
MAX_TARGETS = 4
#: Controlled gates this wide (controls + targets) are passed as dense, fusable matrices.
DENSE_CONTROLLED = 3

State = npt.NDArray[np.complex64]


def _flat(m: npt.NDArray[np.complex128]) -> list[float]:
    out: list[float] = np.stack((m.real, m.imag), axis=-1).ravel().tolist()
    return out


def build(n: int, ops: Ops) -> Any:
    """A ``qsim.Circuit`` for ``ops`` (each op at its own time step)."""
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


def simulate(n: int, ops: Ops, *, threads: int, fuse: int = 4,
             initial: State | None = None) -> State:
    """Final complex64 state of ``ops`` from ``|0…0⟩`` or a copy of ``initial``."""
    options: dict[str, Any] = {
        "f": fuse, "t": threads_for(n, threads), "r": 1, "g": False, "gmode": 0,
        "gsst": 512, "gdb": 16, "v": 0, "z": False, "s": 1, "c": build(n, ops),
    }
    if initial is None:
        raw = qsim.qsim_simulate_fullstate(options, 0)
    else:
        raw = qsim.qsim_simulate_fullstate(options, np.ascontiguousarray(initial).view(np.float32))
    state: State = raw.view(np.complex64)
    return state

"""What every simulation path shares: the ``Method`` names, the engine-choice constants,
:class:`RunResult`, the prepared :class:`_Plan`, circuit → engine ops, and building sampled
results.

Re-exported by :mod:`ionstack.quantum.simulate` (import these from there); the paths themselves
are planned in :mod:`.plans_ideal`, :mod:`.plans_noisy` and :mod:`.plans_mps`. Results are
little-endian: qubit 0 is the least significant bit (see :mod:`ionstack.quantum.simulate`).

The planning modules import the constants by name: to change one in a test, patch it in the
module that reads it (e.g. ``plans_ideal`` and ``plans_noisy`` for ``STATEVECTOR_MAX_QUBITS``),
not here or in ``simulate``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ionstack.errors import JobFailure
from ionstack.quantum import gates as G
from ionstack.quantum import memory, sampling
from ionstack.quantum.circuit import Circuit
from ionstack.quantum.engines import Op
from ionstack.quantum.synthesis import lower_gate

Method = Literal["statevector", "stabilizer", "trajectories", "density_matrix", "mps"]

#: Widest ideal circuit run by the numpy engine (per-call overhead wins below, qsim above).
NUMPY_MAX_QUBITS = 10
#: Widest noisy circuit whose trajectories use the numpy engine.
NUMPY_MAX_QUBITS_NOISY = 6
#: Clifford circuits at least this wide go to stim automatically.
STABILIZER_MIN_QUBITS = 25
#: Widest noisy circuit considered for the exact density-matrix method.
DENSITY_MAX_QUBITS = 7
#: Default cap on the number of entries of an exact probability dictionary.
DEFAULT_MAX_OUTCOMES = 1 << 20
#: Memory for ideal checkpoints in the trajectory method.
CHECKPOINT_BYTES = 256 << 20
#: Ideal qsim runs longer than this many gates are split so ``check`` runs in between.
QSIM_SEGMENT_GATES = 4000
#: Wider non-Clifford circuits run as matrix-product states (issue 16 §4; IonQ's simulator
#: runs 29 qubits), or on a state vector if the MPS cannot and the vector fits.
STATEVECTOR_MAX_QUBITS = 29
#: Memory for the prefixes of an exact MPS answer (:meth:`mps.MPS.largest`).
MPS_ENUM_BYTES = 256 << 20


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResult:
    """One simulation's outcome (keys little-endian, qubit 0 least significant).

    Attributes:
        probabilities: Exact ``|amp|²`` (ideal, ``shots=None``; entries < 1e-12 dropped) or
            ``counts/shots`` (sampled). Ascending keys. Exact answers are a
            :class:`~ionstack.quantum.sampling.Probabilities` (two arrays, read as a mapping);
            sampled ones a ``dict``.
        histogram: Counts per outcome when sampled, else ``None``.
        samples: Per-shot outcomes in execution order when sampled, else ``None``.
        method: ``statevector``, ``stabilizer``, ``trajectories`` or ``density_matrix``.
        qubits: Circuit width.
        engine: The library path used (``numpy-complex128``, ``qsim-complex64``, ``stim``).
        truncated: The exact dictionary was capped at ``max_outcomes`` entries.
        simulated_qubits: The width the engine ran: the qubits some gate touches
            (:mod:`~ionstack.quantum.width`); 0 until :func:`run` sets it.
        discarded_weight: Matrix-product-state runs: the norm² the bond-dimension cap
            discarded (summed over truncations; per shot, the largest), else ``None``.
        max_bond: Matrix-product-state runs: the largest bond dimension reached.
    """

    probabilities: Mapping[int, float]
    histogram: dict[int, int] | None
    samples: list[int] | None
    method: str
    qubits: int
    engine: str
    truncated: bool = False
    simulated_qubits: int = 0
    discarded_weight: float | None = None
    max_bond: int | None = None


# --------------------------------------------------------------------------- ops


def _ir_op(op: tuple[Any, ...]) -> Op:
    if op[0] == "u":
        return (op[1],), (), op[2]
    if op[0] == "cx":
        return (op[2],), (op[1],), G.PAULI_X
    return (op[1], op[2]), (), G.native_zz_matrix(op[3])


def _ops(
    circuit: Circuit, *, max_targets: int | None = None, max_qubits: int | None = None
) -> list[Op]:
    """Engine ops; gates with more than ``max_targets`` targets or ``max_qubits`` qubits
    (controls included) are lowered exactly (global phase dropped).

    Raises:
        JobFailure: ``CompilationError`` naming the gate when a wide gate cannot be lowered
            (as :func:`~ionstack.quantum.compile.compile_native` does).
    """
    out: list[Op] = []
    for i, g in enumerate(circuit.gates):
        if g.name == "nop":
            continue
        if (max_targets is not None and len(g.targets) > max_targets) or (
            max_qubits is not None and len(g.qubits) > max_qubits
        ):
            try:
                lowered = lower_gate(g)
            except (ValueError, np.linalg.LinAlgError) as exc:
                raise JobFailure("CompilationError", f"input.circuit[{i}]: {exc}") from exc
            out.extend(_ir_op(op) for op in lowered.ops)
        else:
            out.append((g.targets, g.controls, G.base_matrix(g, circuit.gateset)))
    return out


# --------------------------------------------------------------------------- results


def _sampled(
    samples: np.ndarray, hist: dict[int, int], shots: int, *, method: str, n: int, engine: str
) -> RunResult:
    return RunResult(
        probabilities=sampling.frequencies(hist, shots),
        histogram=hist,
        samples=samples.tolist(),
        method=method,
        qubits=n,
        engine=engine,
    )


def _from_ints(values: list[int], shots: int, *, method: str, n: int) -> RunResult:
    hist: dict[int, int] = {}
    for v in values:
        hist[v] = hist.get(v, 0) + 1
    hist = dict(sorted(hist.items()))
    return RunResult(
        probabilities=sampling.frequencies(hist, shots),
        histogram=hist,
        samples=values,
        method=method,
        qubits=n,
        engine="stim",
    )


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True, slots=True)
class _Plan:
    """A run prepared up to its first large allocation: its footprint, then the rest."""

    footprint: memory.Footprint
    execute: Callable[[], RunResult]

"""Shared helpers for the quantum-core tests (plain numpy, independent of the engines)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ionstack.quantum import gates as G
from ionstack.quantum.circuit import Circuit, parse_circuit


def embed(n: int, qubits: tuple[int, ...], m: np.ndarray) -> np.ndarray:
    """``m`` (``qubits[0]`` most significant) as a 2ⁿ×2ⁿ operator on a little-endian register.

    Built entry by entry from the definition, so it shares no code with the simulators.
    """
    k = len(qubits)
    dim = 1 << n
    out = np.zeros((dim, dim), dtype=np.complex128)
    for col in range(dim):
        sub = 0
        for q in qubits:
            sub = (sub << 1) | ((col >> q) & 1)
        for r in range(1 << k):
            amp = m[r, sub]
            if amp == 0:
                continue
            row = col
            for i, q in enumerate(qubits):
                bit = (r >> (k - 1 - i)) & 1
                row = (row & ~(1 << q)) | (bit << q)
            out[row, col] += amp
    return out


def circuit_unitary(c: Circuit) -> np.ndarray:
    """Product of the gates' full matrices (time order), little-endian register."""
    u = np.eye(1 << c.qubits, dtype=np.complex128)
    for g in c.gates:
        u = embed(c.qubits, g.qubits, G.gate_matrix(g, c.gateset)) @ u
    return u


def phase_distance(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − e^{iφ}b| with φ aligning the largest entry of b (global phase removed)."""
    i = int(np.argmax(np.abs(b)))
    phase = a.flat[i] / b.flat[i]
    phase /= abs(phase)
    return float(np.max(np.abs(a - phase * b)))


def reverse_bits(m: np.ndarray) -> np.ndarray:
    """Qiskit (first qubit least significant) ↔ IonQ/Cirq (first qubit most significant)."""
    k = int(np.log2(m.shape[0]))
    perm = [int(format(i, f"0{k}b")[::-1], 2) for i in range(1 << k)]
    return m[np.ix_(perm, perm)]


def qis(gates: list[dict[str, Any]], qubits: int | None = None) -> Circuit:
    return parse_circuit(gates, gateset="qis", qubits=qubits)


def native(gates: list[dict[str, Any]], qubits: int | None = None) -> Circuit:
    return parse_circuit(gates, gateset="native", qubits=qubits)

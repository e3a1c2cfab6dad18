"""Shared helpers for the quantum-core tests (plain numpy, independent of the engines)."""

from __future__ import annotations

import zlib
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


def random_qis(n: int, depth: int, seed: int) -> list[dict[str, Any]]:
    """A seeded random QIS circuit with rotations, fixed gates, controls and pauliexp."""
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    for layer in range(depth):
        for q in range(n):
            name = str(rng.choice(["rx", "ry", "rz", "h", "t", "v", "z"]))
            gate: dict[str, Any] = {"gate": name, "target": q}
            if name in ("rx", "ry", "rz") or (name == "z" and rng.random() < 0.5):
                gate["rotation"] = float(rng.uniform(-np.pi, np.pi))
            out.append(gate)
        for q in range(layer % 2, n - 1, 2):
            out.append({"gate": "cnot", "control": q, "target": q + 1})
        if n >= 3:
            a, b, c = (int(x) for x in rng.choice(n, 3, replace=False))
            out.append({"gate": "x", "targets": [a], "controls": [b, c]})
            out.append(
                {
                    "gate": "pauliexp",
                    "targets": [a, b],
                    "terms": ["XY", "ZI"],
                    "coefficients": [0.3, float(rng.normal())],
                    "time": 0.7,
                }
            )
    return out


def to_qiskit(c: Circuit) -> Any:
    """The same circuit for Qiskit, gate by gate as unitaries (qiskit lists the LSB first)."""
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(c.qubits)
    for g in c.gates:
        if g.name == "nop":
            continue
        qc.unitary(G.gate_matrix(g, c.gateset), list(reversed(g.qubits)))
    return qc


def aer_probabilities(qc: Any, method: str = "statevector") -> np.ndarray:
    """Exact probabilities from qiskit-aer (double precision), little-endian index."""
    from qiskit_aer import AerSimulator

    qc = qc.copy()
    qc.save_probabilities()
    result = AerSimulator(method=method, precision="double").run(qc, shots=1).result()
    return np.asarray(result.data()["probabilities"])


def dense(probabilities: dict[int, float], n: int) -> np.ndarray:
    out = np.zeros(1 << n)
    for k, v in probabilities.items():
        out[k] = v
    return out


def stable_seed(base: int, label: str) -> int:
    """A simulator seed (1 … 2³¹−1) for one labelled run, the same in every process.

    Python's ``hash(str)`` is salted per process, so a failure seeded from it cannot be
    replayed; CRC-32 is fixed.
    """
    return (base + zlib.crc32(label.encode())) % (2**31 - 1) + 1


class SeededRuns:
    """An ``execute(circuit, label)`` for the solvers (QAOA, Hamiltonian energy) that samples
    every circuit with :func:`stable_seed` and records the seeds, which ``str()`` prints for
    an assertion message."""

    def __init__(self, *, shots: int, seed: int, noise: Any = None) -> None:
        self.shots, self.seed, self.noise = shots, seed, noise
        self.seeds: dict[str, int] = {}

    def __call__(self, circuit: Circuit, label: str) -> Any:
        from ionstack.quantum.simulate import run

        seed = self.seeds[label] = stable_seed(self.seed, label)
        return run(circuit, shots=self.shots, noise=self.noise, seed=seed)

    def __str__(self) -> str:
        model = getattr(self.noise, "name", "ideal")
        runs = ", ".join(f"{label!r}: {seed}" for label, seed in self.seeds.items())
        return f"base seed {self.seed}, {self.shots} shots, noise {model}; run seeds {{{runs}}}"

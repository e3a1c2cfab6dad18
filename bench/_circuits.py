"""Benchmark circuits shared by ``bench/engine.py`` and the tests (engines.md's circuits).

``random_layers(n, depth, seed)`` is the circuit of ``shared/tools/engine_bench.py``
(``gen_random_circuit``): ``depth`` layers of rx, ry, rz with uniform random angles on every
qubit, then a CNOT brick ((0,1),(2,3)… on even layers, (1,2),(3,4)… on odd ones). Same
numpy generator calls, so the angles are identical to engines.md's for the same seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def random_layers(n: int, depth: int, seed: int) -> list[dict[str, Any]]:
    """The engines.md random circuit as ionq.circuit.v1 QIS gates (radians)."""
    rng = np.random.default_rng(seed)
    gates: list[dict[str, Any]] = []
    for layer in range(depth):
        for q in range(n):
            a, b, c = rng.uniform(0, 2 * np.pi, 3)
            gates += [
                {"gate": "rx", "target": q, "rotation": float(a)},
                {"gate": "ry", "target": q, "rotation": float(b)},
                {"gate": "rz", "target": q, "rotation": float(c)},
            ]
        for q in range(layer % 2, n - 1, 2):
            gates.append({"gate": "cnot", "control": q, "target": q + 1})
    return gates


def bell() -> list[dict[str, Any]]:
    """H on 0, CNOT 0→1."""
    return [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]


def clifford_layers(n: int, depth: int, seed: int) -> list[dict[str, Any]]:
    """engines.md's Clifford circuit: random {h, s, v} on every qubit + CNOT brick."""
    rng = np.random.default_rng(seed)
    gates: list[dict[str, Any]] = []
    for layer in range(depth):
        for q in range(n):
            gates.append({"gate": ["h", "s", "v"][int(rng.integers(3))], "target": q})
        for q in range(layer % 2, n - 1, 2):
            gates.append({"gate": "cnot", "control": q, "target": q + 1})
    return gates


def qasm3_layers(n: int, depth: int, seed: int, *, measure_after: tuple[int, ...] = ()) -> str:
    """``random_layers`` as OpenQASM 3, with a mid-circuit measurement of qubit ``(3k) mod n``
    into ``m[k]`` after layer ``measure_after[k]`` (the qubit is used again by the next layers),
    then every qubit measured into ``c``. ``measure_after=()`` gives the same circuit with
    terminal measurements only."""
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";', f"qubit[{n}] q;", f"bit[{n}] c;"]
    if measure_after:
        lines.append(f"bit[{len(measure_after)}] m;")
    per_layer = 3 * n + 0  # rotations, then the brick
    gates = random_layers(n, depth, seed)
    i = 0
    for layer in range(depth):
        brick = len(range(layer % 2, n - 1, 2))
        for g in gates[i : i + per_layer + brick]:
            if g["gate"] == "cnot":
                lines.append(f"cx q[{g['control']}], q[{g['target']}];")
            else:
                lines.append(f"{g['gate']}({g['rotation']!r}) q[{g['target']}];")
        i += per_layer + brick
        for k, after in enumerate(measure_after):
            if after == layer:
                lines.append(f"m[{k}] = measure q[{(3 * k) % n}];")
    lines.append("c = measure q;")
    return "\n".join(lines) + "\n"

"""The quantum core: circuits, gates, compiler, noise, simulation and debiasing (design.md).

Pure Python + numpy + the simulator libraries; no HTTP, no database, no jobs. Result keys are
little-endian integers: qubit 0 is the least significant bit (semantics.md §0).
"""

from __future__ import annotations

from ionstack.quantum.circuit import Circuit, Gate, parse_circuit, parse_input
from ionstack.quantum.compile import (
    check_family,
    compile_native,
    gate_counts,
    native_json,
    to_qasm3,
)

__all__ = [
    "Circuit",
    "Gate",
    "check_family",
    "compile_native",
    "gate_counts",
    "native_json",
    "parse_circuit",
    "parse_input",
    "to_qasm3",
]

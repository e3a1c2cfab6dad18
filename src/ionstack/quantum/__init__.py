"""The quantum core: circuits, gates, compiler, noise, simulation and debiasing (design.md).

Pure Python + numpy + the simulator libraries; no HTTP, no database, no jobs. Result keys are
little-endian integers: qubit 0 is the least significant bit (semantics.md §0).

The seam used by the other layers:

* :func:`parse_circuit`, :func:`parse_input` → :class:`Circuit` of :class:`Gate`;
* :func:`compile_native`, :func:`gate_counts`, :func:`native_json`, :func:`to_qasm3`;
* :class:`NoiseModel`, :func:`noise_model`, :func:`from_fidelities`;
* :func:`run` → :class:`RunResult`;
* :func:`run_debiased` → :class:`VariantResult` list, :func:`aggregate` (``average``/``sharpen``).
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
from ionstack.quantum.debias import (
    Variant,
    VariantResult,
    aggregate,
    average,
    make_variants,
    pooled_histogram,
    pooled_samples,
    run_debiased,
    sharpen,
    split_shots,
    variant_count,
)
from ionstack.quantum.noise import NOISE_MODELS, NoiseModel, from_fidelities, noise_model
from ionstack.quantum.simulate import RunResult, run

__all__ = [
    "NOISE_MODELS",
    "Circuit",
    "Gate",
    "NoiseModel",
    "RunResult",
    "Variant",
    "VariantResult",
    "aggregate",
    "average",
    "check_family",
    "compile_native",
    "from_fidelities",
    "gate_counts",
    "make_variants",
    "native_json",
    "noise_model",
    "parse_circuit",
    "parse_input",
    "pooled_histogram",
    "pooled_samples",
    "run",
    "run_debiased",
    "sharpen",
    "split_shots",
    "to_qasm3",
    "variant_count",
]

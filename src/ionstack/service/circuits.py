"""Compiled circuits of a job (semantics.md §5.9): what it ran, or would run for a dry run."""

from __future__ import annotations

import json
from typing import Literal

from ionstack.catalog import Catalog
from ionstack.errors import JobFailure, NotFound
from ionstack.quantum.circuit import Circuit, parse_input
from ionstack.quantum.compile import compile_native, native_json, to_qasm3
from ionstack.quantum.program import Program
from ionstack.quantum.program_native import compile_to_native_qasm3
from ionstack.quantum.qasm3 import parse_program
from ionstack.store.tables import Job

QASM3_JOB = "ionq.qasm3.v1"

#: noise model → native entangling family (semantics.md §1.2)
MODEL_FAMILY = {
    "aria-1": "ms",
    "aria-2": "ms",
    "harmony": "ms",
    "harmony-1": "ms",
    "harmony-2": "ms",
    "forte-1": "zz",
    "forte-enterprise-1": "zz",
}


def family_of(
    backend: str, noise_model: str | None, catalog: Catalog | None = None
) -> Literal["ms", "zz"]:
    """The two-qubit gate family a job compiles to: the QPU's, or its noise model's (MS for the
    ideal simulator)."""
    found = (catalog or Catalog()).get(backend)
    if found is not None and found.is_qpu:
        return "zz" if found.native_2q == ("zz",) else "ms"
    return "zz" if MODEL_FAMILY.get(noise_model or "") == "zz" else "ms"


def leaf_circuit(job: Job) -> Circuit:
    """The stored circuit of a leaf job, parsed again (it was validated at submission)."""
    return parse_input(job.input, job_type="ionq.circuit.v1")[0]


def compiled(job: Job) -> Circuit:
    model = (job.noise or {}).get("model")
    family = family_of(job.backend, str(model) if model else None)
    return compile_native(leaf_circuit(job), family=family)


def compiled_circuit(job: Job, lang: Literal["native", "qasm3"]) -> str:
    """The compiled circuit as a string: native JSON text or OpenQASM 3.

    404 for a multi-circuit parent (ask its children) and for a job whose circuit was
    rejected.
    """
    if job.is_parent or (job.failure is not None and not job.stats):
        raise NotFound()
    if job.type == QASM3_JOB:
        return _compiled_program(job, lang)
    try:
        native = compiled(job)
    except JobFailure:
        raise NotFound() from None
    if lang == "native":
        return json.dumps(native_json(native))
    return to_qasm3(native)


def program_of(job: Job) -> Program:
    """The stored OpenQASM 3 program of a qasm3 job, parsed again."""
    qubits = job.input.get("qubits")
    return parse_program(str(job.input["data"]), qubits=qubits if isinstance(qubits, int) else None)


def _compiled_program(job: Job, lang: Literal["native", "qasm3"]) -> str:
    model = (job.noise or {}).get("model")
    family = family_of(job.backend, str(model) if model else None)
    try:
        program = program_of(job)
        if lang == "qasm3":
            return compile_to_native_qasm3(program, family=family)
        static = program.static_circuit()
        if static is None:
            raise NotFound()  # a flat gate list cannot hold measurement, reset or control flow
        return json.dumps(native_json(compile_native(static, family=family)))
    except JobFailure:
        raise NotFound() from None

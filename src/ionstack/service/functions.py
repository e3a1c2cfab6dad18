"""Submitting ``quantum-function`` and ``qctrl.qaoa.v1`` jobs (issue 10).

The input is validated here at submission — 400 with ``validation.keys`` for bad Pauli terms,
lengths, graphs, ``params`` counts; a created-``failed`` job for an ansatz the circuit parser
rejects — and priced from the circuits the worker will run: one per measurement basis for a
Hamiltonian, ``qaoa.DEFAULT_MAX_EVALUATIONS`` QAOA circuits for max-cut (semantics.md §5.10
gate counts, each with the job's ``shots``).

``external_settings`` (Q-CTRL credentials) is required by the spec for ``qctrl.qaoa.v1``. It is
accepted, checked for shape and dropped: the API key is never stored nor echoed; only
``external_organization`` (not a secret) is kept in the job's ``settings``. No external service
is called — the QAOA solver is local (``ionstack.quantum.qaoa``).
"""

from __future__ import annotations

from typing import Any

from ionstack.errors import BadRequest
from ionstack.quantum import hamiltonian, qaoa
from ionstack.quantum.circuit import Circuit

QUANTUM_FUNCTION = "quantum-function"
QAOA = "qctrl.qaoa.v1"
FUNCTION_TYPES = (QUANTUM_FUNCTION, QAOA)


def _bad(message: str, key: str) -> BadRequest:
    return BadRequest(f'"{key}" {message}', keys=[key], source="payload")


def external_settings(job_type: str, raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """Check ``external_settings``; return only its non-secret fields (None when absent)."""
    if job_type != QAOA:
        if raw is not None:
            raise _bad(f"is only allowed with type {QAOA}", "external_settings")
        return None
    if raw is None:
        raise _bad("is required", "external_settings")
    credentials = raw.get("api_credentials")
    if not isinstance(credentials, str) or not credentials:
        raise _bad("must be a non-empty string", "external_settings.api_credentials")
    organization = raw.get("external_organization")
    if organization is not None and not isinstance(organization, str):
        raise _bad("must be a string", "external_settings.external_organization")
    unknown = sorted(set(raw) - {"api_credentials", "external_organization"})
    if unknown:
        raise _bad("is not allowed", f"external_settings.{unknown[0]}")
    return {} if organization is None else {"external_organization": organization}


def accounting_circuits(job_type: str, inp: dict[str, Any]) -> list[Circuit]:
    """Validate the input and list the circuits a run will execute (for stats, limits, price).

    Raises:
        BadRequest: malformed input (400).
        JobFailure: an ansatz that does not parse or run (the job is created ``failed``).
    """
    if job_type == QUANTUM_FUNCTION:
        job = hamiltonian.load_job(inp)
        prepared = job.circuit()
        return [
            hamiltonian.basis_circuit(prepared, basis)
            for basis in hamiltonian.measurement_bases(job.problem)
        ]
    shape = qaoa.circuit_shape(qaoa.load_job(inp))
    return [shape] * qaoa.DEFAULT_MAX_EVALUATIONS


def settings_echo(debiasing: bool, external: dict[str, Any] | None) -> dict[str, Any]:
    """The ``settings`` of a function job: error mitigation only, plus the non-secret
    ``external_settings`` fields."""
    out: dict[str, Any] = {"error_mitigation": {"debiasing": debiasing}}
    if external:
        out["external_settings"] = external
    return out

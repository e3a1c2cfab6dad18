"""Running ``quantum-function`` and ``qctrl.qaoa.v1`` jobs in a worker (issue 10).

The worker hands a claimed function job here; this module runs it on the quantum core and
returns what :func:`ionstack.runtime.queue.complete` writes. Every circuit goes through one executor
with the job's simulation mode — exact probabilities on the ideal simulator, ``shots`` samples
under a noise model or on an emulated QPU — with a seed hashed from the job's seed (or id) and
the circuit's label, so a job is reproducible.

What a completed job shows (README "Jobs"; IonQ's newer spec, ionq-core 0.2.0):

* ``hamiltonian-energy``: ``output`` ``{"value", "variance", …}`` and ``results`` ``{"value",
  "variance", "probabilities": {"url"}}``; ``/results/probabilities`` is the computational-basis
  distribution of the ansatz.
* ``maxcut``: ``output`` ``{"solution_bitstring", "cut_value", "partition", …}`` and ``results``
  ``{"probabilities": {"url"}, "qaoa_results": {"optimal_cost", "optimal_bitstring",
  "processing_status"}}``; ``/results/probabilities`` is the final QAOA distribution (node i =
  qubit i = bit i of the decimal key).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from ionstack.catalog import Backend, Catalog
from ionstack.errors import JobFailure
from ionstack.quantum import hamiltonian, qaoa
from ionstack.quantum.circuit import Circuit
from ionstack.quantum.device import DeviceModel
from ionstack.quantum.noise import NoiseModel, noise_model
from ionstack.quantum.sampling import derive_seed
from ionstack.quantum.simulate import RunResult, run
from ionstack.runtime import queue
from ionstack.service.functions import FUNCTION_TYPES, QUANTUM_FUNCTION
from ionstack.settings import Settings

__all__ = ["FUNCTION_TYPES", "compute", "executor"]

Check = Callable[[], None]


def _job_seed(held: queue.Claim) -> int:
    noise = held.noise or {}
    if noise.get("seed"):
        return int(noise["seed"])
    digest = hashlib.sha256(held.job_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**31 - 1) + 1


def _model(
    held: queue.Claim, backend: Backend, device: NoiseModel | None = None
) -> NoiseModel | None:
    if backend.is_qpu:
        return device if device is not None else noise_model(backend.noise_model or "ideal")
    name = str((held.noise or {}).get("model", "ideal"))
    return None if name == "ideal" else noise_model(name)


def executor(
    held: queue.Claim,
    backend: Backend,
    settings: Settings,
    check: Check,
    device: NoiseModel | None = None,
) -> Callable[[Circuit, str], RunResult]:
    """Run one labelled circuit of the job in the job's mode (``device``: an emulated QPU's
    device model, runtime/devices.py)."""
    model = _model(held, backend, device)
    shots = held.shots or settings.default_shots
    seed = _job_seed(held)

    def execute(circuit: Circuit, label: str) -> RunResult:
        return run(
            circuit,
            shots=None if model is None else shots,
            noise=model,
            seed=derive_seed(seed, label),
            threads=settings.engine_threads,
            memory_limit_bytes=settings.memory_limit_bytes,
            check=check,
        )

    return execute


def compute(
    held: queue.Claim,
    *,
    catalog: Catalog,
    settings: Settings,
    check: Check,
    device: DeviceModel | None = None,
) -> queue.Outcome:
    """Run a claimed function job (no database access; an emulated QPU's ``device`` model is
    read by the caller)."""
    backend = catalog.get(held.backend)
    if backend is None:
        raise JobFailure("InternalError", f"Unknown backend {held.backend}.")
    execute = executor(held, backend, settings, check, device)
    if held.type == QUANTUM_FUNCTION:
        outcome = _energy(held, execute, check)
    else:
        outcome = _maxcut(held, execute, check, seed=_job_seed(held))
    if backend.is_qpu and device is not None:
        outcome.output["noise_model"] = device.describe()
    return outcome


def _outcome(
    held: queue.Claim,
    output: dict[str, Any],
    probabilities: dict[int, float],
    histogram: dict[int, int] | None,
    samples: list[int] | None,
) -> queue.Outcome:
    return queue.Outcome(
        probabilities={str(k): float(v) for k, v in sorted(probabilities.items())},
        histogram=None
        if histogram is None
        else {str(k): int(v) for k, v in sorted(histogram.items())},
        shots=None if samples is None else [str(s) for s in samples],
        variants=None,
        output=output,
        stats=queue.billed(held.stats),
        execution_duration_ms=0,
    )


def _energy(
    held: queue.Claim, execute: Callable[[Circuit, str], RunResult], check: Check
) -> queue.Outcome:
    job = hamiltonian.load_job(held.input)
    energy = hamiltonian.evaluate(job.problem, job.circuit(), execute=execute, check=check)
    output = {
        "function": "hamiltonian-energy",
        "value": energy.value,
        "variance": energy.variance,
        "exact": energy.exact,
        "cvar_alpha": energy.cvar_alpha,
        "measurement_bases": energy.bases,
        "terms": [
            {"pauli_string": t.pauli, "coefficient": t.coefficient, "value": v}
            for t, v in zip(job.problem.terms, energy.term_values, strict=True)
        ],
        "simulation": {"method": energy.method},
    }
    return _outcome(held, output, energy.probabilities, energy.histogram, energy.samples)


def _maxcut(
    held: queue.Claim, execute: Callable[[Circuit, str], RunResult], check: Check, *, seed: int
) -> queue.Outcome:
    graph = qaoa.load_job(held.input)
    shots = int(held.shots or 100)
    solution = qaoa.solve(graph, execute=execute, shots=shots, seed=seed, check=check)
    output = {
        "problem_type": "maxcut",
        "solution_bitstring": solution.bitstring,
        "solution_bitstring_cost": -solution.cut_value,
        "cut_value": solution.cut_value,
        "partition": solution.partition(graph),
        "expected_cut": solution.expected_cut,
        "variables_to_bitstring_index_map": {
            str(node): graph.size - 1 - i for i, node in enumerate(graph.nodes)
        },
        "best_parameters": {"gamma": list(solution.gammas), "beta": list(solution.betas)},
        "layers": len(solution.gammas),
        "iteration_count": solution.evaluations,
        "processing_status": "complete",
        "simulation": {"method": solution.method},
    }
    return _outcome(held, output, solution.probabilities, solution.histogram, solution.samples)

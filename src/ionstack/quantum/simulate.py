"""Ideal and noisy simulation of parsed circuits (semantics.md §2.3, §4).

Results are little-endian: outcome ``k = Σ_i b_i·2^i`` where ``b_i`` is the measured bit of
qubit ``i`` — **qubit 0 is the least significant bit** (semantics.md §0; checked against
qiskit-ionq ``map_output``). ``x`` on qubit 1 of 2 qubits gives ``{2: 1.0}``.

Engine choice (measured, bench/README.md):

* ideal, ≤ ``NUMPY_MAX_QUBITS`` qubits: exact numpy complex128 (lowest per-call overhead);
* ideal, wider: qsim via its pybind module, complex64 with 4-qubit gate fusion (fastest);
* Clifford circuits from ``STABILIZER_MIN_QUBITS`` qubits, or whenever a state vector would not
  fit: stim (``method="stabilizer"``), which handles thousands of qubits;
* noisy: the circuit is compiled to the model's native gates (semantics.md §4 "which gates
  receive noise") and run by error-pattern grouping (``"trajectories"``), by an exact density
  matrix for few qubits and many distinct patterns (``"density_matrix"``), or by stim for wide
  Clifford circuits.
* wider than ``STATEVECTOR_MAX_QUBITS`` (or past the memory limit) and not Clifford: a
  matrix-product state (``"mps"``, :mod:`.engines.mps`), ideal or noisy (error-pattern grouping
  on MPS checkpoints), when its a-priori bond bounds fit the time budget (issue 16 §4).

Every run simulates the qubits some gate touches only, the answer restored at the declared
width (:mod:`~ionstack.quantum.width`, issue 16 §2).

Reproducibility: the same (circuit, shots, model, seed) gives byte-identical results in any
process: every random draw comes from PCG64 streams hashed from the seed
(:func:`ionstack.quantum.sampling.derive_rng`).

Memory (issue 16 §1): every path is prepared up to its first large allocation, its peak is
estimated (:func:`footprint`: the state, the answer and every sizeable temporary, measured by
bench/memory.py) and a run whose estimate exceeds the limit fails with ``SimulationError``
before allocating. The peaks stay near the state: exact probabilities are computed in pieces
and the largest selected in place (:func:`~ionstack.quantum.sampling.probability_dict`),
sampling streams its cumulative sums, density matrices are updated piece by piece, and
trajectories free each checkpoint after its last use; glibc's mmap threshold is fixed so freed
states leave the process (:func:`memory.tune_allocator`).

Where the code lives: this module is the entry (:func:`run`, :func:`footprint`, the device
model's readout error, the choice between ideal and noisy); :mod:`.plan` holds what every path
shares (``Method``, the engine-choice constants, :class:`RunResult`, engine ops), re-exported
here; :mod:`.plans_ideal`, :mod:`.plans_noisy` and :mod:`.plans_mps` plan each path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ionstack.quantum import budget, device, memory, sampling, width
from ionstack.quantum.circuit import Circuit
from ionstack.quantum.compile import check_family
from ionstack.quantum.engines import mps
from ionstack.quantum.noise import NoiseModel
from ionstack.quantum.plan import (
    CHECKPOINT_BYTES,
    DEFAULT_MAX_OUTCOMES,
    DENSITY_MAX_QUBITS,
    MPS_ENUM_BYTES,
    NUMPY_MAX_QUBITS,
    NUMPY_MAX_QUBITS_NOISY,
    QSIM_SEGMENT_GATES,
    STABILIZER_MIN_QUBITS,
    STATEVECTOR_MAX_QUBITS,
    Method,
    RunResult,
    _Plan,
)
from ionstack.quantum.plan import _ops as _ops
from ionstack.quantum.plans_ideal import _is_small, _plan_ideal, _small_ideal
from ionstack.quantum.plans_noisy import _plan_noisy

__all__ = [
    "CHECKPOINT_BYTES",
    "DEFAULT_MAX_OUTCOMES",
    "DENSITY_MAX_QUBITS",
    "MPS_ENUM_BYTES",
    "NUMPY_MAX_QUBITS",
    "NUMPY_MAX_QUBITS_NOISY",
    "QSIM_SEGMENT_GATES",
    "STABILIZER_MIN_QUBITS",
    "STATEVECTOR_MAX_QUBITS",
    "Method",
    "RunResult",
    "footprint",
    "run",
]


def _noop() -> None:
    return None


def _check_shots(shots: int | None) -> None:
    if shots is not None and (isinstance(shots, bool) or shots < 1):
        raise ValueError(f"shots must be ≥ 1 or None, got {shots!r}")


def _with_readout(result: RunResult, model: device.DeviceModel, seed: int) -> RunResult:
    """``result`` with the model's readout error applied to its sampled outcomes (every
    declared qubit is measured, used or not)."""
    if result.samples is None or not model.has_readout_error:
        return result
    rng = sampling.derive_rng(seed, "readout")
    if result.qubits <= 62:
        samples = device.apply_readout(
            np.asarray(result.samples, dtype=np.int64),
            result.qubits,
            model.readout_p01,
            model.readout_p10,
            rng,
        )
        values = samples.tolist()
        hist = sampling.histogram(samples)
    else:
        bits = np.array(
            [[(x >> q) & 1 for q in range(result.qubits)] for x in result.samples], dtype=bool
        )
        flipped = device.apply_readout_bits(bits, model.readout_p01, model.readout_p10, rng)
        values = sampling.bits_to_ints(flipped)
        hist = {}
        for v in values:
            hist[v] = hist.get(v, 0) + 1
        hist = dict(sorted(hist.items()))
    return replace(
        result,
        probabilities=sampling.frequencies(hist, len(values)),
        histogram=hist,
        samples=values,
    )


def _plan(
    circuit: Circuit,
    *,
    shots: int | None,
    noise: NoiseModel | None,
    seed: int,
    threads: int,
    limit: int,
    check: Callable[[], None],
    method: Method | None,
    max_outcomes: int | None,
    limits: mps.Limits,
) -> _Plan:
    if noise is None or noise.is_ideal:
        if noise is not None:
            check_family(circuit, noise.native_2q)
        return _plan_ideal(
            circuit,
            shots=shots,
            seed=seed,
            threads=threads,
            limit=limit,
            check=check,
            method=method,
            max_outcomes=max_outcomes,
            limits=limits,
        )
    return _plan_noisy(
        circuit,
        noise,
        shots=shots,
        seed=seed,
        threads=threads,
        limit=limit,
        check=check,
        method=method,
        limits=limits,
    )


# --------------------------------------------------------------------------- public


def footprint(
    circuit: Circuit,
    *,
    shots: int | None,
    noise: NoiseModel | None,
    seed: int = 0,
    threads: int = 0,
    memory_limit_bytes: int | None = None,
    method: Method | None = None,
    max_outcomes: int | None = DEFAULT_MAX_OUTCOMES,
    mps_limits: mps.Limits | None = None,
) -> memory.Footprint:
    """The path :func:`run` takes for these arguments and the memory it will need, estimated
    before anything large is allocated (the figure the guard compares with the limit).

    Takes the same arguments as :func:`run` (noisy runs draw their error patterns from
    ``seed`` first: the estimate counts the checkpoint states that draw needs).

    Raises:
        As :func:`run`, except the ``SimulationError`` of the guard itself.
    """
    _check_shots(shots)
    circuit = width.compact(circuit, width.used_qubits(circuit))
    threads = threads or memory.cores()
    if (noise is None or noise.is_ideal) and _is_small(circuit.qubits, shots, method):
        return memory.small_footprint(circuit.qubits, shots=shots, max_outcomes=max_outcomes)
    limit = memory_limit_bytes if memory_limit_bytes is not None else memory.LazyLimit()
    return _plan(
        circuit,
        shots=shots,
        noise=noise,
        seed=seed,
        threads=threads,
        limit=limit,
        check=_noop,
        method=method,
        max_outcomes=max_outcomes,
        limits=mps_limits or mps.Limits(),
    ).footprint


def run(
    circuit: Circuit,
    *,
    shots: int | None,
    noise: NoiseModel | None,
    seed: int,
    threads: int = 0,
    memory_limit_bytes: int | None = None,
    check: Callable[[], None] | None = None,
    method: Method | None = None,
    max_outcomes: int | None = DEFAULT_MAX_OUTCOMES,
    mps_limits: mps.Limits | None = None,
) -> RunResult:
    """Simulate ``circuit`` on the qubits it uses (issue 16 §2), the answer at its declared
    width (:mod:`~ionstack.quantum.width`); arguments and errors as :func:`_run`."""
    used = width.used_qubits(circuit)
    device_model = noise if isinstance(noise, device.DeviceModel) else None
    if device_model is not None:  # the compacted qubits keep their physical placement
        physical = device_model.qubit_map or tuple(range(circuit.qubits))
        noise = device_model.placed([physical[q] for q in used])
    result = _run(
        width.compact(circuit, used),
        shots=shots,
        noise=noise,
        seed=seed,
        threads=threads,
        memory_limit_bytes=memory_limit_bytes,
        check=check,
        method=method,
        max_outcomes=max_outcomes,
        mps_limits=mps_limits,
    )
    result = width.restore(result, used, circuit.qubits)
    return result if device_model is None else _with_readout(result, device_model, seed)


def _run(
    circuit: Circuit,
    *,
    shots: int | None,
    noise: NoiseModel | None,
    seed: int,
    threads: int = 0,
    memory_limit_bytes: int | None = None,
    check: Callable[[], None] | None = None,
    method: Method | None = None,
    max_outcomes: int | None = DEFAULT_MAX_OUTCOMES,
    mps_limits: mps.Limits | None = None,
) -> RunResult:
    """Simulate ``circuit`` (semantics.md §2.3 ideal, §4 noisy).

    Args:
        circuit: A parsed circuit (QIS or native).
        shots: ``None`` for exact ideal probabilities; otherwise the number of shots to sample.
        noise: ``None`` or an ideal model for ideal simulation; a noisy model applies
            depolarizing noise after every gate of the circuit compiled to the model's native
            gates (native input must match the model's 2q family).
        seed: Seed for every random draw (hashed into independent PCG64 streams). The ideal
            ``shots=None`` path uses no randomness.
        threads: Engine threads; 0 means all cores.
        memory_limit_bytes: Memory the simulation may add to its process (its peak resident
            memory, answer included, as :func:`footprint` estimates it); ``None`` means ¾ of
            RAM, at most 90 % of the memory available now.
        check: Called between units of work (trajectory groups, density-matrix gate blocks,
            ideal gate segments); raise from it to cancel or time out.
        method: Force ``statevector``, ``stabilizer``, ``trajectories``,
            ``density_matrix`` or ``mps`` (tests, benchmarks); ``None`` chooses automatically:
            wider than ``STATEVECTOR_MAX_QUBITS`` (or beyond the memory limit), a non-Clifford
            circuit runs as a matrix-product state, ideal or noisy.
        mps_limits: The bond-dimension cap, the truncation allowed and the time budget of
            matrix-product-state runs (:class:`~ionstack.quantum.engines.mps.Limits`).
        max_outcomes: Cap on the entries of an exact probability dictionary (largest kept;
            ties at the cut keep the higher outcomes).

    Returns:
        The frozen :class:`RunResult`; keys little-endian (qubit 0 least significant).

    Raises:
        JobFailure: ``SimulationError`` when the memory estimate exceeds the limit (before
            anything large is allocated), when a matrix-product state would take longer
            than ``mps_limits.max_seconds`` (before it starts) or its truncation discards
            more than ``mps_limits.max_discarded`` (as soon as it does); ``UnsupportedGate``
            for native gates of the wrong family; ``CompilationError``.
        ValueError: invalid ``shots`` or an impossible forced ``method``.
    """
    _check_shots(shots)
    check = check or _noop
    threads = threads or memory.cores()
    limit = memory_limit_bytes if memory_limit_bytes is not None else memory.LazyLimit()
    check()
    ideal = noise is None or noise.is_ideal
    if ideal and _is_small(circuit.qubits, shots, method):
        if noise is not None:
            check_family(circuit, noise.native_2q)
        return _small_ideal(circuit, shots=shots, seed=seed, max_outcomes=max_outcomes)
    memory.tune_allocator()
    plan = _plan(
        circuit,
        shots=shots,
        noise=noise,
        seed=seed,
        threads=threads,
        limit=limit,
        check=check,
        method=method,
        max_outcomes=max_outcomes,
        limits=mps_limits or mps.Limits(),
    )
    memory.guard(plan.footprint, limit, circuit.qubits)
    with budget.reserve(plan.footprint.peak, check=check):  # the host's, shared by its workers
        return plan.execute()

"""Planning of the ideal paths: the lean numpy path for narrow circuits, the state vector
(numpy or qsim, in segments), stim for Clifford circuits, and the hand-over to a
matrix-product state (:mod:`.plans_mps`) for wide or memory-bound circuits.

Called by :mod:`ionstack.quantum.simulate`, which documents the engine choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ionstack.errors import JobFailure
from ionstack.quantum import memory, sampling
from ionstack.quantum.circuit import Circuit
from ionstack.quantum.engines import Op, mps, qsim, stabilizer, statevector
from ionstack.quantum.plan import (
    NUMPY_MAX_QUBITS,
    QSIM_SEGMENT_GATES,
    STABILIZER_MIN_QUBITS,
    STATEVECTOR_MAX_QUBITS,
    Method,
    RunResult,
    _from_ints,
    _ops,
    _Plan,
    _sampled,
)
from ionstack.quantum.plans_mps import _plan_mps_ideal


def _engine_state(
    n: int,
    ops: Sequence[Op],
    *,
    threads: int,
    check: Callable[[], None],
) -> tuple[np.ndarray, str]:
    if n <= NUMPY_MAX_QUBITS:
        return statevector.simulate(n, ops), "numpy-complex128"
    state = None
    for start in range(0, max(1, len(ops)), QSIM_SEGMENT_GATES):
        state = qsim.simulate(
            n, ops[start : start + QSIM_SEGMENT_GATES], threads=threads, initial=state
        )
        check()
    assert state is not None
    return state, "qsim-complex64"


def _plan_stabilizer_ideal(
    circuit: Circuit,
    stim_circuit: Any,
    *,
    shots: int | None,
    seed: int,
    max_outcomes: int | None,
) -> _Plan:
    n = circuit.qubits
    x0, gens = stabilizer.support(n, stim_circuit) if shots is None else (0, [])
    outcomes = 2.0 ** len(gens) if max_outcomes is None else min(2.0 ** len(gens), max_outcomes)
    fp = memory.stim_footprint(
        n, outcomes=outcomes, shots=shots, ops=len(circuit.gates), noisy=False
    )

    def execute() -> RunResult:
        if shots is None:
            probs, truncated = stabilizer.from_support(n, x0, gens, max_outcomes=max_outcomes)
            return RunResult(
                probabilities=probs,
                histogram=None,
                samples=None,
                method="stabilizer",
                qubits=n,
                engine="stim",
                truncated=truncated,
            )
        bits = stabilizer.sample(n, stim_circuit, shots, sampling.derive_seed(seed, "stim"))
        return _from_ints(sampling.bits_to_ints(bits), shots, method="stabilizer", n=n)

    return _Plan(fp, execute)


def _small_ideal(
    circuit: Circuit, *, shots: int | None, seed: int, max_outcomes: int | None
) -> RunResult:
    """The numpy path for narrow circuits, kept lean: its cost is per-call overhead."""
    n = circuit.qubits
    psi = statevector.simulate(n, _ops(circuit))
    probs = psi.real * psi.real + psi.imag * psi.imag
    if shots is None:
        exact, truncated = sampling.probability_dict(
            sampling.Distribution(probs=probs), max_outcomes=max_outcomes
        )
        return RunResult(
            probabilities=exact,
            histogram=None,
            samples=None,
            method="statevector",
            qubits=n,
            engine="numpy-complex128",
            truncated=truncated,
        )
    samples, hist = sampling.sample_small(probs, shots, sampling.derive_rng(seed, "shots"))
    return RunResult(
        probabilities=sampling.frequencies(hist, shots),
        histogram=hist,
        samples=samples.tolist(),
        method="statevector",
        qubits=n,
        engine="numpy-complex128",
    )


def _resolved(limit: int) -> int:
    return memory.available_memory() if isinstance(limit, memory.LazyLimit) else limit


def _is_small(n: int, shots: int | None, method: Method | None) -> bool:
    return n <= NUMPY_MAX_QUBITS and method in (None, "statevector") and (shots or 0) < 1 << 22


def _plan_ideal(
    circuit: Circuit,
    *,
    shots: int | None,
    seed: int,
    threads: int,
    limit: int,
    check: Callable[[], None],
    method: Method | None,
    max_outcomes: int | None,
    limits: mps.Limits,
) -> _Plan:
    n = circuit.qubits
    sv = memory.statevector_footprint(
        n,
        len(circuit.gates),
        shots=shots,
        max_outcomes=max_outcomes,
        threads=threads,
        segmented=len(circuit.gates) > QSIM_SEGMENT_GATES,
    )
    wants_stim = method == "stabilizer" or (
        method is None and (n >= STABILIZER_MIN_QUBITS or sv.peak > limit)
    )
    if wants_stim:
        stim_circuit = stabilizer.to_stim(n, _ops(circuit))
        if stim_circuit is not None:
            return _plan_stabilizer_ideal(
                circuit, stim_circuit, shots=shots, seed=seed, max_outcomes=max_outcomes
            )
        if method == "stabilizer":
            raise ValueError("method 'stabilizer' needs a Clifford circuit")
    if method == "mps" or (method is None and (n > STATEVECTOR_MAX_QUBITS or sv.peak > limit)):
        # sampled: an exact MPS first; then a state vector that fits; then an MPS that may
        # truncate. Exact probabilities: a state vector that fits (its largest outcomes are
        # exactly the largest; an MPS enumerates the likeliest it finds), else an MPS.
        fits = method is None and sv.peak <= _resolved(limit)
        if not (fits and shots is None):
            try:
                return _plan_mps_ideal(
                    circuit,
                    shots=shots,
                    seed=seed,
                    check=check,
                    max_outcomes=max_outcomes,
                    limits=limits,
                    exact_only=fits,
                )
            except JobFailure:
                if not fits:
                    raise
    if n <= NUMPY_MAX_QUBITS:  # the numpy engine, forced or for very many shots
        sv = memory.small_footprint(n, shots=shots, max_outcomes=max_outcomes)

    def execute() -> RunResult:
        ops = _ops(circuit, max_targets=None if n <= NUMPY_MAX_QUBITS else qsim.MAX_TARGETS)
        state, engine = _engine_state(n, ops, threads=threads, check=check)
        dist = sampling.Distribution(state=state, threads=threads)
        if shots is None:
            probs, truncated = sampling.probability_dict(dist, max_outcomes=max_outcomes)
            return RunResult(
                probabilities=probs,
                histogram=None,
                samples=None,
                method="statevector",
                qubits=n,
                engine=engine,
                truncated=truncated,
            )
        samples, hist = sampling.sample(dist, shots, sampling.derive_rng(seed, "shots"))
        return _sampled(samples, hist, shots, method="statevector", n=n, engine=engine)

    return _Plan(sv, execute)

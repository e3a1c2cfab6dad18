"""Planning of the noisy paths: the circuit compiled to the model's native gates, then
stim (wide Clifford circuits, device models included), a matrix-product state
(:mod:`.plans_mps`), an exact density matrix, or state-vector trajectories (error-pattern
grouping).

Called by :mod:`ionstack.quantum.simulate`, which documents the engine choice.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ionstack.errors import JobFailure
from ionstack.quantum import device, memory, sampling
from ionstack.quantum import gates as G
from ionstack.quantum.circuit import Circuit
from ionstack.quantum.compile import check_family, compile_native
from ionstack.quantum.engines import density, mps, qsim, stabilizer, statevector, trajectories
from ionstack.quantum.noise import NoiseModel
from ionstack.quantum.plan import (
    CHECKPOINT_BYTES,
    DENSITY_MAX_QUBITS,
    NUMPY_MAX_QUBITS_NOISY,
    STABILIZER_MIN_QUBITS,
    STATEVECTOR_MAX_QUBITS,
    Method,
    RunResult,
    _from_ints,
    _Plan,
    _sampled,
)
from ionstack.quantum.plans_mps import _plan_mps_noisy


def _native_gates(circuit: Circuit, model: NoiseModel) -> Circuit:
    family = model.native_2q or "ms"
    check_family(circuit, model.native_2q)
    return compile_native(circuit, family=family, drop_final_z=True)


def _choose_noisy(n: int, gates: int, shots: int, method: Method | None) -> Method:
    if method is not None:
        return method
    # Density matrix: cost ~ gates·4ⁿ per job; trajectories: ~ gates·2ⁿ per distinct pattern,
    # and a job has up to `shots` patterns. Prefer the density matrix when 2ⁿ ≪ shots.
    if n <= DENSITY_MAX_QUBITS and (1 << n) * 8 <= shots:
        return "density_matrix"
    return "trajectories"


def _trajectory_apply(n: int, threads: int) -> tuple[trajectories.Apply, str]:
    if n <= NUMPY_MAX_QUBITS_NOISY:
        return (lambda w, ops, init: statevector.simulate(w, ops, initial=init), "numpy-complex128")
    return (
        lambda w, ops, init: qsim.simulate(w, ops, threads=threads, fuse=2, initial=init),
        "qsim-complex64",
    )


def _plan_trajectories(
    n: int,
    gates: list[tuple[tuple[int, ...], np.ndarray]],
    model: NoiseModel,
    *,
    shots: int,
    seed: int,
    threads: int,
    limit: int,
    check: Callable[[], None],
    locs: list[device.Location] | None = None,
) -> _Plan:
    """Error patterns are drawn first (cheap), so the estimate counts the checkpoint states
    the evaluation will actually hold. ``locs``: a device model's error locations (``gates``
    are then their matrices)."""
    numpy_engine = n <= NUMPY_MAX_QUBITS_NOISY
    state_bytes = (16 if numpy_engine else 8) * 2.0**n
    fixed = None
    if locs is None:
        probs = np.array([model.error_probability(len(q)) for q, _ in gates], dtype=np.float64)
        kinds = np.array([3 if len(q) == 1 else 15 for q, _ in gates], dtype=np.int64)
    else:
        probs = np.array([loc.prob for loc in locs], dtype=np.float64)
        kinds = np.array([loc.kind for loc in locs], dtype=np.int64)
        fixed = np.array([loc.pauli for loc in locs], dtype=np.int64)
    patterns, group = trajectories.draw_patterns(
        probs, kinds, shots, sampling.derive_rng(seed, "patterns"), fixed=fixed
    )
    program = trajectories.Program.from_gates(n, gates)
    apply, engine = _trajectory_apply(n, threads)
    budget = max(0.0, min(CHECKPOINT_BYTES, limit - 4 * state_bytes))
    max_checkpoints = max(1, int(budget // state_bytes))
    held = trajectories.peak_states(program, patterns, max_checkpoints)
    size = 2.0**n
    # the numpy engine's gathers add two states' temporaries; sampling runs on one thread
    peak = (
        memory.BASE_BYTES
        + len(gates) * memory.TRAJECTORY_GATE_BYTES
        + (held + (2 if numpy_engine else 0)) * state_bytes
        + memory.sampling_bytes(size, shots, 1)
        + shots * 8 * 4  # per-shot pattern groups, their order and the outcomes
    )
    fp = memory.Footprint(
        method="trajectories", engine=engine, state=state_bytes, peak=peak, what="noisy simulation"
    )

    def execute() -> RunResult:
        rng = sampling.derive_rng(seed, "outcomes")
        samples = trajectories.evaluate(
            program,
            patterns,
            group,
            apply=apply,
            check=check,
            sample=lambda psi, k: sampling.sample(sampling.Distribution(state=psi), k, rng)[0],
            max_checkpoints=max_checkpoints,
        )
        return _sampled(
            samples, sampling.histogram(samples), shots, method="trajectories", n=n, engine=engine
        )

    return _Plan(fp, execute)


def _plan_density(
    n: int,
    gates: list[tuple[tuple[int, ...], np.ndarray]],
    model: NoiseModel,
    *,
    shots: int,
    seed: int,
    check: Callable[[], None],
    locs: list[device.Location] | None = None,
) -> _Plan:
    """ρ (complex128, 16·4ⁿ bytes), updated in place piece by piece."""
    rho = 16 * 4.0**n
    pieces = 2 * 16 * min(statevector.PIECE, 4.0**n)  # a piece's copy and its product
    peak = (
        memory.BASE_BYTES
        + len(gates) * memory.DENSITY_GATE_BYTES
        + rho
        + pieces
        + 16 * 2.0**n  # diag(ρ) and its clipped copy
        + memory.sampling_bytes(2.0**n, shots, 1)
    )
    fp = memory.Footprint(
        method="density_matrix",
        engine="numpy-complex128",
        state=rho,
        peak=peak,
        what="density matrix",
    )

    def execute() -> RunResult:
        rated: list[tuple[tuple[int, ...], np.ndarray, float | np.ndarray]] = (
            [(q, m, model.p1q if len(q) == 1 else model.p2q) for q, m in gates]
            if locs is None
            else [(loc.qubits, loc.matrix, _channel(loc)) for loc in locs]
        )
        probs = density.probabilities(n, rated, check=check)
        samples, hist = sampling.sample(
            sampling.Distribution(probs=probs), shots, sampling.derive_rng(seed, "shots")
        )
        return _sampled(
            samples, hist, shots, method="density_matrix", n=n, engine="numpy-complex128"
        )

    return _Plan(fp, execute)


def _plan_noisy(
    circuit: Circuit,
    model: NoiseModel,
    *,
    shots: int | None,
    seed: int,
    threads: int,
    limit: int,
    check: Callable[[], None],
    method: Method | None,
    limits: mps.Limits,
) -> _Plan:
    if shots is None:
        raise ValueError("a noisy simulation samples shots; shots=None is ideal-only")
    native = _native_gates(circuit, model)
    n = native.qubits
    locs = device.locations(model, native) if isinstance(model, device.DeviceModel) else None
    if locs is None:
        gates = [(g.targets, G.base_matrix(g, "native")) for g in native.gates if g.name != "nop"]
    else:
        gates = [(loc.qubits, loc.matrix) for loc in locs]
    if method == "stabilizer" or (method is None and n >= STABILIZER_MIN_QUBITS):
        device_stim = device.stim_circuit(locs) if locs is not None else None
        if device_stim is not None:

            def execute_device() -> RunResult:
                bits = stabilizer.sample(n, device_stim, shots, sampling.derive_seed(seed, "stim"))
                return _from_ints(sampling.bits_to_ints(bits), shots, method="stabilizer", n=n)

            fp = memory.stim_footprint(n, outcomes=0, shots=shots, ops=len(gates), noisy=True)
            return _Plan(fp, execute_device)
        locals_ = [stabilizer.gate_circuit(q, (), m) for q, m in gates] if locs is None else [None]
        if all(c is not None for c in locals_):
            noisy = stabilizer.noisy_circuit(
                [(q, c) for (q, _), c in zip(gates, locals_, strict=True) if c is not None],
                model.p1q,
                model.p2q,
            )

            def execute() -> RunResult:
                bits = stabilizer.sample(n, noisy, shots, sampling.derive_seed(seed, "stim"))
                return _from_ints(sampling.bits_to_ints(bits), shots, method="stabilizer", n=n)

            fp = memory.stim_footprint(n, outcomes=0, shots=shots, ops=len(gates), noisy=True)
            return _Plan(fp, execute)
        if method == "stabilizer":
            raise ValueError("method 'stabilizer' needs a Clifford circuit")
    if method == "mps" or (method is None and n > STATEVECTOR_MAX_QUBITS):
        # up to 31 qubits (the widest state vector 24 GiB holds), an MPS that might truncate
        # gives way to state-vector trajectories, if the memory guard lets them run
        vector = method is None and n <= STATEVECTOR_MAX_QUBITS + 2
        try:
            return _plan_mps_noisy(
                n,
                gates,
                model,
                shots=shots,
                seed=seed,
                check=check,
                limits=limits,
                exact_only=vector,
                locs=locs,
            )
        except JobFailure:
            if not vector:
                raise
    chosen = _choose_noisy(n, len(gates), shots, method)
    if chosen == "density_matrix":
        return _plan_density(n, gates, model, shots=shots, seed=seed, check=check, locs=locs)
    return _plan_trajectories(
        n,
        gates,
        model,
        shots=shots,
        seed=seed,
        threads=threads,
        limit=limit,
        check=check,
        locs=locs,
    )


def _channel(loc: device.Location) -> float | np.ndarray:
    """A device location's channel for the density matrix: a depolarizing rate or a
    superoperator."""
    if loc.kind == 1:
        return device.pauli_superop(loc.pauli, loc.prob)
    return loc.prob * (4 / 3 if loc.kind == 3 else 16 / 15)

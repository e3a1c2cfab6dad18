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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from ionstack.errors import JobFailure
from ionstack.quantum import budget, device, memory, sampling, width
from ionstack.quantum import gates as G
from ionstack.quantum.circuit import Circuit
from ionstack.quantum.compile import check_family, compile_native
from ionstack.quantum.engines import (
    Op,
    density,
    mps,
    qsim,
    stabilizer,
    statevector,
    trajectories,
)
from ionstack.quantum.noise import NoiseModel
from ionstack.quantum.synthesis import lower_gate

Method = Literal["statevector", "stabilizer", "trajectories", "density_matrix", "mps"]

#: Widest ideal circuit run by the numpy engine (per-call overhead wins below, qsim above).
NUMPY_MAX_QUBITS = 10
#: Widest noisy circuit whose trajectories use the numpy engine.
NUMPY_MAX_QUBITS_NOISY = 6
#: Clifford circuits at least this wide go to stim automatically.
STABILIZER_MIN_QUBITS = 25
#: Widest noisy circuit considered for the exact density-matrix method.
DENSITY_MAX_QUBITS = 7
#: Default cap on the number of entries of an exact probability dictionary.
DEFAULT_MAX_OUTCOMES = 1 << 20
#: Memory for ideal checkpoints in the trajectory method.
CHECKPOINT_BYTES = 256 << 20
#: Ideal qsim runs longer than this many gates are split so ``check`` runs in between.
QSIM_SEGMENT_GATES = 4000
#: Wider non-Clifford circuits run as matrix-product states (issue 16 §4; IonQ's simulator
#: runs 29 qubits), or on a state vector if the MPS cannot and the vector fits.
STATEVECTOR_MAX_QUBITS = 29
#: Memory for the prefixes of an exact MPS answer (:meth:`mps.MPS.largest`).
MPS_ENUM_BYTES = 256 << 20


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResult:
    """One simulation's outcome (keys little-endian, qubit 0 least significant).

    Attributes:
        probabilities: Exact ``|amp|²`` (ideal, ``shots=None``; entries < 1e-12 dropped) or
            ``counts/shots`` (sampled). Ascending keys. Exact answers are a
            :class:`~ionstack.quantum.sampling.Probabilities` (two arrays, read as a mapping);
            sampled ones a ``dict``.
        histogram: Counts per outcome when sampled, else ``None``.
        samples: Per-shot outcomes in execution order when sampled, else ``None``.
        method: ``statevector``, ``stabilizer``, ``trajectories`` or ``density_matrix``.
        qubits: Circuit width.
        engine: The library path used (``numpy-complex128``, ``qsim-complex64``, ``stim``).
        truncated: The exact dictionary was capped at ``max_outcomes`` entries.
        simulated_qubits: The width the engine ran: the qubits some gate touches
            (:mod:`~ionstack.quantum.width`); 0 until :func:`run` sets it.
        discarded_weight: Matrix-product-state runs: the norm² the bond-dimension cap
            discarded (summed over truncations; per shot, the largest), else ``None``.
        max_bond: Matrix-product-state runs: the largest bond dimension reached.
    """

    probabilities: Mapping[int, float]
    histogram: dict[int, int] | None
    samples: list[int] | None
    method: str
    qubits: int
    engine: str
    truncated: bool = False
    simulated_qubits: int = 0
    discarded_weight: float | None = None
    max_bond: int | None = None


def _noop() -> None:
    return None


# --------------------------------------------------------------------------- ops


def _ir_op(op: tuple[Any, ...]) -> Op:
    if op[0] == "u":
        return (op[1],), (), op[2]
    if op[0] == "cx":
        return (op[2],), (op[1],), G.PAULI_X
    return (op[1], op[2]), (), G.native_zz_matrix(op[3])


def _ops(
    circuit: Circuit, *, max_targets: int | None = None, max_qubits: int | None = None
) -> list[Op]:
    """Engine ops; gates with more than ``max_targets`` targets or ``max_qubits`` qubits
    (controls included) are lowered exactly (global phase dropped).

    Raises:
        JobFailure: ``CompilationError`` naming the gate when a wide gate cannot be lowered
            (as :func:`~ionstack.quantum.compile.compile_native` does).
    """
    out: list[Op] = []
    for i, g in enumerate(circuit.gates):
        if g.name == "nop":
            continue
        if (max_targets is not None and len(g.targets) > max_targets) or (
            max_qubits is not None and len(g.qubits) > max_qubits
        ):
            try:
                lowered = lower_gate(g)
            except (ValueError, np.linalg.LinAlgError) as exc:
                raise JobFailure("CompilationError", f"input.circuit[{i}]: {exc}") from exc
            out.extend(_ir_op(op) for op in lowered.ops)
        else:
            out.append((g.targets, g.controls, G.base_matrix(g, circuit.gateset)))
    return out


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


# --------------------------------------------------------------------------- results


def _sampled(
    samples: np.ndarray, hist: dict[int, int], shots: int, *, method: str, n: int, engine: str
) -> RunResult:
    return RunResult(
        probabilities=sampling.frequencies(hist, shots),
        histogram=hist,
        samples=samples.tolist(),
        method=method,
        qubits=n,
        engine=engine,
    )


def _from_ints(values: list[int], shots: int, *, method: str, n: int) -> RunResult:
    hist: dict[int, int] = {}
    for v in values:
        hist[v] = hist.get(v, 0) + 1
    hist = dict(sorted(hist.items()))
    return RunResult(
        probabilities=sampling.frequencies(hist, shots),
        histogram=hist,
        samples=values,
        method=method,
        qubits=n,
        engine="stim",
    )


def _check_shots(shots: int | None) -> None:
    if shots is not None and (isinstance(shots, bool) or shots < 1):
        raise ValueError(f"shots must be ≥ 1 or None, got {shots!r}")


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True, slots=True)
class _Plan:
    """A run prepared up to its first large allocation: its footprint, then the rest."""

    footprint: memory.Footprint
    execute: Callable[[], RunResult]


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


# --------------------------------------------------------------------------- noisy


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


# --------------------------------------------------------------------------- mps


def _too_entangled(n: int, exc: mps.TooEntangled, limits: mps.Limits) -> JobFailure:
    return JobFailure(
        "SimulationError",
        f"the {n}-qubit circuit is too entangled for a matrix-product state: with bond "
        f"dimension capped at {limits.max_bond}, truncation discarded {exc.discarded:.3g} of "
        f"the state (allowed: {limits.max_discarded:g})",
    )


def _mps_cost(
    n: int, ops: Sequence[Op], limits: mps.Limits, repeats: float, *, exact_only: bool = False
) -> list[float]:
    """A-priori bond bounds (log₂) of ``ops``; fails if the run would take too long, or, with
    ``exact_only`` (a state vector can run it instead), if the cap might truncate."""
    bounds = mps.bond_bounds(n, ops)
    if exact_only and 2.0 ** max(bounds, default=0.0) > limits.max_bond:
        raise JobFailure("SimulationError", "the bond-dimension cap might truncate")
    took = repeats * mps.seconds(mps.work(n, ops, limits.max_bond), len(ops))
    if took > limits.max_seconds:
        widest = max(bounds, default=0.0)
        raise JobFailure(
            "SimulationError",
            f"the {n}-qubit circuit is too entangled to simulate: a state vector needs "
            f"2^{n} amplitudes and a matrix-product state bond dimensions up to 2^{widest:.0f} "
            f"(capped at {limits.max_bond}), about {took:.3g} s (limit {limits.max_seconds:g} s)",
        )
    return bounds


def _mps_footprint(
    n: int, bounds: list[float], limits: mps.Limits, *, states: float, answer: float
) -> memory.Footprint:
    chi = min(2.0 ** max(bounds, default=0.0), limits.max_bond)
    state = mps.state_bytes(n, limits.max_bond, bounds)
    svd = 16 * 8 * (2 * chi) ** 2  # θ, its SVD factors and the updated pair
    peak = memory.BASE_BYTES + states * state + svd + answer
    return memory.Footprint(
        method="mps", engine="numpy-mps", state=state, peak=peak, what="matrix-product state"
    )


def _mps_result(result: RunResult, states: Sequence[mps.MPS]) -> RunResult:
    """With the largest discarded weight and bond dimension of the states sampled."""
    return replace(
        result,
        discarded_weight=max((s.discarded for s in states), default=0.0),
        max_bond=max((s.peak_bond for s in states), default=1),
    )


def _plan_mps_ideal(
    circuit: Circuit,
    *,
    shots: int | None,
    seed: int,
    check: Callable[[], None],
    max_outcomes: int | None,
    limits: mps.Limits,
    exact_only: bool = False,
) -> _Plan:
    n = circuit.qubits
    ops = _ops(circuit, max_qubits=2)
    bounds = _mps_cost(n, ops, limits, 1.0, exact_only=exact_only)
    chi = min(2.0 ** max(bounds, default=0.0), limits.max_bond)
    if shots is None:
        cap = max(1024, int(MPS_ENUM_BYTES // (3 * 2 * 16 * chi)))
        keep = cap if max_outcomes is None else min(cap, max_outcomes)
        answer = min(2.0**n, keep) * (3 * 2 * 16 * chi + 32)
    else:
        answer = shots * (3 * 16 * chi + memory.SHOT_BYTES + memory.OUTCOME_BYTES + 8 * n)
    fp = _mps_footprint(n, bounds, limits, states=1, answer=answer)

    def execute() -> RunResult:
        try:
            state = mps.simulate(
                n, ops, max_bond=limits.max_bond, max_discarded=limits.max_discarded, check=check
            )
        except mps.TooEntangled as exc:
            raise _too_entangled(n, exc, limits) from exc
        if shots is None:
            keys, probs, truncated = state.largest(keep)
            result = RunResult(
                probabilities=sampling.Probabilities(keys, probs),
                histogram=None,
                samples=None,
                method="mps",
                qubits=n,
                engine="numpy-mps",
                truncated=truncated,
            )
        else:
            samples = state.sample(shots, sampling.derive_rng(seed, "shots"))
            result = _sampled(
                samples, sampling.histogram(samples), shots, method="mps", n=n, engine="numpy-mps"
            )
        return _mps_result(result, [state])

    return _Plan(fp, execute)


def _plan_mps_noisy(
    n: int,
    gates: list[tuple[tuple[int, ...], np.ndarray]],
    model: NoiseModel,
    *,
    shots: int,
    seed: int,
    check: Callable[[], None],
    limits: mps.Limits,
    exact_only: bool = False,
    locs: list[device.Location] | None = None,
) -> _Plan:
    """Error-pattern grouping (:mod:`.engines.trajectories`) on matrix-product states: each
    distinct pattern continues the last ideal checkpoint before its first error. ``locs``: a
    device model's error locations (``gates`` are then their matrices)."""
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
    ideal = program.ops(0, ())
    nblocks = max(1, len(program.blocks))
    # checkpoints within CHECKPOINT_BYTES (as state-vector trajectories), counted as full
    # states though copies share the tensors no gate has replaced since
    state = mps.state_bytes(n, limits.max_bond, mps.bond_bounds(n, ideal))
    max_checkpoints = max(1, min(nblocks, int(CHECKPOINT_BYTES // state)))
    first = trajectories.starts(program, patterns, max_checkpoints)
    repeats = 1.0 + sum(1 - f / nblocks for f in first)
    bounds = _mps_cost(n, ideal, limits, repeats, exact_only=exact_only)
    chi = min(2.0 ** max(bounds, default=0.0), limits.max_bond)
    held = trajectories.peak_states(program, patterns, max_checkpoints)
    answer = shots * (memory.SHOT_BYTES + memory.OUTCOME_BYTES + 8 * 4) + 3 * 16 * chi * shots
    fp = _mps_footprint(n, bounds, limits, states=held + 1, answer=answer)
    worst: list[mps.MPS] = []  # the most truncated state sampled so far, and the widest

    def apply(w: int, ops: Sequence[Op], init: Any) -> Any:
        return mps.simulate(
            w,
            ops,
            max_bond=limits.max_bond,
            max_discarded=limits.max_discarded,
            initial=init,
            check=check,
        )

    rng = sampling.derive_rng(seed, "outcomes")

    def sample(psi: Any, k: int) -> np.ndarray:
        worst[:] = [
            max([*worst, psi], key=lambda s: s.discarded),
            max([*worst, psi], key=lambda s: s.peak_bond),
        ]
        out: np.ndarray = psi.sample(k, rng)
        return out

    def execute() -> RunResult:
        try:
            samples = trajectories.evaluate(
                program,
                patterns,
                group,
                apply=apply,
                check=check,
                sample=sample,
                max_checkpoints=max_checkpoints,
            )
        except mps.TooEntangled as exc:
            raise _too_entangled(n, exc, limits) from exc
        result = _sampled(
            samples, sampling.histogram(samples), shots, method="mps", n=n, engine="numpy-mps"
        )
        return _mps_result(result, worst)

    return _Plan(fp, execute)


def _channel(loc: device.Location) -> float | np.ndarray:
    """A device location's channel for the density matrix: a depolarizing rate or a
    superoperator."""
    if loc.kind == 1:
        return device.pauli_superop(loc.pauli, loc.prob)
    return loc.prob * (4 / 3 if loc.kind == 3 else 16 / 15)


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

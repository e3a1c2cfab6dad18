"""Planning of the matrix-product-state paths (issue 16 §4): the a-priori cost check against
the time budget, the footprint, and the ideal and noisy (error patterns on MPS checkpoints)
runs.

Called by :mod:`.plans_ideal` and :mod:`.plans_noisy` when a circuit is too wide (or too large)
for a state vector.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ionstack.errors import JobFailure
from ionstack.quantum import device, memory, sampling
from ionstack.quantum.circuit import Circuit
from ionstack.quantum.engines import Op, mps, trajectories
from ionstack.quantum.noise import NoiseModel
from ionstack.quantum.plan import (
    CHECKPOINT_BYTES,
    MPS_ENUM_BYTES,
    RunResult,
    _ops,
    _Plan,
    _sampled,
)


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

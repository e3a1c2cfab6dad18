"""Forte-width emulation (issue 16 §4): matrix-product states against the exact state vector,
36-qubit circuits against analytic answers (GHZ on stim, a product-then-CNOT-chain circuit
with T gates on MPS), truncation reported, and circuits beyond every method failing cleanly
before they run."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from qhelpers import dense, qis, random_qis

from ionstack.errors import JobFailure
from ionstack.quantum import debias, plans_ideal, plans_noisy
from ionstack.quantum.engines import mps, statevector
from ionstack.quantum.noise import noise_model
from ionstack.quantum.simulate import _ops, footprint, run

N = 36
ALL = (1 << N) - 1


def _vector(state: mps.MPS) -> np.ndarray:
    """The MPS contracted to a little-endian state vector."""
    v = np.ones((1, 1), dtype=np.complex128)
    for t in state.tensors:
        v = np.einsum("al,lsr->asr", v, t).reshape(-1, t.shape[2])
    n = state.n
    return v.reshape([2] * n).transpose(list(range(n))[::-1]).reshape(-1)


@pytest.mark.parametrize(("n", "depth"), [(12, 4), (16, 3), (20, 2)])
def test_mps_equals_the_state_vector_at_full_bond_dimension(n: int, depth: int) -> None:
    # random_qis has Toffolis and pauliexp on random, non-neighbouring qubits: lowered to
    # two-qubit ops and brought together with SWAPs
    ops = _ops(qis(random_qis(n, depth, seed=n), qubits=n), max_qubits=2)
    psi = statevector.simulate(n, ops)
    state = mps.simulate(n, ops, max_bond=1 << (n // 2), max_discarded=0.0)
    fidelity = abs(np.vdot(_vector(state), psi)) ** 2
    assert fidelity >= 1 - 1e-6
    assert state.discarded == 0.0
    # the a-priori bounds hold: no bond exceeds 2^bound
    bounds = mps.bond_bounds(n, ops)
    assert all(b <= 2 ** (x + 1e-9) for b, x in zip(state.bonds(), bounds, strict=True))


def test_mps_answers_equal_the_state_vector_answers() -> None:
    c = qis(random_qis(12, 4, seed=5), qubits=12)
    exact = run(c, shots=None, noise=None, seed=0)
    got = run(c, shots=None, noise=None, seed=0, method="mps")
    assert (got.method, got.engine, got.discarded_weight) == ("mps", "numpy-mps", 0.0)
    assert (
        np.abs(dense(dict(got.probabilities), 12) - dense(dict(exact.probabilities), 12)).max()
        < 1e-6  # the state vector ran on qsim, complex64
    )
    # sampled: the exact conditionals, so the histogram matches the probabilities
    shots = 20000
    sampled = run(c, shots=shots, noise=None, seed=3, method="mps")
    assert sampled.histogram is not None
    p = dense(dict(exact.probabilities), 12)
    freq = dense({k: v / shots for k, v in sampled.histogram.items()}, 12)
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / shots) + 2 / shots)


def test_truncation_is_reported_and_bounds_the_infidelity() -> None:
    n = 12
    ops = _ops(qis(random_qis(n, 4, seed=2), qubits=n), max_qubits=2)
    psi = statevector.simulate(n, ops)
    state = mps.simulate(n, ops, max_bond=16, max_discarded=1.0)
    assert max(state.bonds()) == state.peak_bond == 16
    infidelity = 1 - abs(np.vdot(_vector(state), psi)) ** 2
    assert infidelity > 1e-3  # the cap did cut
    assert state.discarded == pytest.approx(infidelity, rel=0.5)
    c = qis(random_qis(n, 4, seed=2), qubits=n)
    limits = mps.Limits(max_bond=16, max_discarded=1.0)
    r = run(c, shots=100, noise=None, seed=1, method="mps", mps_limits=limits)
    assert r.max_bond == 16 and r.discarded_weight == pytest.approx(state.discarded)


def test_truncation_beyond_the_allowed_weight_fails_naming_entanglement() -> None:
    c = qis(random_qis(12, 4, seed=2), qubits=12)
    limits = mps.Limits(max_bond=16, max_discarded=1e-3)
    with pytest.raises(JobFailure) as info:
        run(c, shots=100, noise=None, seed=1, method="mps", mps_limits=limits)
    assert info.value.code == "SimulationError"
    assert "too entangled for a matrix-product state" in info.value.message


def _ghz(n: int) -> list[dict[str, Any]]:
    return [{"gate": "h", "target": 0}] + [
        {"gate": "cnot", "control": i, "target": i + 1} for i in range(n - 1)
    ]


def test_ghz_36_exact_ideally_and_concentrated_under_forte_noise() -> None:
    ideal = run(qis(_ghz(N)), shots=None, noise=None, seed=0)
    assert dict(ideal.probabilities) == {0: 0.5, ALL: 0.5}
    noisy = run(qis(_ghz(N)), shots=1000, noise=noise_model("forte-1"), seed=4)
    assert (noisy.method, noisy.simulated_qubits) == ("stabilizer", N)
    assert noisy.histogram is not None
    ghz = noisy.histogram.get(0, 0) + noisy.histogram.get(ALL, 0)
    assert 0.75 < ghz / 1000 < 0.99  # forte-1: ≈ 35 ms gates at r₂ ≈ 0.5 %: some errors
    assert min(noisy.histogram.get(0, 0), noisy.histogram.get(ALL, 0)) > 300
    variants = debias.run_debiased(
        qis(_ghz(N)), shots=1000, noise=noise_model("forte-1"), seed=4, backend_qubits=N
    )
    assert {v.result.method for v in variants} == {"stabilizer"}
    average = debias.aggregate(variants, "average")
    assert 0.75 < average.get(0, 0) + average.get(ALL, 0) < 0.99
    assert set(debias.aggregate(variants, "sharpen")) <= {0, ALL}


#: Product state ry(θ_q)|0⟩, CNOT chain q → q+1, then T on every qubit (non-Clifford, so not
#: stim; bond dimension 2). Qubit k measures the parity of the first k+1 product bits:
#: P(odd) = (1 − Π_{q ≤ k} cos θ_q) / 2.
THETA = np.random.default_rng(36).uniform(0.3, 2.8, N)
CHAIN = qis(
    [{"gate": "ry", "target": q, "rotation": float(THETA[q])} for q in range(N)]
    + [{"gate": "cnot", "control": q, "target": q + 1} for q in range(N - 1)]
    + [{"gate": "t", "target": q} for q in range(N)]
)
ODD = (1 - np.cumprod(np.cos(THETA))) / 2


@pytest.mark.parametrize("model", [None, "forte-1"])
def test_t_chain_36_matches_the_analytic_parity_marginals(model: str | None) -> None:
    shots = 4000
    noise = noise_model(model) if model else None
    r = run(CHAIN, shots=shots, noise=noise, seed=8)
    assert (r.method, r.engine, r.simulated_qubits) == ("mps", "numpy-mps", N)
    assert r.discarded_weight == 0.0 and r.max_bond == 2
    bits = (np.asarray(r.samples, dtype=np.int64)[:, None] >> np.arange(N)) & 1
    got = bits.mean(axis=0)
    sigma = np.sqrt(ODD * (1 - ODD) / shots)
    # noise: a few erring gates per shot flip a parity with probability ≲ 2 % (forte-1)
    slack = 0.0 if model is None else 0.02
    assert np.all(np.abs(got - ODD) <= 5 * sigma + slack), np.abs(got - ODD).max()


def test_t_chain_36_exact_answer_is_the_largest_outcomes() -> None:
    # ry angles near 0 or π: a few outcomes carry almost all the weight
    theta = np.where(np.arange(N) % 2 == 0, 0.2, math.pi - 0.2)
    c = qis(
        [{"gate": "ry", "target": q, "rotation": float(theta[q])} for q in range(N)]
        + [{"gate": "cnot", "control": q, "target": q + 1} for q in range(N - 1)]
        + [{"gate": "t", "target": q} for q in range(N)]
    )
    r = run(c, shots=None, noise=None, seed=0, max_outcomes=1000)
    assert (r.method, r.truncated, len(r.probabilities)) == ("mps", True, 1000)
    # the most likely outcome: product bits b_q = (θ_q > π/2), read as prefix parities
    bits = (theta > math.pi / 2).astype(int)
    top = sum(int(b) << q for q, b in enumerate(np.cumsum(bits) % 2))
    best = max(r.probabilities.items(), key=lambda kv: kv[1])
    assert best[0] == top
    assert best[1] == pytest.approx(float(np.prod(np.cos(0.1) ** 2 * np.ones(N))), rel=1e-9)


def test_a_circuit_beyond_every_method_fails_before_it_runs() -> None:
    # 36 qubits, depth 30 of random rotations and CNOT bricks: not Clifford, bond dimension
    # bound 2^18 (capped at 256), far more work than the budget
    c = qis(random_qis(N, 30, seed=1), qubits=N)
    limits = mps.Limits(max_seconds=60)
    with pytest.raises(JobFailure) as info:
        footprint(c, shots=100, noise=noise_model("forte-1"), seed=1, mps_limits=limits)
    assert info.value.code == "SimulationError"
    assert "too entangled to simulate" in info.value.message
    assert "2^36 amplitudes" in info.value.message
    for noise in (None, noise_model("forte-1")):
        with pytest.raises(JobFailure) as info:
            run(c, shots=100, noise=noise, seed=1, mps_limits=limits)
        assert info.value.code == "SimulationError"


def test_wide_circuits_too_entangled_for_an_mps_fall_back_to_a_state_vector_that_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the same choice as past 29 qubits, at 14 (a 30-qubit state vector is 8 GiB)
    # (read where the ideal and the noisy paths are planned)
    monkeypatch.setattr(plans_ideal, "STATEVECTOR_MAX_QUBITS", 12)
    monkeypatch.setattr(plans_noisy, "STATEVECTOR_MAX_QUBITS", 12)
    low = qis([*_ghz(14), {"gate": "t", "target": 3}])
    assert run(low, shots=100, noise=None, seed=0).method == "mps"
    # exact probabilities: the state vector while it fits (its largest outcomes are exact)
    assert run(low, shots=None, noise=None, seed=0).method == "statevector"
    assert run(low, shots=50, noise=noise_model("forte-1"), seed=0).method == "mps"
    deep = qis(random_qis(14, 6, seed=3), qubits=14)
    tight = mps.Limits(max_seconds=1e-4)
    assert run(deep, shots=None, noise=None, seed=0, mps_limits=tight).method == "statevector"
    noisy = run(deep, shots=50, noise=noise_model("forte-1"), seed=0, mps_limits=tight)
    assert noisy.method == "trajectories"
    with pytest.raises(JobFailure) as info:  # and when the state vector does not fit either
        run(deep, shots=None, noise=None, seed=0, mps_limits=tight, memory_limit_bytes=1 << 20)
    assert "too entangled to simulate" in info.value.message
    # an MPS that the cap might truncate gives way to a state vector that fits; with none
    # fitting, it runs and reports what the cap discarded
    capped = mps.Limits(max_bond=4, max_discarded=100.0)  # (a sum over truncations)
    assert run(deep, shots=None, noise=None, seed=0, mps_limits=capped).method == "statevector"
    noisy = run(deep, shots=50, noise=noise_model("forte-1"), seed=0, mps_limits=capped)
    assert noisy.method == "trajectories"
    vector = int(footprint(deep, shots=50, noise=None, method="statevector").peak)
    small = run(
        deep, shots=50, noise=None, seed=0, mps_limits=capped, memory_limit_bytes=vector - 1
    )
    assert small.method == "mps" and small.max_bond == 4
    assert small.discarded_weight is not None and small.discarded_weight > 0.01

"""Simulator: ideal vs qiskit-aer, bit order, precision, noise vs exact density matrices,
seeded reproducibility, memory guard, stabilizer path."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qhelpers import aer_probabilities, dense, native, qis, random_qis, to_qiskit
from scipy import stats

from ionstack.errors import JobFailure
from ionstack.quantum import gates as G
from ionstack.quantum.compile import compile_native
from ionstack.quantum.engines import statevector, trajectories
from ionstack.quantum.noise import noise_model
from ionstack.quantum.simulate import RunResult, run

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]


def test_bell_ideal_probabilities() -> None:
    r = run(qis(BELL), shots=None, noise=None, seed=1)
    assert r.probabilities.keys() == {0, 3}
    assert r.probabilities[0] == pytest.approx(0.5, abs=1e-15)
    assert r.probabilities[3] == pytest.approx(0.5, abs=1e-15)
    assert (r.histogram, r.samples, r.method) == (None, None, "statevector")


@pytest.mark.parametrize(
    ("n", "qubit", "key", "method"),
    [
        pytest.param(2, 0, 1, None, id="x on q0 of 2 → 1"),
        pytest.param(2, 1, 2, None, id="x on q1 of 2 → 2 (little-endian)"),
        pytest.param(3, 2, 4, None, id="x on q2 of 3 → 4"),
        pytest.param(12, 11, 2048, None, id="qsim path"),
        pytest.param(40, 39, 1 << 39, None, id="stim path, 40 qubits"),
    ],
)
def test_result_keys_are_little_endian(n: int, qubit: int, key: int, method: Any) -> None:
    r = run(qis([{"gate": "x", "target": qubit}], qubits=n), shots=None, noise=None, seed=1)
    assert r.probabilities == pytest.approx({key: 1.0})
    shots = run(qis([{"gate": "x", "target": qubit}], qubits=n), shots=5, noise=None, seed=1)
    assert shots.samples == [key] * 5


@pytest.mark.parametrize(
    ("n", "tolerance", "engine"),
    [
        pytest.param(3, 1e-12, "numpy-complex128", id="3q numpy"),
        pytest.param(7, 1e-12, "numpy-complex128", id="7q numpy"),
        pytest.param(12, 1e-6, "qsim-complex64", id="12q qsim single precision within 1e-6"),
        pytest.param(15, 1e-6, "qsim-complex64", id="15q qsim single precision within 1e-6"),
    ],
)
def test_ideal_matches_qiskit_aer(n: int, tolerance: float, engine: str) -> None:
    c = qis(random_qis(n, 4, seed=n), qubits=n)
    r = run(c, shots=None, noise=None, seed=1)
    assert r.engine == engine
    exact = aer_probabilities(to_qiskit(c))
    assert np.max(np.abs(dense(r.probabilities, n) - exact * (exact >= 1e-12))) < tolerance


def test_wide_pauliexp_is_lowered_for_qsim() -> None:
    gate = {
        "gate": "pauliexp",
        "targets": [0, 3, 5, 7, 9, 11],
        "terms": ["XYZXYZ", "ZZIIXX"],
        "coefficients": [0.4, 0.9],
        "time": 0.6,
    }
    c = qis([{"gate": "h", "targets": list(range(12))}, gate], qubits=12)
    r = run(c, shots=None, noise=None, seed=1)
    exact = aer_probabilities(to_qiskit(c))
    assert np.max(np.abs(dense(r.probabilities, 12) - exact)) < 1e-6


def test_ideal_shots_follow_the_exact_distribution() -> None:
    c = qis(random_qis(4, 3, seed=9), qubits=4)
    exact = aer_probabilities(to_qiskit(c))
    r = run(c, shots=20000, noise=None, seed=123)
    assert r.histogram is not None and r.samples is not None and len(r.samples) == 20000
    assert sum(r.histogram.values()) == 20000
    assert r.probabilities == {k: v / 20000 for k, v in r.histogram.items()}
    observed = dense(r.histogram, 4)
    keep = exact > 0
    _, p = stats.chisquare(observed[keep], exact[keep] / exact[keep].sum() * 20000)
    assert p > 1e-3  # fixed seed: deterministic


def test_truncated_probabilities_keep_the_largest() -> None:
    c = qis([{"gate": "ry", "targets": [0, 1, 2, 3], "rotation": 1.0}], qubits=4)
    full = run(c, shots=None, noise=None, seed=1).probabilities
    top = run(c, shots=None, noise=None, seed=1, max_outcomes=3)
    assert top.truncated and len(top.probabilities) == 3
    assert set(top.probabilities) == set(sorted(full, key=full.__getitem__)[-3:])


# --------------------------------------------------------------------------- noise


def _aer_noisy_probabilities(c: Any, model: Any) -> np.ndarray:
    """Exact noisy distribution: Aer density matrix, depolarizing after each native gate."""
    from qiskit import QuantumCircuit
    from qiskit_aer.noise import depolarizing_error

    compiled = compile_native(c, family=model.native_2q, drop_final_z=True)
    qc = QuantumCircuit(c.qubits)
    for g in compiled.gates:
        qubits = list(reversed(g.targets))
        qc.unitary(G.gate_matrix(g, "native"), qubits)
        rate = model.p1q if len(qubits) == 1 else model.p2q
        qc.append(depolarizing_error(rate, len(qubits)).to_instruction(), qubits)
    return aer_probabilities(qc, method="density_matrix")


@pytest.mark.parametrize("model", ["aria-1", "forte-1", "harmony"])
def test_density_matrix_method_is_exact(model: str) -> None:
    c = qis(random_qis(4, 3, seed=4), qubits=4)
    exact = _aer_noisy_probabilities(c, noise_model(model))
    from ionstack.quantum.engines import density

    compiled = compile_native(c, family=noise_model(model).native_2q, drop_final_z=True)
    m = noise_model(model)
    gates = [
        (g.targets, G.gate_matrix(g, "native"), m.p1q if len(g.targets) == 1 else m.p2q)
        for g in compiled.gates
    ]
    assert np.max(np.abs(density.probabilities(4, gates, check=lambda: None) - exact)) < 1e-12


@pytest.mark.parametrize("method", ["trajectories", "density_matrix"])
def test_noisy_sampling_matches_exact_noisy_distribution(method: str) -> None:
    # Harmony rates: many distinct error patterns, so grouping is exercised hard.
    c = qis(random_qis(5, 3, seed=2), qubits=5)
    model = noise_model("harmony")
    exact = _aer_noisy_probabilities(c, model)
    shots = 20000
    r = run(c, shots=shots, noise=model, seed=2024, method=method)
    assert r.method == method
    observed = dense(r.histogram or {}, 5)
    _, p = stats.chisquare(observed, exact / exact.sum() * shots)
    assert p > 1e-3  # fixed seed: deterministic
    assert 0.5 * np.abs(observed / shots - exact).sum() < 0.03
    ideal = aer_probabilities(to_qiskit(c))
    assert 0.5 * np.abs(ideal - exact).sum() > 0.05  # the noise is visible at all


def test_error_insertion_in_fused_blocks_is_exact() -> None:
    c = compile_native(qis(random_qis(4, 3, seed=5), qubits=4), family="ms", drop_final_z=True)
    gates = [(g.targets, G.gate_matrix(g, "native")) for g in c.gates]
    program = trajectories.Program.from_gates(4, gates)
    arity = [len(q) for q, _ in gates]
    rng = np.random.default_rng(0)
    for _ in range(20):
        locs = sorted(rng.choice(len(gates), size=int(rng.integers(1, 4)), replace=False))
        pattern = tuple(
            (int(loc), int(rng.integers(1, 4 if arity[loc] == 1 else 16))) for loc in locs
        )
        direct: list[Any] = []
        for loc, (qubits, m) in enumerate(gates):
            direct.append((qubits, (), m))
            for where, pauli in pattern:
                if where == loc:
                    e = (
                        G.PAULIS["IXYZ"[pauli]]
                        if arity[loc] == 1
                        else np.kron(G.PAULIS["IXYZ"[pauli // 4]], G.PAULIS["IXYZ"[pauli % 4]])
                    )
                    direct.append((qubits, (), e))
        start = program.first_block(pattern)
        init = statevector.simulate(4, program.ops(0, (), start))
        fused = statevector.simulate(4, program.ops(start, pattern), initial=init)
        assert np.allclose(fused, statevector.simulate(4, direct), atol=1e-12)


def test_error_patterns_have_the_right_rates() -> None:
    probs = np.array([0.01, 0.2, 0.0, 0.05])
    kinds = np.array([3, 15, 3, 3])
    shots = 50000
    patterns, group = trajectories.draw_patterns(probs, kinds, shots, np.random.default_rng(7))
    hits = np.zeros(4)
    paulis: dict[int, list[int]] = {1: []}
    for i, pattern in enumerate(patterns):
        members = int(np.count_nonzero(group == i))
        for loc, pauli in pattern:
            hits[loc] += members
            if loc == 1:
                paulis[1] += [pauli] * members
    sigma = np.sqrt(shots * probs * (1 - probs)) + 1
    assert np.all(np.abs(hits - shots * probs) < 5 * sigma)
    counts = np.bincount(paulis[1], minlength=16)[1:]
    assert counts.min() > 0.8 * counts.mean() and counts.max() < 1.2 * counts.mean()


def test_noise_needs_shots_and_matching_family() -> None:
    with pytest.raises(ValueError, match="shots"):
        run(qis(BELL), shots=None, noise=noise_model("aria-1"), seed=1)
    ms = native([{"gate": "ms", "targets": [0, 1], "phases": [0, 0]}])
    with pytest.raises(JobFailure) as info:
        run(ms, shots=10, noise=noise_model("forte-1"), seed=1)
    assert info.value.code == "UnsupportedGate"


def test_check_is_called_and_can_cancel() -> None:
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise TimeoutError("cancelled")

    c = qis(random_qis(8, 3, seed=1), qubits=8)
    with pytest.raises(TimeoutError):
        run(c, shots=2000, noise=noise_model("harmony"), seed=1, method="trajectories", check=check)


# --------------------------------------------------------------------------- seeds


def _digest(r: RunResult) -> str:
    text = repr((r.samples, sorted((r.histogram or {}).items()), r.method))
    return hashlib.sha256(text.encode()).hexdigest()


CASES: list[Any] = [
    pytest.param(6, "aria-1", None, id="noisy density"),
    pytest.param(11, "aria-1", "trajectories", id="noisy trajectories qsim"),
    pytest.param(5, "forte-1", "trajectories", id="noisy trajectories numpy"),
    pytest.param(6, None, None, id="ideal shots"),
]


@pytest.mark.parametrize(("n", "model", "method"), CASES)
def test_same_seed_same_bytes_other_seed_other_shots(
    n: int, model: str | None, method: Any
) -> None:
    c = qis(random_qis(n, 3, seed=3), qubits=n)
    noise = noise_model(model) if model else None
    a = run(c, shots=3000, noise=noise, seed=77, method=method)
    b = run(c, shots=3000, noise=noise, seed=77, method=method)
    other = run(c, shots=3000, noise=noise, seed=78, method=method)
    assert _digest(a) == _digest(b)
    assert a.samples != other.samples


_CHILD = """
import hashlib, sys
sys.path.insert(0, {helpers!r})
from qhelpers import qis, random_qis
from ionstack.quantum.noise import noise_model
from ionstack.quantum.simulate import run
for n, model, method in {cases!r}:
    c = qis(random_qis(n, 3, seed=3), qubits=n)
    r = run(c, shots=3000, noise=noise_model(model) if model else None, seed=77, method=method)
    text = repr((r.samples, sorted((r.histogram or {{}}).items()), r.method))
    print(hashlib.sha256(text.encode()).hexdigest())
"""


def test_results_are_byte_identical_in_a_fresh_process() -> None:
    cases = [tuple(p.values) for p in CASES]
    here = [
        _digest(
            run(
                qis(random_qis(n, 3, seed=3), qubits=n),
                shots=3000,
                noise=noise_model(m) if m else None,
                seed=77,
                method=meth,
            )
        )
        for n, m, meth in cases
    ]
    code = _CHILD.format(helpers=str(Path(__file__).parent), cases=cases)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.split() == here


# --------------------------------------------------------------------------- memory guard


@pytest.mark.parametrize(
    ("n", "model", "method"),
    [
        pytest.param(31, None, None, id="ideal state vector"),
        pytest.param(24, "aria-1", "trajectories", id="noisy trajectories"),
        pytest.param(8, "aria-1", "density_matrix", id="density matrix"),
    ],
)
def test_memory_guard_fails_cleanly(n: int, model: str | None, method: Any) -> None:
    c = qis([{"gate": "rx", "targets": list(range(n)), "rotation": 0.3}], qubits=n)
    with pytest.raises(JobFailure) as info:
        run(
            c,
            shots=10 if model else None,
            noise=noise_model(model) if model else None,
            seed=1,
            method=method,
            memory_limit_bytes=2 << 20,
        )
    assert info.value.code == "SimulationError"
    assert "GiB" in info.value.message


# --------------------------------------------------------------------------- stabilizer


def _ghz(n: int) -> list[dict[str, Any]]:
    return [{"gate": "h", "target": 0}] + [
        {"gate": "cnot", "control": i, "target": i + 1} for i in range(n - 1)
    ]


@pytest.mark.parametrize("n", [32, 60, 300])
def test_wide_clifford_circuits_use_stim(n: int) -> None:
    r = run(qis(_ghz(n)), shots=None, noise=None, seed=1)
    assert r.method == "stabilizer"
    assert r.probabilities == {0: 0.5, (1 << n) - 1: 0.5}
    s = run(qis(_ghz(n)), shots=200, noise=None, seed=1)
    assert set(s.samples or []) == {0, (1 << n) - 1}


def test_stabilizer_matches_state_vector_on_random_clifford() -> None:
    rng = np.random.default_rng(11)
    gates: list[dict[str, Any]] = []
    for _ in range(60):
        a, b = (int(x) for x in rng.choice(9, 2, replace=False))
        gates.append(
            rng.choice(
                [
                    {"gate": "h", "target": a},
                    {"gate": "s", "target": a},
                    {"gate": "v", "target": a},
                    {"gate": "cnot", "control": a, "target": b},
                    {"gate": "rz", "target": a, "rotation": math.pi / 2},
                    {"gate": "swap", "targets": [a, b]},
                ]
            )
        )
    c = qis(gates, qubits=9)
    sv = run(c, shots=None, noise=None, seed=1, method="statevector").probabilities
    st = run(c, shots=None, noise=None, seed=1, method="stabilizer").probabilities
    assert st.keys() == sv.keys()
    assert all(abs(st[k] - sv[k]) < 1e-12 for k in sv)


def test_noisy_clifford_at_30_qubits_runs_on_stim() -> None:
    r = run(qis(_ghz(30)), shots=500, noise=noise_model("aria-1"), seed=5)
    assert r.method == "stabilizer" and sum((r.histogram or {}).values()) == 500
    top = sorted((r.histogram or {}).items(), key=lambda kv: -kv[1])[:2]
    assert {k for k, _ in top} == {0, (1 << 30) - 1}


def test_non_clifford_wide_low_entanglement_circuit_runs_as_mps() -> None:
    # issue 16 §4 (before, a clean SimulationError: no state vector fits); a circuit beyond
    # every method still fails cleanly: tests/quantum/test_quantum_mps.py
    c = qis([*_ghz(40), {"gate": "t", "target": 3}])
    r = run(c, shots=None, noise=None, seed=1, memory_limit_bytes=1 << 30)
    assert (r.method, r.discarded_weight, r.max_bond) == ("mps", 0.0, 2)
    assert dict(r.probabilities) == pytest.approx({0: 0.5, (1 << 40) - 1: 0.5}, abs=1e-12)


def test_stim_sampling_is_seeded() -> None:
    c = qis([*_ghz(35), {"gate": "h", "targets": [3, 7, 20]}])
    a = run(c, shots=400, noise=noise_model("aria-1"), seed=9)
    b = run(c, shots=400, noise=noise_model("aria-1"), seed=9)
    other = run(c, shots=400, noise=noise_model("aria-1"), seed=10)
    assert a.method == "stabilizer" and a.samples == b.samples and a.samples != other.samples


# A non-commuting pauliexp on 8 targets has no exact lowering (synthesis.MAX_DENSE_QUBITS = 6).
WIDE_NONCOMMUTING = {
    "gate": "pauliexp",
    "targets": list(range(8)),
    "terms": ["XXXXXXXX", "ZIIIIIII"],
    "coefficients": [0.3, 0.5],
    "time": 0.7,
}


@pytest.mark.parametrize(
    ("noise", "family"),
    [
        pytest.param(None, None, id="ideal, qsim path"),
        pytest.param("aria-1", "ms", id="noisy aria-1 (ms)"),
        pytest.param("forte-1", "zz", id="noisy forte-1 (zz)"),
    ],
)
def test_gate_that_cannot_be_compiled_fails_with_compilation_error(
    noise: str | None, family: str | None
) -> None:
    # qubits 8-11 are touched so that 12 qubits are simulated (the qsim path: gates lowered)
    last = {"gate": "h", "targets": [8, 9, 10, 11]}
    c = qis([{"gate": "h", "target": 0}, WIDE_NONCOMMUTING, last], qubits=12)
    with pytest.raises(JobFailure) as info:
        run(
            c,
            shots=None if noise is None else 10,
            noise=noise_model(noise) if noise else None,
            seed=1,
        )
    assert info.value.code == "CompilationError"
    assert info.value.message.startswith("input.circuit[1]: ")
    assert "8-target non-commuting pauliexp" in info.value.message
    if family is not None:
        with pytest.raises(JobFailure) as direct:
            compile_native(c, family=family)  # type: ignore[arg-type]
        assert (direct.value.code, direct.value.message) == ("CompilationError", info.value.message)

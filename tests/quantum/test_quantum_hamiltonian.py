"""hamiltonian-energy: ansatz encodings, Pauli parsing, energies against dense matrices.

References are independent of the code under test: the state comes from Qiskit's
``Statevector`` of the circuit the client would have built, the Hamiltonian from numpy
Kronecker products of the Pauli matrices, constraint penalties from plain loops over bits.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from qhelpers import SeededRuns
from qiskit import QuantumCircuit, qasm2, qasm3
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Statevector

from ionstack.errors import BadRequest, JobFailure
from ionstack.quantum import hamiltonian
from ionstack.quantum.ansatz import load
from ionstack.quantum.circuit import Circuit
from ionstack.quantum.noise import noise_model
from ionstack.quantum.simulate import RunResult, run

PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1, -1]),
}


def dense(terms: list[tuple[str, float]]) -> np.ndarray:
    """Σ c·P with Qiskit's order: the first letter acts on the highest qubit."""
    n = len(terms[0][0])
    h = np.zeros((2**n, 2**n), dtype=complex)
    for pauli, c in terms:
        m = np.eye(1)
        for letter in pauli:
            m = np.kron(m, PAULI[letter])
        h += c * m
    return h


def ideal(circuit: Circuit, label: str) -> RunResult:
    return run(circuit, shots=None, noise=None, seed=1)


def sampled(shots: int, seed: int, model: str | None = None) -> SeededRuns:
    """Sampled runs, each seeded from (seed, its label) the same way in every process."""
    return SeededRuns(shots=shots, seed=seed, noise=None if model is None else noise_model(model))


def brickwork(n: int, layers: int) -> tuple[QuantumCircuit, int]:
    """The ionq SDK's BrickworkLayoutAnsatz shape, plus rzz and Y-basis content."""
    count = math.ceil(layers * (n - 1) / 2) + n
    theta = ParameterVector("θ", count)
    qc = QuantumCircuit(n)
    qc.h(range(n))
    it = iter(theta)
    for layer in range(layers):
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
            qc.ry(next(it), q + 1)
    for q in range(n):
        if n > 1:
            qc.rzz(next(it), q, (q + 1) % n)
        else:
            qc.rz(next(it), q)
    qc.sdg(0)
    qc.measure_all()
    return qc, count


def job_input(
    qasm: str, terms: list[tuple[str, float]], params: list[float], **extra: Any
) -> dict[str, Any]:
    data = {
        "hamiltonian": [{"pauli_string": p, "coefficient": c} for p, c in terms],
        "ansatz": {"format": "qasm", "data": qasm, "num_qubits": 0},
        **extra,
    }
    return {"data": {"type": "hamiltonian-energy", "data": data}, "params": params}


def reference_state(qc: QuantumCircuit, params: list[float]) -> np.ndarray:
    bound = qc.remove_final_measurements(inplace=False).assign_parameters(params)
    return np.asarray(Statevector(bound).data)


def random_terms(n: int, count: int, rng: np.random.Generator) -> list[tuple[str, float]]:
    return [("".join(rng.choice(list("IXYZ"), n)), float(rng.normal())) for _ in range(count)]


# --------------------------------------------------------------------------- ansatz encodings


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_qiskit_qasm3_ansatz_binds_params_like_qiskit(n: int) -> None:
    qc, count = brickwork(n, 3)
    params = list(np.random.default_rng(n).uniform(-3, 3, count))
    ansatz = load(qasm3.dumps(qc))
    assert ansatz.qubits == n and len(ansatz.parameters) == count
    probs = run(ansatz.circuit(params), shots=None, noise=None, seed=1).probabilities
    want = np.abs(reference_state(qc, params)) ** 2
    got = np.zeros(2**n)
    for k, p in probs.items():
        got[k] = p
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_qasm2_and_json_encodings_give_the_same_state() -> None:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.rzz(0.7, 1, 2)
    qc.u(0.3, 0.4, 0.5, 2)
    qc.cp(0.9, 2, 0)
    want = np.abs(reference_state(qc, [])) ** 2
    as_json = json.dumps(
        {
            "qubits": 3,
            "parameters": ["a", "b"],
            "circuit": [
                {"gate": "h", "target": 0},
                {"gate": "cnot", "control": 0, "target": 1},
                {"gate": "zz", "targets": [1, 2], "rotation": "a"},
                {"gate": "rz", "target": 2, "rotation": 0.5},
                {"gate": "ry", "target": 2, "rotation": "b - 0.1"},
                {"gate": "rz", "target": 2, "rotation": "pi/2 - 1.1707963267948966"},
                {"gate": "z", "control": 2, "target": 0, "rotation": 0.9},
            ],
        }
    )
    for text, params in ((qasm2.dumps(qc), []), (as_json, [0.7, 0.4])):
        a = load(text)
        got = np.zeros(8)
        for k, p in run(a.circuit(params), shots=None, noise=None, seed=1).probabilities.items():
            got[k] = p
        np.testing.assert_allclose(got, want, atol=1e-9)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("OPENQASM 3.0;\nqubit[2] q;\nfoo q[0];", "PreflightError"),
        ("OPENQASM 3.0;\nqubit[2] q;\nreset q[0];", "InvalidInput"),
        ("OPENQASM 3.0;\nqubit[2] q;\nh q[5];", "InvalidInput"),
        ("OPENQASM 3.0;\nqubit[2] q;\nctrl @ x q[0], q[1];", "InvalidInput"),
        ("OPENQASM 3.0;\nh q[0];", "InvalidInput"),
        ("OPENQASM 3.0;\nqubit[1] q;\nrx(__import__) q[0];", "InvalidInput"),
        ('{"circuit": [{"gate": "rx", "target": 0, "rotation": "nope"}]}', "InvalidInput"),
        ("", "InvalidInput"),
    ],
)
def test_bad_ansatz_is_a_job_failure(text: str, code: str) -> None:
    with pytest.raises(JobFailure) as caught:
        load(text)
    assert caught.value.code == code
    assert caught.value.key == "input.data.data.ansatz.data"


# --------------------------------------------------------------------------- energies


@pytest.mark.parametrize("seed", range(6))
def test_exact_energy_equals_dense_matrix_expectation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 1 + seed % 4
    qc, count = brickwork(n, 2)
    params = list(rng.uniform(-3, 3, count))
    terms = [*random_terms(n, 6, rng), ("I" * n, 0.25)]
    job = hamiltonian.load_job(job_input(qasm3.dumps(qc), terms, params))
    energy = hamiltonian.evaluate(job.problem, job.circuit(), execute=ideal)
    psi = reference_state(qc, params)
    want = float(np.real(psi.conj() @ dense(terms) @ psi))
    assert energy.exact and energy.variance == 0.0
    assert energy.value == pytest.approx(want, abs=1e-9)
    assert sum(energy.term_values) == pytest.approx(want, abs=1e-9)


def test_sampled_energy_is_unbiased_within_its_reported_error() -> None:
    rng = np.random.default_rng(11)
    qc, count = brickwork(3, 2)
    params = list(rng.uniform(-3, 3, count))
    terms = random_terms(3, 8, rng)
    job = hamiltonian.load_job(job_input(qasm3.dumps(qc), terms, params))
    psi = reference_state(qc, params)
    want = float(np.real(psi.conj() @ dense(terms) @ psi))
    runs = sampled(20_000, 5)
    energy = hamiltonian.evaluate(job.problem, job.circuit(), execute=runs)
    assert not energy.exact and energy.variance > 0
    assert abs(energy.value - want) < 5 * math.sqrt(energy.variance), runs
    assert sum(energy.histogram.values()) == 20_000  # the computational basis, sampled


def test_noise_pulls_the_energy_toward_the_maximally_mixed_value() -> None:
    # a Bell state has ⟨ZZ⟩ = 1; depolarizing noise lowers it (mixed state: 0)
    text = "OPENQASM 3.0;\nqubit[2] q;\nh q[0];\ncx q[0], q[1];"
    job = hamiltonian.load_job(job_input(text, [("ZZ", 1.0)], []))
    runs = sampled(4000, 3, "harmony")
    energy = hamiltonian.evaluate(job.problem, job.circuit(), execute=runs)
    assert 0.5 < energy.value < 1.0, runs


def test_bases_are_qubitwise_commuting_and_cover_every_term_once() -> None:
    rng = np.random.default_rng(3)
    n = 4
    terms = random_terms(n, 40, rng)
    problem = hamiltonian.parse_problem(
        {"hamiltonian": [{"pauli_string": p, "coefficient": c} for p, c in terms]},
        qubits=n,
        path="input.data.data",
    )
    bases = hamiltonian.measurement_bases(problem)
    assert bases[0].computational and set(bases[0].letters.values()) == {"Z"}
    seen = [i for b in bases for i in b.terms]
    non_identity = [i for i, (p, _) in enumerate(terms) if set(p) != {"I"}]
    assert sorted(seen) == non_identity
    for basis in bases:
        for i in basis.terms:
            pauli = terms[i][0]
            for pos, letter in enumerate(pauli):
                if letter != "I":
                    assert basis.letters[n - 1 - pos] == letter
    assert len(bases) < len(non_identity)  # grouping saves circuits


def violation(
    bits: list[int],
    linear: list[tuple[list[float], float]],
    quadratic: list[tuple[list[list[float]], list[float], float]],
) -> float:
    total = 0.0
    for coeffs, rhs in linear:
        total += max(0.0, sum(a * x for a, x in zip(coeffs, bits, strict=True)) - rhs)
    for p, r, c in quadratic:
        lhs = sum(p[i][j] * bits[i] * bits[j] for i in range(len(bits)) for j in range(len(bits)))
        lhs += sum(a * x for a, x in zip(r, bits, strict=True))
        total += max(0.0, lhs - c)
    return total


def test_penalty_adds_expected_constraint_violation() -> None:
    n = 3
    qc, count = brickwork(n, 2)
    params = list(np.random.default_rng(2).uniform(-3, 3, count))
    terms = [("ZZI", 0.5), ("IZZ", -0.3), ("ZII", 0.2), ("XXI", 0.4)]
    linear = [([1.0, 1.0, 1.0], 1.0)]
    quadratic = [([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [0.5, 0, 0], 0.2)]
    extra = {
        "linear_constraints": [{"coeffs": c, "rhs": b} for c, b in linear],
        "quadratic_constraints": [
            {"quadratic_coeff": p, "linear_coeff": r, "rhs": c} for p, r, c in quadratic
        ],
        "penalty": 3.0,
    }
    job = hamiltonian.load_job(job_input(qasm3.dumps(qc), terms, params, **extra))
    energy = hamiltonian.evaluate(job.problem, job.circuit(), execute=ideal)
    psi = reference_state(qc, params)
    want = float(np.real(psi.conj() @ dense(terms) @ psi))
    for k, amp in enumerate(psi):
        bits = [(k >> q) & 1 for q in range(n)]
        want += abs(amp) ** 2 * 3.0 * violation(bits, linear, quadratic)
    assert energy.value == pytest.approx(want, abs=1e-9)


def test_cvar_averages_the_lowest_alpha_fraction() -> None:
    n = 3
    qc, count = brickwork(n, 2)
    params = list(np.random.default_rng(4).uniform(-3, 3, count))
    terms = [("ZZI", 1.0), ("IZZ", -0.7), ("ZIZ", 0.3), ("IIZ", 0.25), ("III", 1.5)]
    psi = reference_state(qc, params)
    diag = np.real(np.diag(dense(terms)))
    probs = np.abs(psi) ** 2
    for alpha in (0.1, 0.37, 1.0):
        job = hamiltonian.load_job(job_input(qasm3.dumps(qc), terms, params, cvar_alpha=alpha))
        energy = hamiltonian.evaluate(job.problem, job.circuit(), execute=ideal)
        remaining, acc = alpha, 0.0
        for k in np.argsort(diag, kind="stable"):
            take = min(probs[k], remaining)
            acc += take * diag[k]
            remaining -= take
        assert energy.value == pytest.approx(acc / alpha, abs=1e-9)
    assert energy.value == pytest.approx(float(probs @ diag), abs=1e-9)  # α = 1: the mean


def test_cvar_sampled_keeps_the_best_shots() -> None:
    text = "OPENQASM 3.0;\nqubit[2] q;\nh q[0];\nh q[1];"
    job = hamiltonian.load_job(job_input(text, [("ZZ", 1.0)], [], cvar_alpha=0.25))
    runs = sampled(1000, 9)
    energy = hamiltonian.evaluate(job.problem, job.circuit(), execute=runs)
    assert energy.value == pytest.approx(-1.0), runs  # half the shots have ZZ = −1


# --------------------------------------------------------------------------- validation (400)


QASM2Q = "OPENQASM 3.0;\ninput float[64] t;\nqubit[2] q;\nry(t) q[0];\ncx q[0], q[1];"


@pytest.mark.parametrize(
    ("inp", "key"),
    [
        (job_input(QASM2Q, [("XQ", 1.0)], [0.1]), "input.data.data.hamiltonian.0.pauli_string"),
        (
            job_input(QASM2Q, [("ZZ", 1.0), ("ZZZ", 1.0)], [0.1]),
            "input.data.data.hamiltonian.1.pauli_string",
        ),
        (job_input(QASM2Q, [("xz", 1.0)], [0.1]), "input.data.data.hamiltonian.0.pauli_string"),
        (job_input(QASM2Q, [("ZZ", 1.0)], []), "input.params"),
        (job_input(QASM2Q, [("ZZ", 1.0)], [0.1, 0.2]), "input.params"),
        (job_input(QASM2Q, [("ZZ", "one")], [0.1]), "input.data.data.hamiltonian.0.coefficient"),
        (job_input(QASM2Q, [], [0.1]), "input.data.data.hamiltonian"),
        (job_input(QASM2Q, [("XZ", 1.0)], [0.1], cvar_alpha=0.5), "input.data.data.cvar_alpha"),
        (job_input(QASM2Q, [("ZZ", 1.0)], [0.1], cvar_alpha=0), "input.data.data.cvar_alpha"),
        (
            job_input(
                QASM2Q, [("ZZ", 1.0)], [0.1], linear_constraints=[{"coeffs": [1, 1, 1], "rhs": 1}]
            ),
            "input.data.data.linear_constraints.0.coeffs",
        ),
        ({"data": {"type": "other-function", "data": {}}}, "input.data.type"),
        (
            {"data": {"type": "hamiltonian-energy", "data": {"ansatz": {"data": 5}}}},
            "input.data.data.ansatz.data",
        ),
        ({"data": "x"}, "input.data"),
    ],
)
def test_bad_hamiltonian_input_is_a_400_naming_the_key(inp: dict[str, Any], key: str) -> None:
    with pytest.raises(BadRequest) as caught:
        hamiltonian.load_job(inp)
    assert caught.value.keys == [key]
    assert caught.value.status_code == 400


def test_generic_input_shape_is_read_too() -> None:
    spec_shape = job_input(QASM2Q, [("ZX", 0.5), ("ZZ", -1.0)], [0.3])
    generic = {"type": "hamiltonian-energy", "data": spec_shape["data"]["data"], "params": [0.3]}
    a = hamiltonian.load_job(spec_shape)
    b = hamiltonian.load_job(generic)
    ea = hamiltonian.evaluate(a.problem, a.circuit(), execute=ideal).value
    eb = hamiltonian.evaluate(b.problem, b.circuit(), execute=ideal).value
    assert ea == pytest.approx(eb) and b.path == "input.data"


def test_pauli_string_order_is_qiskits() -> None:
    # x on qubit 0 only: ⟨IZ⟩ (Z on qubit 0) = −1, ⟨ZI⟩ (Z on qubit 1) = +1
    text = "OPENQASM 3.0;\nqubit[2] q;\nx q[0];"
    for pauli, want in (("IZ", -1.0), ("ZI", 1.0)):
        job = hamiltonian.load_job(job_input(text, [(pauli, 1.0)], []))
        assert hamiltonian.evaluate(job.problem, job.circuit(), execute=ideal).value == (
            pytest.approx(want)
        )

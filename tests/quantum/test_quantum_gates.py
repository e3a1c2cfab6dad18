"""Every gate matrix against an independent reference (semantics.md §1 tables, Braket, Qiskit)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.linalg
from braket.default_simulator import gate_operations as braket
from qhelpers import circuit_unitary, native, phase_distance, qis, reverse_bits
from qiskit.circuit import library as ql
from qiskit.quantum_info import Operator, SparsePauliOp

from ionstack.quantum import gates as G

SQ = 1 / math.sqrt(2)
TH = 0.7391  # an arbitrary angle
c, s = math.cos(TH / 2), math.sin(TH / 2)
e = np.exp

# The tables of semantics.md §1.1, typed in literally (not computed by the code under test).
QIS_TABLE: list[Any] = [
    pytest.param({"gate": "x"}, [[0, 1], [1, 0]], id="x"),
    pytest.param({"gate": "not"}, [[0, 1], [1, 0]], id="not=x"),
    pytest.param({"gate": "y"}, [[0, -1j], [1j, 0]], id="y"),
    pytest.param({"gate": "z"}, [[1, 0], [0, -1]], id="z"),
    pytest.param({"gate": "h"}, [[SQ, SQ], [SQ, -SQ]], id="h"),
    pytest.param({"gate": "s"}, [[1, 0], [0, 1j]], id="s"),
    pytest.param({"gate": "si"}, [[1, 0], [0, -1j]], id="si"),
    pytest.param({"gate": "t"}, [[1, 0], [0, e(1j * math.pi / 4)]], id="t"),
    pytest.param({"gate": "ti"}, [[1, 0], [0, e(-1j * math.pi / 4)]], id="ti"),
    pytest.param(
        {"gate": "v"}, [[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]], id="v=sqrt(x)"
    ),
    pytest.param({"gate": "vi"}, [[0.5 - 0.5j, 0.5 + 0.5j], [0.5 + 0.5j, 0.5 - 0.5j]], id="vi"),
    pytest.param({"gate": "rx", "rotation": TH}, [[c, -1j * s], [-1j * s, c]], id="rx"),
    pytest.param({"gate": "ry", "rotation": TH}, [[c, -s], [s, c]], id="ry"),
    pytest.param({"gate": "rz", "rotation": TH}, [[e(-0.5j * TH), 0], [0, e(0.5j * TH)]], id="rz"),
    pytest.param(
        {"gate": "z", "rotation": TH}, [[1, 0], [0, e(1j * TH)]], id="z+rotation=phase gate P"
    ),
]

QIS_2Q_TABLE: list[Any] = [
    pytest.param(
        {"gate": "cnot", "control": 0, "target": 1},
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
        id="cnot",
    ),
    pytest.param(
        {"gate": "swap", "targets": [0, 1]},
        [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]],
        id="swap",
    ),
    pytest.param(
        {"gate": "xx", "targets": [0, 1], "rotation": TH},
        [[c, 0, 0, -1j * s], [0, c, -1j * s, 0], [0, -1j * s, c, 0], [-1j * s, 0, 0, c]],
        id="xx",
    ),
    pytest.param(
        {"gate": "yy", "targets": [0, 1], "rotation": TH},
        [[c, 0, 0, 1j * s], [0, c, -1j * s, 0], [0, -1j * s, c, 0], [1j * s, 0, 0, c]],
        id="yy",
    ),
    pytest.param(
        {"gate": "zz", "targets": [0, 1], "rotation": TH},
        np.diag([e(-0.5j * TH), e(0.5j * TH), e(0.5j * TH), e(-0.5j * TH)]),
        id="zz",
    ),
]


def _matrix(gate: dict[str, Any], gateset: str = "qis") -> np.ndarray:
    body = {"target": 0, **gate} if "targets" not in gate and "control" not in gate else gate
    c = qis([body]) if gateset == "qis" else native([body])
    return G.gate_matrix(c.gates[0], c.gateset)


@pytest.mark.parametrize(("gate", "expected"), QIS_TABLE)
def test_qis_single_qubit_matrix_matches_semantics_table(
    gate: dict[str, Any], expected: Any
) -> None:
    assert np.allclose(_matrix(gate), np.array(expected), atol=1e-15)


@pytest.mark.parametrize(("gate", "expected"), QIS_2Q_TABLE)
def test_qis_two_qubit_matrix_matches_semantics_table(gate: dict[str, Any], expected: Any) -> None:
    assert np.allclose(_matrix(gate), np.array(expected), atol=1e-15)


@pytest.mark.parametrize("name", ["xx", "yy", "zz"])
def test_ising_gates_are_exponentials_of_pauli_products(name: str) -> None:
    p = G.PAULIS[name[0].upper()]
    ref = scipy.linalg.expm(-0.5j * TH * np.kron(p, p))
    assert np.allclose(_matrix({"gate": name, "targets": [0, 1], "rotation": TH}), ref, atol=1e-14)


# --------------------------------------------------------------------------- native vs Braket

PHI = (0.0, 0.125, 0.25, -0.3, 0.61, 1.0)


@pytest.mark.parametrize("phi", PHI)
def test_gpi_matches_braket(phi: float) -> None:
    ref = braket.GPi([0], 2 * math.pi * phi).matrix
    assert np.allclose(_matrix({"gate": "gpi", "phase": phi}, "native"), ref, atol=1e-14)


@pytest.mark.parametrize("phi", PHI)
def test_gpi2_matches_braket(phi: float) -> None:
    ref = braket.GPi2([0], 2 * math.pi * phi).matrix
    assert np.allclose(_matrix({"gate": "gpi2", "phase": phi}, "native"), ref, atol=1e-14)


@pytest.mark.parametrize(
    ("p0", "p1", "angle"),
    [
        pytest.param(0.0, 0.0, 0.25, id="fully-entangling"),
        pytest.param(0.1, -0.35, 0.25, id="phases"),
        pytest.param(0.7, 0.2, 0.1, id="partial-angle"),
        pytest.param(-1.0, 1.0, 0.0, id="zero-angle"),
    ],
)
def test_ms_matches_braket(p0: float, p1: float, angle: float) -> None:
    ref = braket.MS([0, 1], 2 * math.pi * p0, 2 * math.pi * p1, 2 * math.pi * angle).matrix
    got = _matrix({"gate": "ms", "targets": [0, 1], "phases": [p0, p1], "angle": angle}, "native")
    assert np.allclose(got, ref, atol=1e-14)


def test_ms_without_angle_is_fully_entangling() -> None:
    got = _matrix({"gate": "ms", "targets": [0, 1], "phases": [0, 0]}, "native")
    assert np.allclose(got, scipy.linalg.expm(-0.25j * math.pi * np.kron(G.PAULI_X, G.PAULI_X)))


@pytest.mark.parametrize("theta", [0.25, -0.1, 0.6])
def test_native_zz_equals_qis_zz_with_rotation_2pi_theta(theta: float) -> None:
    nat = _matrix({"gate": "zz", "targets": [0, 1], "angle": theta}, "native")
    q = _matrix({"gate": "zz", "targets": [0, 1], "rotation": 2 * math.pi * theta})
    assert np.allclose(nat, q, atol=1e-14)
    zz = np.kron(G.PAULI_Z, G.PAULI_Z)
    assert np.allclose(nat, scipy.linalg.expm(-1j * math.pi * theta * zz))


# --------------------------------------------------------------------------- controlled vs Qiskit

CONTROLLED: list[Any] = [
    pytest.param({"gate": "x", "controls": [0], "targets": [1]}, ql.CXGate(), id="cx"),
    pytest.param({"gate": "x", "controls": [0, 1], "targets": [2]}, ql.CCXGate(), id="ccx"),
    pytest.param({"gate": "x", "controls": [0, 1, 2], "targets": [3]}, ql.MCXGate(3), id="mcx3"),
    pytest.param({"gate": "h", "controls": [0], "targets": [1]}, ql.CHGate(), id="ch"),
    pytest.param({"gate": "y", "controls": [0], "targets": [1]}, ql.CYGate(), id="cy"),
    pytest.param({"gate": "z", "controls": [0], "targets": [1]}, ql.CZGate(), id="cz"),
    pytest.param(
        {"gate": "rz", "controls": [0], "targets": [1], "rotation": TH},
        ql.CRZGate(TH),
        id="crz keeps rz phase",
    ),
    pytest.param(
        {"gate": "rx", "controls": [0], "targets": [1], "rotation": TH}, ql.CRXGate(TH), id="crx"
    ),
    pytest.param(
        {"gate": "ry", "controls": [0], "targets": [1], "rotation": TH}, ql.CRYGate(TH), id="cry"
    ),
    pytest.param({"gate": "v", "controls": [0], "targets": [1]}, ql.CSXGate(), id="csx=cv"),
    pytest.param(
        {"gate": "z", "controls": [0], "targets": [1], "rotation": TH},
        ql.CPhaseGate(TH),
        id="cp=z+rotation+control",
    ),
    pytest.param(
        {"gate": "z", "controls": [0, 1], "targets": [2], "rotation": TH},
        ql.MCPhaseGate(TH, 2),
        id="mcphase",
    ),
    pytest.param({"gate": "swap", "controls": [0], "targets": [1, 2]}, ql.CSwapGate(), id="cswap"),
    pytest.param(
        {"gate": "cnot", "controls": [0, 1], "target": 2},
        ql.CCXGate(),
        id="cnot with controls (docs example)",
    ),
]


@pytest.mark.parametrize(("gate", "reference"), CONTROLLED)
def test_controlled_gates_match_qiskit(gate: dict[str, Any], reference: Any) -> None:
    ours = G.gate_matrix(qis([gate]).gates[0], "qis")  # controls first, most significant
    theirs = reverse_bits(Operator(reference).data)  # qiskit: first qarg least significant
    assert np.allclose(ours, theirs, atol=1e-14)


# --------------------------------------------------------------------------- pauliexp

PAULIEXP: list[Any] = [
    pytest.param(["XX", "YY", "ZZ"], [0.1, 0.2, 0.3], 0.4, id="commuting (spec example)"),
    pytest.param(["XZ"], [0.9], 1.3, id="asymmetric term: string order matters"),
    pytest.param(["XI", "ZY", "YX"], [0.5, -0.2, 0.7], 0.8, id="non-commuting"),
    pytest.param(["IXZ", "YIY"], [0.3, 0.4], 0.6, id="three targets"),
]


@pytest.mark.parametrize(("terms", "coeffs", "time"), PAULIEXP)
def test_pauliexp_matches_qiskit_label_order_and_expm(
    terms: list[str], coeffs: list[float], time: float
) -> None:
    m = len(terms[0])
    gate = {
        "gate": "pauliexp",
        "targets": list(range(m)),
        "terms": terms,
        "coefficients": coeffs,
        "time": time,
    }
    ours = G.gate_matrix(qis([gate]).gates[0], "qis")
    h = SparsePauliOp(terms, coeffs).to_matrix()  # Qiskit label: rightmost letter on qubit 0
    theirs = reverse_bits(scipy.linalg.expm(-1j * time * h))  # PauliEvolutionGate(H, t)
    assert np.allclose(ours, theirs, atol=1e-12)


def test_pauliexp_rightmost_letter_acts_on_first_target() -> None:
    # exp(-i·π/2·Z⊗X…): "ZX" puts X on targets[0] — a half-turn X on qubit 3, Z on qubit 1.
    c = qis(
        [
            {"gate": "x", "target": 1},
            {
                "gate": "pauliexp",
                "targets": [3, 1],
                "terms": ["ZX"],
                "coefficients": [1.0],
                "time": math.pi / 2,
            },
        ],
        qubits=4,
    )
    state = circuit_unitary(c)[:, 0]
    assert np.isclose(abs(state[0b1010]), 1.0)


# --------------------------------------------------------------------------- §1.3 identities

IDENTITIES: list[Any] = [
    pytest.param(
        [{"gate": "h", "target": 0}],
        [{"gate": "gpi2", "target": 0, "phase": 0.25}, {"gate": "gpi", "target": 0, "phase": 0}],
        1,
        id="h = gpi2(1/4), gpi(0)",
    ),
    pytest.param(
        [{"gate": "cnot", "control": 0, "target": 1}],
        [
            {"gate": "gpi2", "target": 0, "phase": 0.25},
            {"gate": "ms", "targets": [0, 1], "phases": [0, 0]},
            {"gate": "gpi2", "target": 1, "phase": 0.5},
            {"gate": "gpi2", "target": 0, "phase": 0.5},
            {"gate": "gpi2", "target": 0, "phase": -0.25},
        ],
        2,
        id="cnot, MS basis",
    ),
    pytest.param(
        [{"gate": "cnot", "control": 0, "target": 1}],
        [
            {"gate": "gpi2", "target": 1, "phase": 0.25},
            {"gate": "gpi", "target": 1, "phase": -0.125},
            {"gate": "gpi", "target": 0, "phase": 0},
            {"gate": "gpi", "target": 0, "phase": -0.125},
            {"gate": "zz", "targets": [0, 1], "angle": 0.25},
            {"gate": "gpi2", "target": 1, "phase": 0.25},
            {"gate": "gpi", "target": 1, "phase": 0},
        ],
        2,
        id="cnot, ZZ basis",
    ),
    pytest.param(
        [{"gate": "rz", "target": 0, "rotation": TH}],
        [
            {"gate": "gpi", "target": 0, "phase": 0},
            {"gate": "gpi", "target": 0, "phase": TH / (4 * math.pi)},
        ],
        1,
        id="rz = gpi(0), gpi(θ/4π)",
    ),
    pytest.param(
        [{"gate": "xx", "targets": [0, 1], "rotation": math.pi / 2}],
        [{"gate": "ms", "targets": [0, 1], "phases": [0, 0], "angle": 0.25}],
        2,
        id="MS(0,0,1/4) = exp(-iπ/4·XX)",
    ),
]


@pytest.mark.parametrize(("qis_gates", "native_gates", "n"), IDENTITIES)
def test_reference_decompositions_of_semantics_1_3(
    qis_gates: list[dict[str, Any]], native_gates: list[dict[str, Any]], n: int
) -> None:
    a = circuit_unitary(qis(qis_gates, qubits=n))
    b = circuit_unitary(native(native_gates, qubits=n))
    assert phase_distance(b, a) < 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_zyz_native_form_of_semantics_1_3(seed: int) -> None:
    rng = np.random.default_rng(seed)
    alpha, beta, gamma = rng.uniform(-math.pi, math.pi, 3)
    u = G.rz_matrix(gamma) @ G.ry_matrix(beta) @ G.rz_matrix(alpha)
    tau = 2 * math.pi
    seq = [
        G.gpi2_matrix((math.pi - alpha) / tau),
        G.gpi_matrix((beta / 2 + gamma / 2 - alpha / 2) / tau),
        G.gpi2_matrix((math.pi + gamma) / tau),
    ]
    assert phase_distance(seq[2] @ seq[1] @ seq[0], u) < 1e-12


def test_every_registered_gate_is_unitary() -> None:
    probes = {
        "rotation": 0.3,
        "phase": 0.1,
        "phases": (0.2, 0.3),
        "angle": 0.2,
        "terms": ("XY",),
        "coefficients": (0.4,),
        "time": 0.5,
    }
    for gateset, table in G.GATES.items():
        for name, spec in table.items():
            targets = (0, 1) if spec.arity in (0, 2) else (0,)
            fields = {k: probes[k] for k in (*spec.params, *spec.optional) if k in probes}
            from ionstack.quantum.circuit import Gate

            gate = Gate(name, targets, **fields)
            assert G.is_unitary(spec.matrix(gate)), (gateset, name)

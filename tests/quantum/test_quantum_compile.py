"""Compiler: unitary equivalence (property test), gate counts, exports, family checks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from qhelpers import circuit_unitary, native, phase_distance, qis
from scipy.stats import unitary_group

from ionstack.errors import JobFailure
from ionstack.quantum import gates as G
from ionstack.quantum.circuit import parse_circuit
from ionstack.quantum.compile import (
    compile_native,
    gate_counts,
    native_json,
    split_frame,
    to_qasm3,
)

FIXED_1Q = ["x", "y", "z", "h", "s", "si", "t", "ti", "v", "vi", "not"]
ROT_1Q = ["rx", "ry", "rz", "z"]
Raw = tuple[int, list[dict[str, Any]]]
angles = st.floats(min_value=-7.0, max_value=7.0, allow_nan=False)


@st.composite
def qis_gate(draw: st.DrawFn, n: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["fixed", "rot", "ctl", "two", "pauliexp", "cnot"]))
    qubits = draw(st.permutations(range(n)))
    if kind == "fixed":
        return {"gate": draw(st.sampled_from(FIXED_1Q)), "target": qubits[0]}
    if kind == "rot":
        return {
            "gate": draw(st.sampled_from(ROT_1Q)),
            "target": qubits[0],
            "rotation": draw(angles),
        }
    if kind == "cnot":
        return {"gate": "cnot", "control": qubits[0], "target": qubits[1]}
    if kind == "ctl":
        k = draw(st.integers(1, n - 1))
        gate: dict[str, Any] = {
            "gate": draw(st.sampled_from(FIXED_1Q + ROT_1Q)),
            "targets": [qubits[0]],
            "controls": list(qubits[1 : k + 1]),
        }
        if gate["gate"] in ROT_1Q:
            gate["rotation"] = draw(angles)
        return gate
    if kind == "two":
        name = draw(st.sampled_from(["swap", "xx", "yy", "zz"]))
        gate = {"gate": name, "targets": list(qubits[:2])}
        if name != "swap":
            gate["rotation"] = draw(angles)
        if n > 2 and draw(st.booleans()):
            gate["controls"] = [qubits[2]]
        return gate
    m = draw(st.integers(1, n))
    terms = draw(st.lists(st.text("IXYZ", min_size=m, max_size=m), min_size=1, max_size=3))
    gate = {
        "gate": "pauliexp",
        "targets": list(qubits[:m]),
        "terms": terms,
        "coefficients": [draw(angles) for _ in terms],
        "time": draw(st.floats(0, 2, allow_nan=False)),
    }
    if m < n and draw(st.booleans()):
        gate["controls"] = [qubits[m]]
    return gate


@st.composite
def qis_circuit(draw: st.DrawFn) -> tuple[int, list[dict[str, Any]]]:
    n = draw(st.integers(2, 3))
    return n, draw(st.lists(qis_gate(n), min_size=1, max_size=6))


def _parse(raw: tuple[int, list[dict[str, Any]]]) -> Any:
    n, gates = raw
    return qis(gates, qubits=n)


def _check_native_ranges(c: Any, family: str) -> None:
    for g in c.gates:
        assert g.name in ("gpi", "gpi2", family)
        if g.name in ("gpi", "gpi2"):
            assert -1 <= g.phase <= 1
        elif g.name == "ms":
            assert all(-1 <= p <= 1 for p in g.phases) and 0 < g.angle <= 0.25
        else:
            assert 0 < abs(g.angle) <= 0.25


#: Non-commuting ``pauliexp`` goes through the dense Shannon decomposition, whose cosine-sine
#: step (scipy's ``cossin``, LAPACK ``zuncsd``) resolves angles near 0 only to about √ε: a
#: pauliexp with time 2⁻²⁴ compiles to within 1.9e-9, not 1e-15 (found by this test).
DENSE_TOLERANCE = 1e-7


@pytest.mark.parametrize("family", ["ms", "zz"])
@settings(max_examples=60, deadline=None, database=None)
@given(raw=qis_circuit())
@example(
    raw=(
        3,
        [
            {
                "gate": "pauliexp",
                "targets": [0, 1, 2],
                "terms": ["III", "IIY", "IXX"],
                "coefficients": [0.0, 1.0, 1.0],
                "time": 2.0**-24,
            }
        ],
    )
)
def test_compiled_native_is_unitary_equivalent(family: str, raw: Raw) -> None:
    circuit = _parse(raw)
    compiled = compile_native(circuit, family=family)  # type: ignore[arg-type]
    _check_native_ranges(compiled, family)
    assert phase_distance(circuit_unitary(compiled), circuit_unitary(circuit)) < DENSE_TOLERANCE
    # The export is valid ionq.native.v1 input and means the same circuit.
    again = parse_circuit(native_json(compiled)["circuit"], gateset="native", qubits=circuit.qubits)
    assert phase_distance(circuit_unitary(again), circuit_unitary(circuit)) < DENSE_TOLERANCE


@pytest.mark.parametrize("family", ["ms", "zz"])
@settings(max_examples=25, deadline=None, database=None)
@given(raw=qis_circuit())
def test_drop_final_z_keeps_outcome_distribution(family: str, raw: Raw) -> None:
    circuit = _parse(raw)
    compiled = compile_native(circuit, family=family, drop_final_z=True)  # type: ignore[arg-type]
    exact = np.abs(circuit_unitary(circuit)[:, 0]) ** 2
    assert np.allclose(np.abs(circuit_unitary(compiled)[:, 0]) ** 2, exact, atol=1e-9)


@pytest.mark.parametrize(
    ("gate", "n"),
    [
        pytest.param({"gate": "x", "targets": [4], "controls": [0, 1, 2, 3]}, 5, id="4 controls"),
        pytest.param(
            {"gate": "ry", "targets": [0], "controls": [1, 2, 3], "rotation": 0.3}, 4, id="mc-ry"
        ),
        pytest.param(
            {
                "gate": "pauliexp",
                "targets": [0, 1, 2, 3],
                "terms": ["XYZX", "ZZXI"],
                "coefficients": [0.3, 0.8],
                "time": 0.7,
            },
            4,
            id="4-target non-commuting",
        ),
        pytest.param(
            {
                "gate": "pauliexp",
                "targets": [0, 1],
                "terms": ["XY", "ZI"],
                "coefficients": [0.3, 0.8],
                "time": 0.7,
                "controls": [2, 3, 4],
            },
            5,
            id="controlled non-commuting",
        ),
    ],
)
def test_wide_gates_compile_exactly(gate: dict[str, Any], n: int) -> None:
    circuit = qis([gate], qubits=n)
    for family in ("ms", "zz"):
        compiled = compile_native(circuit, family=family)  # type: ignore[arg-type]
        assert phase_distance(circuit_unitary(compiled), circuit_unitary(circuit)) < 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_split_frame_decomposes_any_single_qubit_unitary(seed: int) -> None:
    u = unitary_group.rvs(2, random_state=seed)
    natives, a = split_frame(u)
    m = np.eye(2)
    for name, phi in natives:
        m = (G.gpi_matrix(phi) if name == "gpi" else G.gpi2_matrix(phi)) @ m
    assert len(natives) <= 2
    assert phase_distance(G.rz_matrix(a) @ m, u) < 1e-10


def test_bell_compiles_to_one_entangler() -> None:
    bell = qis([{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}])
    for family in ("ms", "zz"):
        gates = compile_native(bell, family=family).gates  # type: ignore[arg-type]
        assert sum(1 for g in gates if g.name == family) == 1


def _entanglers(gates: list[dict[str, Any]], family: str, n: int = 2) -> int:
    compiled = compile_native(qis(gates, qubits=n), family=family)  # type: ignore[arg-type]
    assert phase_distance(circuit_unitary(compiled), circuit_unitary(qis(gates, qubits=n))) < 1e-9
    return sum(1 for g in compiled.gates if g.name == family)


def _cx(c: int, t: int) -> dict[str, Any]:
    return {"gate": "cnot", "control": c, "target": t}


@pytest.mark.parametrize("family", ["ms", "zz"])
def test_cx_rz_cx_compiles_to_one_entangler(family: str) -> None:
    """Qiskit's and OpenQASM 3's ``rzz`` (``cx; rz b; cx``) costs one arbitrary-angle entangler,
    as a QIS ``zz`` does, with Z rotations and phases on either qubit in between."""
    rz = {"gate": "rz", "target": 1, "rotation": 0.37}
    assert _entanglers([_cx(0, 1), rz, _cx(0, 1)], family) == 1
    between = [
        {"gate": "t", "target": 0},
        rz,
        {"gate": "s", "target": 1},
        {"gate": "z", "target": 0},
    ]
    assert _entanglers([_cx(0, 1), *between, _cx(0, 1)], family) == 1
    # an identity in disguise (a phase on the control only) costs nothing
    assert _entanglers([_cx(0, 1), {"gate": "t", "target": 0}, _cx(0, 1)], family) == 0
    # not the pattern: a non-diagonal gate on the target, the CNOT reversed, a third qubit
    assert (
        _entanglers([_cx(0, 1), {"gate": "rx", "target": 1, "rotation": 0.3}, _cx(0, 1)], family)
        == 2
    )
    assert _entanglers([_cx(0, 1), rz, _cx(1, 0)], family) == 2
    assert _entanglers([_cx(0, 1), _cx(1, 2), rz, _cx(0, 1)], family, n=3) == 3


@st.composite
def phase_circuit(draw: st.DrawFn) -> tuple[int, list[dict[str, Any]]]:
    """Circuits rich in CNOT / Z-rotation / CNOT runs, where the fusion applies or nearly does."""
    n = draw(st.integers(2, 3))
    gates: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 10))):
        a, b, *_ = draw(st.permutations(range(n)))
        kind = draw(st.sampled_from(["cnot", "cnot", "rz", "t", "h", "rx"]))
        if kind == "cnot":
            gates.append(_cx(a, b))
        elif kind in ("rz", "rx"):
            gates.append({"gate": kind, "target": a, "rotation": draw(angles)})
        else:
            gates.append({"gate": kind, "target": a})
    return n, gates


@pytest.mark.parametrize("family", ["ms", "zz"])
@settings(max_examples=80, deadline=None, database=None)
@given(raw=phase_circuit())
def test_fused_phase_circuits_stay_unitary_equivalent(family: str, raw: Raw) -> None:
    circuit = _parse(raw)
    compiled = compile_native(circuit, family=family)  # type: ignore[arg-type]
    _check_native_ranges(compiled, family)
    assert phase_distance(circuit_unitary(compiled), circuit_unitary(circuit)) < 1e-9


def test_native_input_is_returned_unchanged() -> None:
    c = native(
        [
            {"gate": "gpi2", "target": 0, "phase": 0.25},
            {"gate": "ms", "targets": [0, 1], "phases": [0, 0]},
        ]
    )
    assert compile_native(c, family="ms") is c


@pytest.mark.parametrize(
    ("gate", "family", "bad"),
    [
        pytest.param(
            {"gate": "ms", "targets": [0, 1], "phases": [0, 0]}, "zz", "ms", id="ms on forte"
        ),
        pytest.param({"gate": "zz", "targets": [0, 1], "angle": 0.25}, "ms", "zz", id="zz on aria"),
    ],
)
def test_native_gate_of_other_family_is_unsupported(
    gate: dict[str, Any], family: str, bad: str
) -> None:
    with pytest.raises(JobFailure) as info:
        compile_native(native([gate]), family=family)  # type: ignore[arg-type]
    assert info.value.code == "UnsupportedGate"
    assert info.value.message == f"Gate types [{bad}] are not supported by this backend"


# --------------------------------------------------------------------------- gate counts

COUNTS: list[Any] = [
    pytest.param(
        "qis",
        [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
        {"1q": 1, "2q": 1},
        id="bell",
    ),
    pytest.param(
        "qis",
        [{"gate": "h", "targets": [0, 1, 2]}],
        {"1q": 3, "2q": 0},
        id="broadcast counts per target",
    ),
    pytest.param(
        "qis",
        [{"gate": "x", "targets": [3], "controls": [0, 1, 2]}],
        {"1q": 0, "2q": 12},
        id="Azure doc: NOT with 3 controls = 6·(4−2)",
    ),
    pytest.param(
        "qis",
        [{"gate": "x", "targets": [2], "controls": [0, 1]}],
        {"1q": 0, "2q": 6},
        id="toffoli = 6·(3−2)",
    ),
    pytest.param(
        "qis",
        [{"gate": "swap", "targets": [0, 1], "controls": [2]}],
        {"1q": 0, "2q": 6},
        id="cswap, N = 3",
    ),
    pytest.param(
        "qis",
        [{"gate": "rz", "target": 1, "controls": [0], "rotation": 1}],
        {"1q": 0, "2q": 1},
        id="1q gate with one control",
    ),
    pytest.param(
        "qis",
        [{"gate": g, "targets": [0, 1], "rotation": 1} for g in ("xx", "yy", "zz")]
        + [{"gate": "swap", "targets": [0, 1]}],
        {"1q": 0, "2q": 4},
        id="2q gates",
    ),
    pytest.param(
        "qis",
        [
            {
                "gate": "pauliexp",
                "targets": [0, 1, 2],
                "terms": ["XYZ", "IIZ", "III"],
                "coefficients": [1, 1, 1],
                "time": 1,
            }
        ],
        {"1q": (1 + 2 * 2) + 1, "2q": 2 * 2},
        id="pauliexp per-term rule",
    ),
    pytest.param(
        "native",
        [
            {"gate": "gpi", "target": 0, "phase": 0},
            {"gate": "gpi2", "targets": [0, 1], "phase": 0},
            {"gate": "ms", "targets": [0, 1], "phases": [0, 0]},
            {"gate": "nop", "targets": [0]},
        ],
        {"1q": 3, "2q": 1},
        id="native, nop not counted",
    ),
]


@pytest.mark.parametrize(("gateset", "gates", "expected"), COUNTS)
def test_gate_counts_billing_rules(
    gateset: str, gates: list[dict[str, Any]], expected: dict[str, int]
) -> None:
    c = parse_circuit(gates, gateset=gateset, qubits=4)
    assert gate_counts(c) == expected


# --------------------------------------------------------------------------- exports


def test_qasm3_matches_semantics_example() -> None:
    c = native(
        [
            {"gate": "gpi2", "target": 0, "phase": 0.25},
            {"gate": "ms", "targets": [0, 1], "phases": [0, 0], "angle": 0.25},
        ],
        qubits=2,
    )
    assert to_qasm3(c) == (
        "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\ngpi2(0.25) q[0];\n"
        "ms(0, 0, 0.25) q[0], q[1];\nc = measure q;\n"
    )


def test_native_json_shape() -> None:
    c = native(
        [
            {"gate": "gpi", "target": 1, "phase": 0.5},
            {"gate": "zz", "targets": [0, 1], "phase": 0.125},
        ],
        qubits=3,
    )
    assert native_json(c) == {
        "qubits": 3,
        "circuit": [
            {"gate": "gpi", "target": 1, "phase": 0.5},
            {"gate": "zz", "targets": [0, 1], "angle": 0.125},
        ],
    }


def test_exports_need_a_native_circuit() -> None:
    with pytest.raises(ValueError, match="native"):
        to_qasm3(qis([{"gate": "h", "target": 0}]))


def test_h_compiles_to_the_documented_form_up_to_frame() -> None:
    # h = gpi2(1/4) then gpi(0) (semantics.md §1.3): two natives at most, exact.
    c = compile_native(qis([{"gate": "h", "target": 0}]), family="ms")
    assert len(c.gates) <= 3
    assert phase_distance(circuit_unitary(c), G.h_matrix()) < 1e-10
    assert math.isclose(abs(circuit_unitary(c)[0, 0]), 1 / math.sqrt(2))

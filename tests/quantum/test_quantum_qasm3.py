"""OpenQASM 3 parser (issue 15): gate semantics against Qiskit's matrices, registers, dynamic
constructs, what qiskit.qasm3.dumps emits, and errors with line numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qhelpers import embed, phase_distance
from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import library as lib
from qiskit.quantum_info import Operator

from ionstack.errors import JobFailure
from ionstack.quantum import gates as G
from ionstack.quantum.circuit import Gate
from ionstack.quantum.program import Combined, Condition, If, Measure, Program, Reset
from ionstack.quantum.program_native import compile_to_native_qasm3
from ionstack.quantum.qasm3 import parse_program

HEAD = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def unitary(p: Program) -> np.ndarray:
    """The product of the program's gates (no measurement), little-endian like Qiskit."""
    n = p.qubits
    u = np.eye(1 << n, dtype=np.complex128)
    for op in p.ops:
        assert isinstance(op, Gate)
        u = embed(n, op.qubits, G.gate_matrix(op, p.gateset)) @ u
    return u


def qiskit_unitary(qc: QuantumCircuit) -> np.ndarray:
    return np.asarray(Operator(qc).data)


A, B, C, D = 0.3, -1.1, 2.2, 0.7
STDGATES = [
    ("id", lib.IGate(), 1),
    ("x", lib.XGate(), 1),
    ("y", lib.YGate(), 1),
    ("z", lib.ZGate(), 1),
    ("h", lib.HGate(), 1),
    ("s", lib.SGate(), 1),
    ("sdg", lib.SdgGate(), 1),
    ("t", lib.TGate(), 1),
    ("tdg", lib.TdgGate(), 1),
    ("sx", lib.SXGate(), 1),
    (f"rx({A})", lib.RXGate(A), 1),
    (f"ry({A})", lib.RYGate(A), 1),
    (f"rz({A})", lib.RZGate(A), 1),
    (f"p({B})", lib.PhaseGate(B), 1),
    (f"phase({B})", lib.PhaseGate(B), 1),
    (f"u1({B})", lib.U1Gate(B), 1),
    (f"u2({A}, {B})", lib.U2Gate(A, B), 1),
    (f"u3({A}, {B}, {C})", lib.U3Gate(A, B, C), 1),
    (f"U({A}, {B}, {C})", lib.UGate(A, B, C), 1),
    ("cx", lib.CXGate(), 2),
    ("CX", lib.CXGate(), 2),
    ("cy", lib.CYGate(), 2),
    ("cz", lib.CZGate(), 2),
    ("ch", lib.CHGate(), 2),
    (f"cp({B})", lib.CPhaseGate(B), 2),
    (f"cphase({B})", lib.CPhaseGate(B), 2),
    (f"crx({A})", lib.CRXGate(A), 2),
    (f"cry({A})", lib.CRYGate(A), 2),
    (f"crz({A})", lib.CRZGate(A), 2),
    (f"cu({A}, {B}, {C}, {D})", lib.CUGate(A, B, C, D), 2),
    ("swap", lib.SwapGate(), 2),
    ("ccx", lib.CCXGate(), 3),
    ("cswap", lib.CSwapGate(), 3),
]


@pytest.mark.parametrize(("call", "gate", "k"), STDGATES, ids=[s[0] for s in STDGATES])
def test_stdgates_equal_qiskit_exactly(call: str, gate: object, k: int) -> None:
    """Every stdgates.inc gate, on qubits in a scrambled order, equals Qiskit's matrix with
    its global phase (what makes ``ctrl @`` exact)."""
    order = [2, 0, 1][:k]
    args = ", ".join(f"q[{i}]" for i in order)
    p = parse_program(f"{HEAD}qubit[3] q;\n{call} {args};\n")
    qc = QuantumCircuit(3)
    qc.append(gate, order)
    assert np.max(np.abs(unitary(p) - qiskit_unitary(qc))) < 1e-12


@pytest.mark.parametrize(
    ("text", "gate", "qubits"),
    [
        (f"ctrl @ U({A}, {B}, {C}) q[1], q[0];", lib.UGate(A, B, C).control(1), [1, 0]),
        (f"ctrl(2) @ rz({A}) q[0], q[2], q[1];", lib.RZGate(A).control(2), [0, 2, 1]),
        ("ctrl @ ctrl @ h q[2], q[0], q[1];", lib.HGate().control(2), [2, 0, 1]),
        ("negctrl @ x q[0], q[1];", lib.XGate().control(1, ctrl_state=0), [0, 1]),
        (f"inv @ u3({A}, {B}, {C}) q[1];", lib.U3Gate(A, B, C).inverse(), [1]),
        ("inv @ sx q[0];", lib.SXdgGate(), [0]),
        ("pow(3) @ t q[0];", lib.PhaseGate(3 * math.pi / 4), [0]),
        ("pow(-2) @ s q[0];", lib.ZGate(), [0]),
        (f"ctrl @ gphase({B}) q[1];", lib.PhaseGate(B), [1]),
        (f"ctrl @ p({B}) q[0], q[1];", lib.CPhaseGate(B), [0, 1]),
    ],
)
def test_modifiers_are_exact(text: str, gate: object, qubits: list[int]) -> None:
    p = parse_program(f"{HEAD}qubit[3] q;\n{text}\n")
    qc = QuantumCircuit(3)
    qc.append(gate, qubits)
    assert np.max(np.abs(unitary(p) - qiskit_unitary(qc))) < 1e-12


def test_gate_definitions_inline_with_parameters_and_modifiers() -> None:
    text = f"""{HEAD}
gate inner(a) x, y {{ rz(a / 2) y; cx x, y; }}
gate outer(t, u) a, b {{ h a; inner(t * 2 + u) b, a; gphase(pi / 7); }}
qubit[3] q;
outer(0.25, π - 1) q[2], q[0];
ctrl @ outer(0.1, 0.2) q[1], q[0], q[2];
inv @ outer(0.3, 0.4) q[0], q[1];
"""
    p = parse_program(text)
    inner = QuantumCircuit(2, name="inner")

    def outer(t: float, u: float) -> QuantumCircuit:
        c = QuantumCircuit(2, global_phase=math.pi / 7)
        c.h(0)
        inner_c = QuantumCircuit(2)
        a = t * 2 + u
        inner_c.rz(a / 2, 1)
        inner_c.cx(0, 1)
        c.append(inner_c.to_gate(), [1, 0])
        return c

    qc = QuantumCircuit(3)
    qc.append(outer(0.25, math.pi - 1).to_gate(), [2, 0])
    qc.append(outer(0.1, 0.2).to_gate().control(1), [1, 0, 2])
    qc.append(outer(0.3, 0.4).to_gate().inverse(), [0, 1])
    del inner
    # the top-level global phase is unobservable; the controlled one is kept exactly
    assert phase_distance(unitary(p), qiskit_unitary(qc)) < 1e-12


QISKIT_GATES = [
    lib.RZXGate(0.3),
    lib.RXXGate(0.2),
    lib.RYYGate(-0.4),
    lib.RZZGate(0.9),
    lib.XXPlusYYGate(0.3, 0.1),
    lib.XXMinusYYGate(0.5, -0.2),
    lib.ECRGate(),
    lib.iSwapGate(),
    lib.DCXGate(),
    lib.CSGate(),
    lib.CSdgGate(),
    lib.CSXGate(),
    lib.SXdgGate(),
    lib.RCCXGate(),
    lib.C3XGate(),
    lib.RGate(0.1, 0.2),
    lib.MCPhaseGate(0.3, 2),
    lib.QFTGate(3),
    lib.QFTGate(2).inverse(),
]


@pytest.mark.parametrize("gate", QISKIT_GATES, ids=lambda g: g.name)
def test_qiskit_dumps_of_library_gates(gate: object) -> None:
    """What qiskit.qasm3.dumps writes for gates outside stdgates.inc (``gate`` definitions)
    parses to the same operator (up to the global phase the exporter drops)."""
    n = gate.num_qubits  # type: ignore[attr-defined]
    qc = QuantumCircuit(n + 1)
    qc.append(gate, list(range(n, 0, -1)))
    p = parse_program(qasm3.dumps(qc))
    assert phase_distance(unitary(p), qiskit_unitary(qc)) < 1e-10


def test_registers_flattened_in_declaration_order_and_qreg_creg() -> None:
    p = parse_program(
        "OPENQASM 3.0;\nqubit[2] a;\nqreg b[3];\nqubit s;\nbit[2] c;\ncreg d[1];\nbit e;\n"
        "x b[1];\nmeasure b -> c[{0, 1, 0}];\nd[0] = measure s;\ne = measure a[1];\n"
        "c = measure a;\nmeasure s;\n",
        qubits=8,
    )
    assert (p.qubits, p.declared_qubits) == (8, 6)
    assert p.registers == (("c", 2), ("d", 1), ("e", 1))
    assert p.ops == (
        Gate("x", (3,)),
        Measure(2, "c", 0),
        Measure(3, "c", 1),
        Measure(4, "c", 0),
        Measure(5, "d", 0),
        Measure(1, "e", 0),
        Measure(0, "c", 0),
        Measure(1, "c", 1),
        Measure(5, None),
    )


def test_dynamic_constructs() -> None:
    p = parse_program(
        f"{HEAD}qubit[2] q;\nbit[2] c;\nh q[0];\nc[0] = measure q[0];\nreset q;\n"
        "if (c[0]) { x q[1]; } else { h q[1]; }\nif (!c[1]) x q[0];\n"
        "if (c == 2) { if (c[1] == 0) { z q[0]; } }\nif (3 != c) y q[1];\n"
    )
    ops = p.ops
    assert ops[2:4] == (Reset(0), Reset(1))
    assert ops[4] == If(Condition("c", 0, 1), (Gate("x", (1,)),), (Gate("h", (1,)),))
    assert ops[5] == If(Condition("c", 1, 1, equal=False), (Gate("x", (0,)),))
    assert ops[6] == If(Condition("c", None, 2), (If(Condition("c", 1, 0), (Gate("z", (0,)),)),))
    assert ops[7] == If(Condition("c", None, 3, equal=False), (Gate("y", (1,)),))
    both = parse_program(
        f"{HEAD}qubit[1] q;\nbit[2] c;\nbit d;\nif (c[0] && !(c == 2 || d)) {{ x q[0]; }}\n"
    ).ops[0]
    assert isinstance(both, If)
    assert both.condition == Combined(
        "and",
        Condition("c", 0, 1),
        Combined("and", Condition("c", None, 2, equal=False), Condition("d", None, 1, False)),
    )
    assert p.dynamic and p.static_circuit() is None


def test_static_circuit_and_gate_counts() -> None:
    static = parse_program(
        f"{HEAD}qubit[3] q;\nbit[3] c;\nh q[0];\ncx q[0], q[1];\nccx q[0], q[1], q[2];\n"
        "barrier q;\nc = measure q;\n"
    )
    circuit = static.static_circuit()
    assert circuit is not None and not static.dynamic
    assert [g.name for g in circuit.gates] == ["h", "x", "x"]
    assert static.gate_counts() == (1, 1 + 6)
    # an if counts once, each figure the larger branch: then (1q 2, 2q 1), else (1q 1, 2q 2)
    dyn = parse_program(
        f"{HEAD}qubit[2] q;\nbit[1] c;\nh q[0];\nc[0] = measure q[0];\n"
        "if (c[0]) { x q[1]; h q[1]; cx q[0], q[1]; }\n"
        "else { cx q[0], q[1]; cx q[1], q[0]; h q[0]; }\nrzz(0.1) q[0], q[1];\n"
    )
    assert dyn.gate_counts() == (1 + 2, 2 + 1)
    assert dyn.dynamic
    # measurement then a gate on the same qubit is mid-circuit
    mid = parse_program(f"{HEAD}qubit[1] q;\nbit[1] c;\nc[0] = measure q[0];\nx q[0];\n")
    assert mid.dynamic


def test_qubits_smaller_than_declared_is_an_error() -> None:
    with pytest.raises(JobFailure) as e:
        parse_program(f"{HEAD}qubit[3] q;\nx q[0];\n", qubits=2)
    assert e.value.code == "InvalidInput"
    assert "2 is fewer than the 3 qubits" in e.value.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x q[0]\nh q[0];", "syntax error at line 6, column 0"),
        ("h q[0;", "syntax error at line 5"),
        ("foo q[0];", "unknown gate 'foo' at line 5"),
        ("while (c[0]) { x q[0]; }", "while loop at line 5: not supported"),
        ("for int i in [0:2] { x q[0]; }", "for loop at line 5: not supported"),
        ("def f(qubit a) { x a; }", "def subroutine at line 5: not supported"),
        ("int i = 3;", "classical variable of type int at line 5"),
        ("c[0] = 1;", "classical assignment at line 5: not supported"),
        ("x q[5];", "qubit 'q' at line 5: index 5 out of range (size 2)"),
        ("rx(t) q[0];", "identifier 't' at line 5"),
        ("cx q[0], q[0];", "gate 'cx' at line 5: the same qubit is used twice"),
        ("rx(0.1, 0.2) q[0];", "gate 'rx' at line 5: takes 1 parameters and 1 qubits"),
        ("if (c == 4) { x q[0]; }", "condition at line 5: 4 does not fit in 2 bit(s)"),
        ("c = measure q[0];", "measure at line 5: 1 qubits into 2 bits"),
        ('include "other.inc";', "include 'other.inc' at line 5"),
        ("pow(0.5) @ x q[0];", "at line 5: an integer literal is required"),
        ("box { x q[0]; }", "box at line 5: not supported"),
    ],
)
def test_errors_name_the_construct_and_line(body: str, message: str) -> None:
    with pytest.raises(JobFailure) as e:
        parse_program(f"{HEAD}qubit[2] q;\nbit[2] c;\n{body}\n")
    assert e.value.code == "InvalidInput"
    assert message in e.value.message, e.value.message


@pytest.mark.parametrize("text", ["", "   ", "OPENQASM 3.0;\nbit c;\n", "\x00", "OPENQASM 3.0;"])
def test_empty_or_qubitless_programs_fail_cleanly(text: str) -> None:
    with pytest.raises(JobFailure) as e:
        parse_program(text)
    assert e.value.code == "InvalidInput"


def test_native_qasm3_round_trip() -> None:
    """The compiled program parses back (with the native gates declared) to the same ops."""
    text = (
        f"{HEAD}qubit[3] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc[0] = measure q[0];\n"
        "reset q[0];\nif (c[0]) { rx(0.3) q[2]; } else { cz q[1], q[2]; }\nc[1] = measure q[2];\n"
    )
    out = compile_to_native_qasm3(parse_program(text), family="ms")
    assert "reset q[0];" in out and "if (c[0] == 1) {" in out and "} else {" in out
    assert "ms(" in out and out.endswith(
        "// output_all: every qubit is measured at the end (qubit i = bit i)\n"
    )
    zz = compile_to_native_qasm3(parse_program(text), family="zz")
    body = "\n".join(line for line in zz.splitlines() if not line.startswith("//"))
    assert "zz(" in body and "ms(" not in body
    decl = (
        "gate gpi(p) a { U(pi, 2 * pi * p, pi - 2 * pi * p) a; }\n"
        "gate gpi2(p) a { U(pi / 2, 2 * pi * p - pi / 2, pi / 2 - 2 * pi * p) a; }\n"
        "gate ms(p0, p1, t) a, b { U(0, 0, 0) a; }\n"
    )
    head, rest = out.split("qubit[3] q;\n", 1)
    again = parse_program(head + decl + "qubit[3] q;\n" + rest)
    assert again.registers == (("c", 2),) and again.qubits == 3
    compound = parse_program(
        f"{HEAD}qubit[2] q;\nbit[2] c;\nc[0] = measure q[0];\n"
        "if (!(c[0] || c == 2) && c[1]) { x q[1]; }\n"
    )
    written = compile_to_native_qasm3(compound, family="ms")
    assert "if ((c[0] != 1 && c != 2) && c[1] == 1) {" in written
    back = parse_program(head + decl + written.split("\n", 2)[2])
    assert [op.condition for op in back.ops if isinstance(op, If)] == [
        op.condition for op in compound.ops if isinstance(op, If)
    ]
    assert sum(isinstance(op, Reset) for op in again.ops) == 1


def test_physical_qubits_of_a_transpiled_circuit() -> None:
    """``dumps`` of a transpiled circuit names physical qubits ``$i``: qubit i."""
    from qiskit import transpile
    from qiskit.transpiler import CouplingMap

    qc = QuantumCircuit(3, 2)
    qc.h(0)
    qc.measure(0, 0)
    qc.reset(0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.cx(1, 2)
    qc.measure(2, 1)
    t = transpile(
        qc,
        basis_gates=["rx", "ry", "rz", "cx", "measure", "reset", "if_else"],
        coupling_map=CouplingMap.from_full(5),
        optimization_level=1,
        seed_transpiler=1,
    )
    text = qasm3.dumps(t)
    assert "$0" in text
    p = parse_program(text, qubits=5)
    assert (p.qubits, p.registers) == (5, (("c", 2),))
    assert Measure(0, "c", 0) in p.ops and Reset(0) in p.ops
    with pytest.raises(JobFailure) as e:
        parse_program(f"{HEAD}qubit[2] q;\nx $0;\n")
    assert "physical qubit $0 at line 4: cannot be mixed" in e.value.message
    with pytest.raises(JobFailure) as e:
        parse_program(f"{HEAD}x $1;\nqubit[2] q;\n")
    assert "qubit declaration at line 4: cannot be mixed" in e.value.message

"""Parser accept/reject tables: every client encoding of clients.md §7, every failure code."""

from __future__ import annotations

from typing import Any

import pytest

from ionstack.errors import JobFailure
from ionstack.quantum.circuit import Gate, parse_circuit, parse_input

# (gateset, gate JSON, expected normalised gates)
ACCEPT: list[Any] = [
    pytest.param(
        "qis", {"gate": "h", "targets": [0]}, [Gate("h", (0,))], id="qiskit/cirq 1q: targets list"
    ),
    pytest.param("qis", {"gate": "h", "target": 0}, [Gate("h", (0,))], id="pennylane 1q: target"),
    pytest.param(
        "qis",
        {"gate": "rx", "targets": [0], "rotation": 0.5},
        [Gate("rx", (0,), rotation=0.5)],
        id="rotation radians",
    ),
    pytest.param(
        "qis",
        {"gate": "x", "targets": [1], "controls": [0]},
        [Gate("x", (1,), (0,))],
        id="qiskit CX = x + controls",
    ),
    pytest.param(
        "qis",
        {"gate": "cnot", "control": 0, "target": 1},
        [Gate("x", (1,), (0,))],
        id="cirq/pennylane cnot",
    ),
    pytest.param(
        "qis",
        {"gate": "cnot", "controls": [1, 2], "target": 0},
        [Gate("x", (0,), (1, 2))],
        id="docs cnot with controls",
    ),
    pytest.param(
        "qis",
        {"gate": "x", "targets": [2], "controls": [0, 1]},
        [Gate("x", (2,), (0, 1))],
        id="qiskit mcx",
    ),
    pytest.param("qis", {"gate": "not", "target": 3}, [Gate("x", (3,))], id="not alias"),
    pytest.param("qis", {"gate": "swap", "targets": [0, 1]}, [Gate("swap", (0, 1))], id="swap"),
    pytest.param(
        "qis",
        {"gate": "zz", "targets": [0, 1], "rotation": 0.3},
        [Gate("zz", (0, 1), rotation=0.3)],
        id="qis zz",
    ),
    pytest.param(
        "qis",
        {"gate": "z", "targets": [0], "rotation": 0.2, "controls": [1]},
        [Gate("z", (0,), (1,), rotation=0.2)],
        id="qiskit cp = z + rotation",
    ),
    pytest.param(
        "qis",
        {
            "gate": "pauliexp",
            "targets": [1, 2],
            "terms": ["XX", "YY", "ZZ"],
            "coefficients": [0.1, 0.2, 0.3],
            "time": 0.4,
        },
        [
            Gate(
                "pauliexp", (1, 2), terms=("XX", "YY", "ZZ"), coefficients=(0.1, 0.2, 0.3), time=0.4
            )
        ],
        id="pauliexp",
    ),
    pytest.param(
        "qis", {"gate": "h", "targets": [0.0]}, [Gate("h", (0,))], id="integral float index"
    ),
    pytest.param(
        "qis",
        {"gate": "h", "targets": [0, 2]},
        [Gate("h", (0,)), Gate("h", (2,))],
        id="1q broadcast over targets",
    ),
    pytest.param("qis", {"gate": "H", "target": 0}, [Gate("h", (0,))], id="case-insensitive name"),
    pytest.param(
        "native",
        {"gate": "gpi", "target": 0, "phase": 0.25},
        [Gate("gpi", (0,), phase=0.25)],
        id="gpi",
    ),
    pytest.param(
        "native",
        {"gate": "gpi2", "target": 0, "phase": -1},
        [Gate("gpi2", (0,), phase=-1.0)],
        id="gpi2 phase -1",
    ),
    pytest.param(
        "native",
        {"gate": "ms", "targets": [0, 1], "phases": [0.0, 0.0], "angle": 0.25},
        [Gate("ms", (0, 1), phases=(0.0, 0.0), angle=0.25)],
        id="qiskit ms",
    ),
    pytest.param(
        "native",
        {"gate": "ms", "targets": [0, 1], "phases": [0, 0]},
        [Gate("ms", (0, 1), phases=(0.0, 0.0), angle=0.25)],
        id="ms without angle = 1/4",
    ),
    pytest.param(
        "native",
        {"gate": "zz", "targets": [0, 1], "angle": 0.1},
        [Gate("zz", (0, 1), angle=0.1)],
        id="native zz angle",
    ),
    pytest.param(
        "native",
        {"gate": "zz", "targets": [0, 1], "phase": 0.1},
        [Gate("zz", (0, 1), angle=0.1)],
        id="cirq native zz phase alias",
    ),
    pytest.param(
        "native",
        {"gate": "nop", "targets": [0], "time": 5},
        [Gate("nop", (0,), time=5.0)],
        id="goqu nop with time",
    ),
]


@pytest.mark.parametrize(("gateset", "raw", "expected"), ACCEPT)
def test_accepts_client_encodings(gateset: str, raw: dict[str, Any], expected: list[Gate]) -> None:
    c = parse_circuit([raw], gateset=gateset, qubits=4)
    assert list(c.gates) == expected
    assert c.gateset == gateset


# (gateset, qubits, circuit, code, key, message fragment)
REJECT: list[Any] = [
    pytest.param(
        "qis",
        2,
        [{"gate": "h", "target": 0}, {"gate": "h", "target": 5}],
        "InvalidInput",
        "input.circuit.1.target",
        "input.circuit[1].target: qubit 5 out of range for 2 qubits",
        id="index ≥ qubits",
    ),
    pytest.param(
        "qis",
        2,
        [{"gate": "x", "targets": [0, 7]}],
        "InvalidInput",
        "input.circuit.0.targets.1",
        "qubit 7 out of range",
        id="element of targets",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "foo", "target": 0}],
        "PreflightError",
        "input.circuit.0.gate",
        "unknown gate 'foo'",
        id="unknown gate",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "gpi", "target": 0, "phase": 0}],
        "InvalidInput",
        "input.circuit.0.gate",
        "gatesets cannot be mixed",
        id="native gate in qis",
    ),
    pytest.param(
        "native",
        3,
        [{"gate": "h", "target": 0}],
        "InvalidInput",
        "input.circuit.0.gate",
        "gatesets cannot be mixed",
        id="qis gate in native",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "h", "target": 0, "rotation": 1}],
        "InvalidInput",
        "input.circuit.0.rotation",
        "not allowed",
        id="rotation on fixed gate",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "rx", "target": 0}],
        "InvalidInput",
        "input.circuit.0.rotation",
        "requires 'rotation'",
        id="missing rotation",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "rx", "target": 0, "rotation": "1"}],
        "InvalidInput",
        "input.circuit.0.rotation",
        "finite number",
        id="string rotation",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "rx", "target": 0, "rotation": float("nan")}],
        "InvalidInput",
        "input.circuit.0.rotation",
        "finite number",
        id="nan rotation",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "h", "target": 0.5}],
        "InvalidInput",
        "input.circuit.0.target",
        "non-negative integer",
        id="fractional index",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "h", "target": -1}],
        "InvalidInput",
        "input.circuit.0.target",
        "non-negative integer",
        id="negative index",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "h", "target": True}],
        "InvalidInput",
        "input.circuit.0.target",
        "non-negative integer",
        id="boolean index",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "h", "target": 0, "targets": [0]}],
        "InvalidInput",
        "input.circuit.0.targets",
        "not both",
        id="target and targets",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "x", "target": 0, "control": 1, "controls": [2]}],
        "InvalidInput",
        "input.circuit.0.controls",
        "not both",
        id="control and controls",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "x", "target": 0, "controls": [0]}],
        "InvalidInput",
        "input.circuit.0.controls",
        "both control and target",
        id="control = target",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "x", "target": 0, "controls": [1, 1]}],
        "InvalidInput",
        "input.circuit.0.controls",
        "duplicate control",
        id="duplicate controls",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "swap", "targets": [1, 1]}],
        "InvalidInput",
        "input.circuit.0.targets",
        "duplicate target",
        id="duplicate targets",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "swap", "targets": [1]}],
        "InvalidInput",
        "input.circuit.0.targets",
        "exactly 2 targets",
        id="swap arity",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "cnot", "target": 1}],
        "InvalidInput",
        "input.circuit.0.control",
        "requires a control",
        id="cnot without control",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "h"}],
        "InvalidInput",
        "input.circuit.0.targets",
        "requires a target",
        id="missing target",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "h", "target": 0, "foo": 1}],
        "InvalidInput",
        "input.circuit.0.foo",
        "not allowed",
        id="unknown field",
    ),
    pytest.param(
        "qis",
        3,
        [["h", 0]],
        "InvalidInput",
        "input.circuit.0",
        "must be an object",
        id="gate not an object",
    ),
    pytest.param(
        "qis",
        3,
        [{"target": 0}],
        "InvalidInput",
        "input.circuit.0.gate",
        "missing gate name",
        id="missing gate key",
    ),
    pytest.param(
        "qis",
        3,
        [
            {
                "gate": "pauliexp",
                "targets": [0, 1],
                "terms": ["XX", "Y"],
                "coefficients": [1, 2],
                "time": 1,
            }
        ],
        "InvalidInput",
        "input.circuit.0.terms.1",
        "expected 2",
        id="pauliexp term length",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "pauliexp", "targets": [0, 1], "terms": ["XA"], "coefficients": [1], "time": 1}],
        "InvalidInput",
        "input.circuit.0.terms.0",
        "outside I, X, Y, Z",
        id="pauliexp bad letter",
    ),
    pytest.param(
        "qis",
        3,
        [
            {
                "gate": "pauliexp",
                "targets": [0, 1],
                "terms": ["XX"],
                "coefficients": [1, 2],
                "time": 1,
            }
        ],
        "InvalidInput",
        "input.circuit.0.coefficients",
        "2 coefficients for 1 terms",
        id="pauliexp terms ≠ coefficients",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "pauliexp", "targets": [0], "terms": ["X"], "coefficients": [1], "time": -1}],
        "InvalidInput",
        "input.circuit.0.time",
        "≥ 0",
        id="pauliexp negative time",
    ),
    pytest.param(
        "qis",
        3,
        [{"gate": "pauliexp", "targets": [0], "terms": ["X"], "coefficients": [1]}],
        "InvalidInput",
        "input.circuit.0.time",
        "requires 'time'",
        id="pauliexp missing time",
    ),
    pytest.param(
        "native",
        3,
        [{"gate": "gpi", "target": 0, "phase": 1.5}],
        "InvalidInput",
        "input.circuit.0.phase",
        "outside [-1, 1]",
        id="phase out of range",
    ),
    pytest.param(
        "native",
        3,
        [{"gate": "ms", "targets": [0, 1], "phases": [0, 0], "angle": 0.3}],
        "InvalidInput",
        "input.circuit.0.angle",
        "outside [0, 0.25]",
        id="ms angle out of range",
    ),
    pytest.param(
        "native",
        3,
        [{"gate": "ms", "targets": [0, 1], "phases": [0]}],
        "InvalidInput",
        "input.circuit.0.phases",
        "two phases",
        id="ms one phase",
    ),
    pytest.param(
        "native",
        3,
        [{"gate": "zz", "targets": [0, 1], "angle": 1.5}],
        "InvalidInput",
        "input.circuit.0.angle",
        "outside [-1, 1]",
        id="zz angle range",
    ),
    pytest.param(
        "native",
        3,
        [{"gate": "gpi", "target": 0, "phase": 0, "controls": [1]}],
        "InvalidInput",
        "input.circuit.0.controls",
        "does not take controls",
        id="native controls",
    ),
    pytest.param(
        "native",
        3,
        [{"gate": "gpi", "target": 0}],
        "InvalidInput",
        "input.circuit.0.phase",
        "requires 'phase'",
        id="gpi missing phase",
    ),
]


@pytest.mark.parametrize(("gateset", "qubits", "circuit", "code", "key", "text"), REJECT)
def test_rejects_invalid_circuits(
    gateset: str, qubits: int, circuit: list[Any], code: str, key: str, text: str
) -> None:
    with pytest.raises(JobFailure) as info:
        parse_circuit(circuit, gateset=gateset, qubits=qubits)
    assert info.value.code == code
    assert info.value.key == key
    assert text in info.value.message
    assert info.value.message.startswith(key.split(".")[0])


def test_width_defaults_to_max_index_plus_one() -> None:
    c = parse_circuit([{"gate": "x", "targets": [4], "controls": [1]}], gateset="qis", qubits=None)
    assert c.qubits == 5


def test_single_circuit_input() -> None:
    (c,) = parse_input(
        {"qubits": 2, "gateset": "qis", "circuit": [{"gate": "h", "target": 0}]},
        job_type="ionq.circuit.v1",
    )
    assert (c.qubits, c.gateset, c.name, c.registers) == (2, "qis", None, None)


def test_multi_circuit_inheritance_semantics_5_8() -> None:
    # ionq-core's mixed-gateset example (clients.md appendix) plus per-circuit overrides.
    inp = {
        "gateset": "native",
        "qubits": 2,
        "circuits": [
            {
                "circuit": [
                    {"gate": "h", "target": 0},
                    {"gate": "cnot", "target": 1, "control": 0},
                ],
                "name": "qis override",
                "gateset": "qis",
            },
            {"circuit": [{"gate": "gpi", "target": 1, "phase": 0}], "name": "native from parent"},
            {
                "circuit": [{"gate": "gpi", "target": 3, "phase": 0}],
                "qubits": 5,
                "registers": {"meas_mapped": [3, None, 0]},
            },
        ],
    }
    a, b, c = parse_input(inp, job_type="ionq.multi-circuit.v1")
    assert (a.gateset, a.qubits, a.name) == ("qis", 2, "qis override")
    assert (b.gateset, b.qubits, b.name) == ("native", 2, "native from parent")
    assert (c.gateset, c.qubits, c.registers) == ("native", 5, {"meas_mapped": (3, None, 0)})


def test_multi_circuit_width_falls_back_to_max_index() -> None:
    inp = {"gateset": "qis", "circuits": [{"circuit": [{"gate": "x", "target": 6}]}]}
    assert parse_input(inp, job_type="ionq.multi-circuit.v1")[0].qubits == 7


@pytest.mark.parametrize(
    ("inp", "job_type", "key", "text"),
    [
        pytest.param(
            {"circuit": [], "circuits": []},
            "ionq.circuit.v1",
            "input.circuits",
            "not allowed",
            id="both circuit and circuits",
        ),
        pytest.param(
            {"circuits": [{"circuit": [{"gate": "h", "target": 3}]}], "qubits": 2},
            "ionq.multi-circuit.v1",
            "input.circuits.0.circuit.0.target",
            "input.circuits[0].circuit[0].target: qubit 3 out of range for 2 qubits",
            id="child path in message and key",
        ),
        pytest.param(
            {"circuits": [{"circuit": [], "registers": {"r": [0, 9]}, "qubits": 2}]},
            "ionq.multi-circuit.v1",
            "input.circuits.0.registers.r.1",
            "out of range",
            id="register index out of range",
        ),
        pytest.param(
            {"gateset": "qasm", "circuit": []},
            "ionq.circuit.v1",
            "input.gateset",
            "gateset must be",
            id="bad gateset",
        ),
        pytest.param(
            {"qubits": 0, "circuit": []},
            "ionq.circuit.v1",
            "input.qubits",
            "positive integer",
            id="zero qubits",
        ),
        pytest.param(
            {"circuits": []},
            "ionq.multi-circuit.v1",
            "input.circuits",
            "non-empty",
            id="empty multi",
        ),
        pytest.param(
            {"circuit": []}, "ionq.qasm3.v1", "type", "unsupported job type", id="unknown job type"
        ),
    ],
)
def test_input_level_failures(inp: dict[str, Any], job_type: str, key: str, text: str) -> None:
    with pytest.raises(JobFailure) as info:
        parse_input(inp, job_type=job_type)
    assert info.value.code == "InvalidInput"
    assert info.value.key == key
    assert text in info.value.message


def test_failure_renders_job_failure_object() -> None:
    with pytest.raises(JobFailure) as info:
        parse_circuit([{"gate": "nope", "target": 0}], gateset="qis", qubits=1)
    assert info.value.failure() == {
        "code": "PreflightError",
        "message": "input.circuit[0].gate: unknown gate 'nope'",
    }

"""Dynamic programs: gates, mid-circuit measurement, reset and classical feed-forward (issue 15).

The intermediate form of an ``ionq.qasm3.v1`` job, built by
:func:`ionstack.quantum.qasm3.parse_program` and run by
:func:`ionstack.quantum.dynamic.run_program`.

* **Qubits.** One flat index space: every ``qubit`` register of the text in declaration order
  (``qubit[2] a; qubit[3] b;`` → ``a[0..1]`` are qubits 0–1, ``b[0..2]`` qubits 2–4). Qubit
  ``i`` is bit ``i`` of the little-endian ``output_all`` outcome (semantics.md §0); physical
  qubits ``$i`` (a transpiled circuit) are qubit ``i``. A job's ``input.qubits`` may add idle
  qubits after them (not simulated; they read 0).
* **Classical registers.** ``registers`` lists the ``bit`` registers in declaration order with
  their widths; bit ``i`` of a register is its ``i``-th bit (``c[i]``), and a register read as
  an integer is ``Σ c[i]·2^i`` (OpenQASM 3; Qiskit's ``if_test((creg, v))``).
* **Ops.** :class:`~ionstack.quantum.circuit.Gate` (the circuit IR: QIS gates with exact
  phases, controls first; or native gates), :class:`Measure`, :class:`Reset`, :class:`If`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from ionstack.quantum.circuit import Circuit, Gate
from ionstack.quantum.compile import gate_counts as circuit_gate_counts
from ionstack.quantum.gates import GateSet

#: The register of the final measurement of every qubit, appended to every result (reserved).
OUTPUT_ALL = "output_all"


@dataclass(frozen=True, slots=True)
class Measure:
    """Measure ``qubit`` in the Z basis into ``register[bit]`` (``register=None``: discarded)."""

    qubit: int
    register: str | None
    bit: int = 0


@dataclass(frozen=True, slots=True)
class Reset:
    """Put ``qubit`` into ``|0⟩`` (a measurement whose outcome is dropped, then X if it was 1)."""

    qubit: int


@dataclass(frozen=True, slots=True)
class Condition:
    """``register[bit] == value`` (``bit`` given) or ``register == value`` (the register read as
    ``Σ bit_i·2^i``); ``equal=False`` negates it (``!=``, ``!c[0]`` is ``c[0] == 0``)."""

    register: str
    bit: int | None
    value: int
    equal: bool = True


@dataclass(frozen=True, slots=True)
class Combined:
    """``left && right`` (``op="and"``) or ``left || right`` (``op="or"``)."""

    op: Literal["and", "or"]
    left: Predicate
    right: Predicate


Predicate: TypeAlias = Condition | Combined


def negated(p: Predicate) -> Predicate:
    """``!p`` without a negation node: ``==``/``!=`` swapped, De Morgan on ``&&``/``||``."""
    if isinstance(p, Condition):
        return Condition(p.register, p.bit, p.value, not p.equal)
    return Combined("or" if p.op == "and" else "and", negated(p.left), negated(p.right))


def conditions(p: Predicate) -> Iterator[Condition]:
    """The comparisons of a predicate, left to right."""
    if isinstance(p, Condition):
        yield p
    else:
        yield from conditions(p.left)
        yield from conditions(p.right)


@dataclass(frozen=True, slots=True)
class If:
    """Run ``then`` when the condition holds on the shot's classical record, else ``orelse``."""

    condition: Predicate
    then: tuple[Op, ...]
    orelse: tuple[Op, ...] = ()


Op: TypeAlias = Gate | Measure | Reset | If


def walk(ops: Sequence[Op]) -> Iterator[Op]:
    """Every op, depth first, ``If`` bodies included (the ``If`` itself before its bodies)."""
    for op in ops:
        yield op
        if isinstance(op, If):
            yield from walk(op.then)
            yield from walk(op.orelse)


def _op_qubits(op: Op) -> tuple[int, ...]:
    if isinstance(op, Gate):
        return op.qubits
    if isinstance(op, Measure | Reset):
        return (op.qubit,)
    return tuple(q for inner in walk((*op.then, *op.orelse)) for q in _op_qubits(inner))


def _counts(ops: Sequence[Op], gateset: GateSet, qubits: int) -> tuple[int, int]:
    one = two = 0
    run: list[Gate] = []

    def flush() -> None:
        nonlocal one, two
        if run:
            c = circuit_gate_counts(Circuit(qubits=qubits, gateset=gateset, gates=tuple(run)))
            one, two = one + c["1q"], two + c["2q"]
            run.clear()

    for op in ops:
        if isinstance(op, Gate):
            run.append(op)
        elif isinstance(op, If):
            flush()
            a, b = _counts(op.then, gateset, qubits), _counts(op.orelse, gateset, qubits)
            one, two = one + max(a[0], b[0]), two + max(a[1], b[1])
    flush()
    return one, two


@dataclass(frozen=True)
class Program:
    """A parsed dynamic program.

    Attributes:
        qubits: Width of the job: the declared qubits, or the job's ``input.qubits`` when larger
            (the extra qubits stay idle in ``|0⟩``).
        registers: Classical ``bit`` registers ``(name, width)`` in declaration order.
        ops: The ops in program order.
        gateset: ``"qis"`` (parsed text) or ``"native"`` (compiled, :mod:`.program_native`).
        declared_qubits: Qubits declared by the text (≤ ``qubits``).
    """

    qubits: int
    registers: tuple[tuple[str, int], ...]
    ops: tuple[Op, ...]
    gateset: GateSet = "qis"
    declared_qubits: int = 0

    def offsets(self) -> dict[str, tuple[int, int]]:
        """Register name → ``(offset, width)`` in the flat classical record (declaration order)."""
        out: dict[str, tuple[int, int]] = {}
        offset = 0
        for name, width in self.registers:
            out[name] = (offset, width)
            offset += width
        return out

    def gates(self) -> Iterator[Gate]:
        """Every gate, ``If`` bodies included (both branches)."""
        return (op for op in walk(self.ops) if isinstance(op, Gate))

    def gate_counts(self) -> tuple[int, int]:
        """``(one_qubit, two_qubit)`` billing counts, each run of gates counted as a circuit's
        (:func:`ionstack.quantum.compile.gate_counts`: 1q per uncontrolled 1q gate, 2q per
        2-qubit gate, 6·(N−2) for a gate on N ≥ 3 qubits). A gate definition counts as the
        gates it expands to. An ``if``/``else`` counts once, each figure the larger of its
        two branches (no path is undercounted). Measure, reset and barrier count nothing."""
        return _counts(self.ops, self.gateset, self.qubits)

    @property
    def dynamic(self) -> bool:
        """Whether the program has a reset, an ``if``, or a measurement some later op acts on
        (a qubit measured then used again) — what a plain circuit cannot express."""
        return self.static_circuit() is None

    def static_circuit(self) -> Circuit | None:
        """The program as a plain :class:`Circuit` when every measurement is terminal (no later
        gate acts on its qubit) and there is no reset or ``if``; else ``None``.

        The registers of a static program are read from the final outcome of every qubit:
        ``register[bit]`` = the bit of the qubit measured into it (the last such measurement),
        0 for a bit never measured (:func:`ionstack.quantum.dynamic.registers_from_outcomes`).
        """
        measured: set[int] = set()
        gates: list[Gate] = []
        for op in self.ops:
            if isinstance(op, Reset | If):
                return None
            if isinstance(op, Measure):
                measured.add(op.qubit)
                continue
            if measured.intersection(op.qubits):
                return None
            gates.append(op)
        return Circuit(qubits=self.qubits, gateset=self.gateset, gates=tuple(gates))

    def active_qubits(self) -> int:
        """1 + the highest qubit any op touches (at least 1): the width to simulate."""
        top = max((q for op in walk(self.ops) for q in _op_qubits(op)), default=0)
        return top + 1

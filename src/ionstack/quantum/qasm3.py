"""OpenQASM 3 programs of ``ionq.qasm3.v1`` jobs → :class:`~ionstack.quantum.program.Program`.

Parsed with the reference parser (``openqasm3[parser]``), then lowered to the program IR. What
is accepted — what ``qiskit.qasm3.dumps`` (qiskit 2.x, used by qiskit-ionq) emits for circuits
with bound parameters:

* ``OPENQASM 3.0;``, ``include "stdgates.inc";`` (or ``"qelib1.inc"``);
* ``qubit[n] q;`` / ``qubit q;`` / ``qreg q[n];`` (several, named; flattened in declaration
  order, see :mod:`ionstack.quantum.program`), or physical qubits ``$0``, ``$1``… (what
  ``dumps`` writes for a transpiled circuit: ``$i`` is qubit ``i``; not mixed with registers);
  ``bit[n] c;`` / ``bit c;`` / ``creg c[n];``
  (any name but ``output_all``, reserved for the final measurement of every qubit);
* every ``stdgates.inc`` gate, ``U``, ``gphase``, Qiskit's ``rxx ryy rzz sxdg`` when the text
  does not define them, and ``gate`` definitions (inlined; parameters; nested calls), with the
  ``ctrl @``, ``negctrl @``, ``inv @`` and integer ``pow(k) @`` modifiers;
* ``c[i] = measure q[j];``, ``c = measure q;``, ``measure q -> c;``, ``measure q;`` anywhere;
  ``reset``; ``barrier`` and ``delay`` (ignored: no idle noise);
* ``if (c[0])``, ``if (!c[0])``, ``if (c[0] == 1)``, ``if (c == 2)``, ``if (c != 2)``, and
  their combinations with ``&&``, ``||``, ``!`` and parentheses (Qiskit's ``expr`` conditions),
  with ``else`` and nesting.

Gate semantics are Qiskit's gate library (what the exporter means): ``U(θ,φ,λ) =
[[cos θ/2, −e^{iλ} sin θ/2], [e^{iφ} sin θ/2, e^{i(φ+λ)} cos θ/2]]``, ``u3 = U``,
``u2(φ,λ) = U(π/2,φ,λ)``, ``p = u1 = phase``, ``cu(θ,φ,λ,γ)`` = controlled ``e^{iγ}·U``; every
matrix is exact, phases included, so ``ctrl @`` on any gate or definition is exact. (The
published ``stdgates.inc`` differs from these by global phases only.)
Angles are constant expressions: numbers, ``pi``/``π``/``tau``/``τ``/``euler``, ``+ - * / **``,
unary minus and ``sin cos tan exp ln sqrt arcsin arccos arctan``.

Anything else — loops, ``def`` subroutines, classical variables and assignments, ``input``
parameters, ``switch``, ``box``, calibrations, an unknown gate, a bad index — raises
:class:`~ionstack.errors.JobFailure` ``InvalidInput`` naming the construct and its line
(``while loop at line 4: not supported``); a syntax error names its line and column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from openqasm3 import ast

from ionstack.errors import JobFailure
from ionstack.quantum.circuit import Gate
from ionstack.quantum.program import (
    OUTPUT_ALL,
    Combined,
    Condition,
    If,
    Measure,
    Op,
    Predicate,
    Program,
    Reset,
    negated,
)
from ionstack.quantum.qasm3_library import (
    BUILTINS,
    KEY,
    fail,
    finite,
    integer,
    inverse,
    phase_gate,
    value,
)

#: Physical qubits ``$0 … $(MAX_PHYSICAL-1)`` are accepted (a transpiled circuit's form).
MAX_PHYSICAL = 1 << 16
#: Deepest nesting of gate definitions (and ``if`` blocks) accepted.
MAX_DEPTH = 64


_CONSTRUCTS = {
    "WhileLoop": "while loop",
    "ForInLoop": "for loop",
    "SubroutineDefinition": "def subroutine",
    "ClassicalAssignment": "classical assignment",
    "ConstantDeclaration": "const declaration",
    "IODeclaration": "input/output declaration (bind parameters before submitting)",
    "AliasStatement": "let alias",
    "Box": "box",
    "SwitchStatement": "switch",
    "CalibrationDefinition": "defcal",
    "CalibrationStatement": "cal block",
    "CalibrationGrammarDeclaration": "defcalgrammar",
    "ExternDeclaration": "extern declaration",
    "ReturnStatement": "return",
    "BreakStatement": "break",
    "ContinueStatement": "continue",
    "EndStatement": "end",
    "ExpressionStatement": "expression statement",
    "QuantumMeasurement": "measure",
}


# --------------------------------------------------------------------------- parsing


def _parse_text(text: str) -> ast.Program:
    """The reference parser, with ANTLR's console output off and errors as JobFailure."""
    from antlr4 import CommonTokenStream, InputStream
    from antlr4.error.ErrorListener import ErrorListener
    from openqasm3._antlr.qasm3Lexer import qasm3Lexer
    from openqasm3._antlr.qasm3Parser import qasm3Parser
    from openqasm3.parser import QASM3ParsingError, QASMNodeVisitor

    class Listener(ErrorListener):  # type: ignore[misc]
        def syntaxError(  # ANTLR's name
            self, recognizer: Any, symbol: Any, line: int, column: int, msg: str, e: Any
        ) -> None:
            raise JobFailure(
                "InvalidInput", f"syntax error at line {line}, column {column}: {msg}", key=KEY
            )

    lexer = qasm3Lexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(Listener())
    parser = qasm3Parser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(Listener())
    tree = parser.program()
    try:
        program: ast.Program = QASMNodeVisitor().visitProgram(tree)  # type: ignore[no-untyped-call]
    except QASM3ParsingError as exc:
        m = re.match(r"L(\d+):C(\d+): (.*)", str(exc), re.S)
        where = f"line {m.group(1)}, column {m.group(2)}: {m.group(3)}" if m else str(exc)
        raise JobFailure("InvalidInput", f"invalid program at {where}", key=KEY) from None
    return program


# --------------------------------------------------------------------------- lowering


@dataclass
class _Scope:
    """Gate-definition scope: parameter values and qubit names → global indices."""

    params: dict[str, float] = field(default_factory=dict)
    qubits: dict[str, int] | None = None  # None: the program's registers


class _Lowering:
    def __init__(self) -> None:
        self.qregs: dict[str, tuple[int, int]] = {}
        self.width = 0
        self.physical = 0  # 1 + the highest physical qubit ($i) used
        self.cregs: dict[str, int] = {}
        self.gates: dict[str, ast.QuantumGateDefinition] = {}

    # ----------------------------------------------------------------- declarations

    def _name_free(self, node: Any, name: str) -> None:
        if name in self.qregs or name in self.cregs:
            fail(node, f"declaration of {name!r}", "the name is already declared")

    def _size(self, node: Any, size: Any) -> int:
        n = 1 if size is None else integer(size)
        if n < 1:
            fail(node, "declaration", f"size must be ≥ 1, got {n}")
        return n

    def qubit_declaration(self, node: ast.QubitDeclaration) -> None:
        if self.physical:
            fail(node, "qubit declaration", "cannot be mixed with physical qubits ($n)")
        self._name_free(node, node.qubit.name)
        size = self._size(node, node.size)
        self.qregs[node.qubit.name] = (self.width, size)
        self.width += size

    def classical_declaration(self, node: ast.ClassicalDeclaration) -> None:
        if not isinstance(node.type, ast.BitType):
            kind = type(node.type).__name__.removesuffix("Type").lower()
            fail(node, f"classical variable of type {kind}", "not supported (only bit registers)")
        if node.init_expression is not None:
            fail(node, "initialised bit register", "not supported")
        self._name_free(node, node.identifier.name)
        if node.identifier.name == OUTPUT_ALL:
            fail(
                node,
                "bit register 'output_all'",
                "the name is reserved for the final measurement of every qubit",
            )
        self.cregs[node.identifier.name] = self._size(node, node.type.size)

    # ----------------------------------------------------------------- operands

    def _indices(self, node: Any, size: int, what: str) -> list[int]:
        """The positions of an indexed operand: ``r[i]``, ``r[i, j]``, ``r[a:b]``, ``r[{…}]``."""
        indices = getattr(node, "indices", None)
        if not indices:
            return list(range(size))
        if len(indices) != 1:
            fail(node, what, "multi-dimensional indexing is not supported")
        index = indices[0]
        out: list[int] = []
        items = index.values if isinstance(index, ast.DiscreteSet) else index
        for item in items:
            if isinstance(item, ast.RangeDefinition):
                start = 0 if item.start is None else integer(item.start)
                step = 1 if item.step is None else integer(item.step)
                end = size - 1 if item.end is None else integer(item.end)
                if step == 0:
                    fail(node, what, "range step 0")
                out.extend(range(start, end + (1 if step > 0 else -1), step))
            else:
                out.append(integer(item))
        for i in out:
            if not -size <= i < size:
                fail(node, what, f"index {i} out of range (size {size})")
        return [i % size for i in out]

    def qubit_operand(self, node: Any, scope: _Scope) -> list[int]:
        name = node.name if isinstance(node, ast.Identifier) else node.name.name
        if scope.qubits is not None:
            if name not in scope.qubits or not isinstance(node, ast.Identifier):
                fail(node, f"qubit {name!r}", "not an argument of the gate definition")
            return [scope.qubits[name]]
        if name not in self.qregs:
            if isinstance(node, ast.Identifier) and re.fullmatch(r"\$\d+", name):
                if self.qregs:
                    fail(node, f"physical qubit {name}", "cannot be mixed with qubit registers")
                if int(name[1:]) >= MAX_PHYSICAL:
                    fail(node, f"physical qubit {name}", f"index ≥ {MAX_PHYSICAL}")
                self.physical = max(self.physical, int(name[1:]) + 1)
                return [int(name[1:])]
            fail(node, f"qubit {name!r}", "not declared")
        offset, size = self.qregs[name]
        return [offset + i for i in self._indices(node, size, f"qubit {name!r}")]

    def bit_operand(self, node: Any) -> list[tuple[str, int]]:
        name = node.name if isinstance(node, ast.Identifier) else node.name.name
        if name not in self.cregs:
            fail(node, f"bit {name!r}", "not a declared bit register")
        size = self.cregs[name]
        return [(name, i) for i in self._indices(node, size, f"bit {name!r}")]

    # ----------------------------------------------------------------- gates

    def gate_call(
        self,
        node: ast.QuantumGate,
        scope: _Scope,
        depth: int,
    ) -> list[Gate]:
        name = node.name.name
        args = [finite(value(a, scope.params), a) for a in node.arguments]
        operands = [self.qubit_operand(q, scope) for q in node.qubits]
        width = max((len(o) for o in operands), default=1)
        if any(len(o) not in (1, width) for o in operands):
            fail(node, f"gate {name!r}", "registers of different sizes in one call")
        out: list[Gate] = []
        for k in range(width):
            qubits = [o[0] if len(o) == 1 else o[k] for o in operands]
            out.extend(self._modified(node, name, args, qubits, node.modifiers, depth))
        return out

    def _modified(
        self,
        node: Any,
        name: str,
        args: Sequence[float],
        qubits: Sequence[int],
        modifiers: Sequence[ast.QuantumGateModifier],
        depth: int,
    ) -> list[Gate]:
        """Apply the modifiers outermost first: ``ctrl @ inv @ g`` = controlled(inverse(g))."""
        if len(set(qubits)) != len(qubits):
            fail(node, f"gate {name!r}", "the same qubit is used twice")
        if not modifiers:
            gates, _ = self._expand(node, name, args, qubits, depth)
            return gates
        mod, rest = modifiers[0], modifiers[1:]
        kind = mod.modifier.name
        if kind in ("ctrl", "negctrl"):
            k = 1 if mod.argument is None else integer(mod.argument)
            if k < 1 or k >= len(qubits):
                fail(node, f"{kind} @", f"bad number of controls {k}")
            controls, inner = tuple(qubits[:k]), qubits[k:]
            flips = [Gate("x", (c,)) for c in controls] if kind == "negctrl" else []
            body, phase = self._phased(node, name, args, inner, rest, depth)
            lifted = [
                Gate(g.name, g.targets, controls + g.controls, rotation=g.rotation) for g in body
            ]
            return [*flips, *lifted, *phase_gate(phase, controls), *flips]
        if kind == "inv":
            body = self._modified(node, name, args, qubits, rest, depth)
            return [inverse(g) for g in reversed(body)]
        power = integer(mod.argument) if mod.argument is not None else 1
        body = self._modified(node, name, args, qubits, rest, depth)
        if power < 0:
            body, power = [inverse(g) for g in reversed(body)], -power
        return body * power

    def _phased(
        self,
        node: Any,
        name: str,
        args: Sequence[float],
        qubits: Sequence[int],
        modifiers: Sequence[ast.QuantumGateModifier],
        depth: int,
    ) -> tuple[list[Gate], float]:
        """Gates and global phase (the phase matters once controlled)."""
        if not modifiers:
            return self._expand(node, name, args, qubits, depth)
        return self._modified(node, name, args, qubits, modifiers, depth), 0.0

    def _expand(
        self, node: Any, name: str, args: Sequence[float], qubits: Sequence[int], depth: int
    ) -> tuple[list[Gate], float]:
        if depth > MAX_DEPTH:
            fail(node, f"gate {name!r}", "definitions nested too deeply (recursive?)")
        definition = self.gates.get(name)
        if definition is not None:
            return self._inline(node, definition, args, qubits, depth)
        builtin = BUILTINS.get(name)
        if builtin is None:
            fail(node, f"unknown gate {name!r}", "not in stdgates.inc and not defined")
        n_params, n_qubits, emit = builtin
        if len(args) != n_params or len(qubits) != n_qubits:
            fail(
                node,
                f"gate {name!r}",
                f"takes {n_params} parameters and {n_qubits} qubits, "
                f"got {len(args)} and {len(qubits)}",
            )
        return emit(args, qubits)

    def _inline(
        self,
        node: Any,
        definition: ast.QuantumGateDefinition,
        args: Sequence[float],
        qubits: Sequence[int],
        depth: int,
    ) -> tuple[list[Gate], float]:
        name = definition.name.name
        if len(args) != len(definition.arguments) or len(qubits) != len(definition.qubits):
            fail(
                node,
                f"gate {name!r}",
                f"takes {len(definition.arguments)} parameters and {len(definition.qubits)} "
                f"qubits, got {len(args)} and {len(qubits)}",
            )
        scope = _Scope(
            params={p.name: v for p, v in zip(definition.arguments, args, strict=True)},
            qubits={q.name: i for q, i in zip(definition.qubits, qubits, strict=True)},
        )
        gates: list[Gate] = []
        phase = 0.0
        for statement in definition.body:
            if isinstance(statement, ast.QuantumGate):
                gates.extend(self.gate_call(statement, scope, depth + 1))
            elif isinstance(statement, ast.QuantumPhase):
                p, controls = self.gphase(statement, scope)
                if controls:
                    gates.extend(phase_gate(p, controls))
                else:
                    phase += p
            elif isinstance(statement, ast.QuantumBarrier):
                continue
            else:
                fail(statement, _construct(statement), "not allowed in a gate definition")
        return gates, phase

    def gphase(self, node: ast.QuantumPhase, scope: _Scope) -> tuple[float, tuple[int, ...]]:
        """``gphase(θ)``: its angle and the controls of its modifiers (none: a global phase)."""
        phase = finite(value(node.argument, scope.params), node)
        qubits = [q for operand in node.qubits for q in self.qubit_operand(operand, scope)]
        if not any(m.modifier.name in ("ctrl", "negctrl") for m in node.modifiers):
            qubits = []
        controls = tuple(qubits)
        for mod in node.modifiers:
            if mod.modifier.name == "inv":
                phase = -phase
            elif mod.modifier.name == "pow":
                phase *= integer(mod.argument) if mod.argument is not None else 1
            elif mod.modifier.name == "negctrl":
                fail(node, "negctrl @ gphase", "not supported")
        return phase, controls

    # ----------------------------------------------------------------- statements

    def statements(self, body: Sequence[Any], depth: int, *, top: bool) -> list[Op]:
        ops: list[Op] = []
        for s in body:
            ops.extend(self.statement(s, depth, top=top))
        return ops

    def statement(self, s: Any, depth: int, *, top: bool) -> Iterator[Op]:
        if isinstance(s, ast.QuantumGate):
            yield from self.gate_call(s, _Scope(), 0)
        elif isinstance(s, ast.QuantumMeasurementStatement):
            yield from self.measure(s)
        elif isinstance(s, ast.QuantumReset):
            for q in self.qubit_operand(s.qubits, _Scope()):
                yield Reset(q)
        elif isinstance(s, ast.QuantumBarrier | ast.DelayInstruction | ast.Pragma):
            return
        elif isinstance(s, ast.QuantumPhase):
            phase, controls = self.gphase(s, _Scope())
            yield from phase_gate(phase, controls)
        elif isinstance(s, ast.BranchingStatement):
            if depth > MAX_DEPTH:
                fail(s, "if", "nested too deeply")
            yield If(
                self.condition(s.condition),
                tuple(self.statements(s.if_block, depth + 1, top=False)),
                tuple(self.statements(s.else_block, depth + 1, top=False)),
            )
        elif isinstance(s, ast.QubitDeclaration | ast.ClassicalDeclaration | ast.Include):
            if not top:
                fail(s, _construct(s), "only allowed at the top level")
            self.declaration(s)
        elif isinstance(s, ast.QuantumGateDefinition):
            if not top:
                fail(s, "gate definition", "only allowed at the top level")
            name = s.name.name
            if name in self.gates:
                fail(s, f"gate definition {name!r}", "defined twice")
            self.gates[name] = s
        else:
            fail(s, _construct(s), "not supported")

    def declaration(self, s: Any) -> None:
        if isinstance(s, ast.Include):
            if s.filename not in ("stdgates.inc", "qelib1.inc"):
                fail(s, f"include {s.filename!r}", "only stdgates.inc is available")
        elif isinstance(s, ast.QubitDeclaration):
            self.qubit_declaration(s)
        else:
            self.classical_declaration(s)

    def measure(self, s: ast.QuantumMeasurementStatement) -> Iterator[Measure]:
        qubits = self.qubit_operand(s.measure.qubit, _Scope())
        if s.target is None:
            for q in qubits:
                yield Measure(q, None)
            return
        bits = self.bit_operand(s.target)
        if len(bits) != len(qubits):
            fail(s, "measure", f"{len(qubits)} qubits into {len(bits)} bits")
        for q, (reg, bit) in zip(qubits, bits, strict=True):
            yield Measure(q, reg, bit)

    def condition(self, node: Any) -> Predicate:
        negate = False
        while isinstance(node, ast.UnaryExpression) and node.op.name == "!":
            negate, node = not negate, node.expression
        if isinstance(node, ast.BinaryExpression) and node.op.name in ("&&", "||"):
            both = Combined(
                "and" if node.op.name == "&&" else "or",
                self.condition(node.lhs),
                self.condition(node.rhs),
            )
            return negated(both) if negate else both
        if isinstance(node, ast.BinaryExpression) and node.op.name in ("==", "!="):
            lhs, rhs = node.lhs, node.rhs
            if isinstance(lhs, ast.IntegerLiteral | ast.BooleanLiteral):
                lhs, rhs = rhs, lhs
            reg, bit = self._cond_operand(lhs)
            value = integer(rhs)
            equal = (node.op.name == "==") != negate
        else:
            reg, bit = self._cond_operand(node)
            value, equal = 1, not negate
        width = 1 if bit is not None else self.cregs[reg]
        if not 0 <= value < 1 << width:
            fail(node, "condition", f"{value} does not fit in {width} bit(s)")
        return Condition(reg, bit, value, equal)

    def _cond_operand(self, node: Any) -> tuple[str, int | None]:
        if isinstance(node, ast.Identifier) and node.name in self.cregs:
            return node.name, None
        if (
            isinstance(node, ast.IndexExpression)
            and isinstance(node.collection, ast.Identifier)
            and node.collection.name in self.cregs
            and isinstance(node.index, list)
            and len(node.index) == 1
        ):
            name, size = node.collection.name, self.cregs[node.collection.name]
            i = integer(node.index[0])
            if not 0 <= i < size:
                fail(node, f"bit {name!r}", f"index {i} out of range (size {size})")
            return name, i
        fail(
            node,
            "condition",
            "only a bit register, one of its bits, ==, !=, !, && and || are supported",
        )


def _construct(node: Any) -> str:
    name = type(node).__name__
    return _CONSTRUCTS.get(name, re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower())


def parse_program(text: str, *, qubits: int | None = None) -> Program:
    """Parse an ``ionq.qasm3.v1`` program (the module docstring lists what is accepted).

    Args:
        text: The OpenQASM 3 source (``input.data``).
        qubits: The job's ``input.qubits``: the program's width when larger than the declared
            qubits (extra idle qubits); smaller is an error.

    Returns:
        The frozen :class:`~ionstack.quantum.program.Program` (QIS gateset).

    Raises:
        JobFailure: ``InvalidInput`` naming the construct and line, for anything outside the
            supported subset, a syntax error, or ``qubits`` smaller than the declared qubits.
    """
    if not isinstance(text, str) or not text.strip():
        raise JobFailure("InvalidInput", "input.data: an OpenQASM 3 program is required", key=KEY)
    tree = _parse_text(text)
    low = _Lowering()
    ops = low.statements(tree.statements, 0, top=True)
    width = low.width or low.physical
    if width == 0:
        raise JobFailure("InvalidInput", "input.data: the program declares no qubits", key=KEY)
    if qubits is not None and qubits < width:
        raise JobFailure(
            "InvalidInput",
            f"input.qubits: {qubits} is fewer than the {width} qubits the program declares",
            key="input.qubits",
        )
    return Program(
        qubits=max(width, qubits or 0),
        registers=tuple(low.cregs.items()),
        ops=tuple(ops),
        declared_qubits=width,
    )

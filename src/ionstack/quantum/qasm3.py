"""OpenQASM 3 programs of ``ionq.qasm3.v1`` jobs → :class:`~ionstack.quantum.program.Program`.

Parsed with the reference parser (``openqasm3[parser]``), then lowered to the program IR. What
is accepted — what ``qiskit.qasm3.dumps`` (qiskit 2.x, used by qiskit-ionq) emits for circuits
with bound parameters:

* ``OPENQASM 3.0;``, ``include "stdgates.inc";`` (or ``"qelib1.inc"``);
* ``qubit[n] q;`` / ``qubit q;`` / ``qreg q[n];`` (several, named; flattened in declaration
  order, see :mod:`ionstack.quantum.program`), ``bit[n] c;`` / ``bit c;`` / ``creg c[n];``;
* every ``stdgates.inc`` gate, ``U``, ``gphase``, Qiskit's ``rxx ryy rzz sxdg`` when the text
  does not define them, and ``gate`` definitions (inlined; parameters; nested calls), with the
  ``ctrl @``, ``negctrl @``, ``inv @`` and integer ``pow(k) @`` modifiers;
* ``c[i] = measure q[j];``, ``c = measure q;``, ``measure q -> c;``, ``measure q;`` anywhere;
  ``reset``; ``barrier`` and ``delay`` (ignored: no idle noise);
* ``if (c[0])``, ``if (!c[0])``, ``if (c[0] == 1)``, ``if (c == 2)``, ``if (c != 2)``, with
  ``else`` and nesting.

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

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from openqasm3 import ast

from ionstack.errors import JobFailure
from ionstack.quantum.circuit import Gate
from ionstack.quantum.program import Condition, If, Measure, Op, Program, Reset

KEY = "input.data"
#: Deepest nesting of gate definitions (and ``if`` blocks) accepted.
MAX_DEPTH = 64

_CONSTANTS = {"pi": math.pi, "π": math.pi, "tau": 2 * math.pi, "τ": 2 * math.pi, "euler": math.e}
_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "exp": math.exp,
    "ln": math.log,
    "sqrt": math.sqrt,
    "arcsin": math.asin,
    "arccos": math.acos,
    "arctan": math.atan,
}
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


def _line(node: Any) -> int:
    span = getattr(node, "span", None)
    return int(span.start_line) if span is not None else 0


def _fail(node: Any, what: str, text: str) -> NoReturn:
    raise JobFailure("InvalidInput", f"{what} at line {_line(node)}: {text}", key=KEY)


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


# --------------------------------------------------------------------------- expressions


def _value(node: Any, env: dict[str, float]) -> float:
    """A constant real expression (angles)."""
    if isinstance(node, ast.IntegerLiteral | ast.FloatLiteral):
        return float(node.value)
    if isinstance(node, ast.BooleanLiteral):
        return float(node.value)
    if isinstance(node, ast.Identifier):
        if node.name in env:
            return env[node.name]
        if node.name in _CONSTANTS:
            return _CONSTANTS[node.name]
        _fail(node, f"identifier {node.name!r}", "unknown (parameters must be bound)")
    if isinstance(node, ast.UnaryExpression):
        v = _value(node.expression, env)
        if node.op.name == "-":
            return -v
        _fail(node, f"operator {node.op.name!r}", "not supported in an angle")
    if isinstance(node, ast.BinaryExpression):
        a, b = _value(node.lhs, env), _value(node.rhs, env)
        op = node.op.name
        try:
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                return a / b
            if op == "**":
                return float(a**b)
        except (ZeroDivisionError, OverflowError, ValueError) as exc:
            _fail(node, "expression", str(exc))
        _fail(node, f"operator {op!r}", "not supported in an angle")
    if isinstance(node, ast.FunctionCall) and node.name.name in _FUNCTIONS:
        if len(node.arguments) != 1:
            _fail(node, f"function {node.name.name!r}", "takes one argument")
        try:
            return _FUNCTIONS[node.name.name](_value(node.arguments[0], env))
        except (ValueError, OverflowError) as exc:
            _fail(node, f"function {node.name.name!r}", str(exc))
    _fail(node, type(node).__name__, "not supported in an expression")


def _integer(node: Any) -> int:
    if isinstance(node, ast.IntegerLiteral):
        return int(node.value)
    if isinstance(node, ast.BooleanLiteral):
        return int(node.value)
    if isinstance(node, ast.UnaryExpression) and node.op.name == "-":
        return -_integer(node.expression)
    _fail(node, type(node).__name__, "an integer literal is required here")


def _finite(x: float, node: Any) -> float:
    if not math.isfinite(x):
        _fail(node, "angle", f"{x!r} is not finite")
    return x


# --------------------------------------------------------------------------- built-in gates

Emit = Callable[[Sequence[float], Sequence[int]], tuple[list[Gate], float]]


def _g(name: str, rotation: float | None = None) -> Emit:
    return lambda a, q: ([Gate(name, (q[-1],), tuple(q[:-1]), rotation=rotation)], 0.0)


def _r(name: str) -> Emit:
    return lambda a, q: ([Gate(name, (q[-1],), tuple(q[:-1]), rotation=a[0])], 0.0)


def _pair(name: str) -> Emit:
    return lambda a, q: ([Gate(name, (q[0], q[1]), rotation=a[0])], 0.0)


def _u(theta: float, phi: float, lam: float, q: int, controls: tuple[int, ...] = ()) -> list[Gate]:
    # Qiskit's U(θ,φ,λ) = P(φ)·Ry(θ)·P(λ) exactly (P = diag(1, e^{i·})); time order λ, θ, φ
    return [
        Gate("z", (q,), controls, rotation=lam),
        Gate("ry", (q,), controls, rotation=theta),
        Gate("z", (q,), controls, rotation=phi),
    ]


def _cu(a: Sequence[float], q: Sequence[int]) -> tuple[list[Gate], float]:
    theta, phi, lam, gamma = a
    return [Gate("z", (q[0],), rotation=gamma), *_u(theta, phi, lam, q[1], (q[0],))], 0.0


def _cswap(a: Sequence[float], q: Sequence[int]) -> tuple[list[Gate], float]:
    return [Gate("swap", (q[1], q[2]), (q[0],))], 0.0


#: name → (parameters, qubits, emitter); emitters give exact gates and a global phase.
BUILTINS: dict[str, tuple[int, int, Emit]] = {
    "id": (0, 1, lambda a, q: ([], 0.0)),
    "x": (0, 1, _g("x")),
    "y": (0, 1, _g("y")),
    "z": (0, 1, _g("z")),
    "h": (0, 1, _g("h")),
    "s": (0, 1, _g("s")),
    "sdg": (0, 1, _g("si")),
    "t": (0, 1, _g("t")),
    "tdg": (0, 1, _g("ti")),
    "sx": (0, 1, _g("v")),
    "sxdg": (0, 1, _g("vi")),
    "rx": (1, 1, _r("rx")),
    "ry": (1, 1, _r("ry")),
    "rz": (1, 1, _r("rz")),
    "p": (1, 1, _r("z")),
    "phase": (1, 1, _r("z")),
    "u1": (1, 1, _r("z")),
    "U": (3, 1, lambda a, q: (_u(a[0], a[1], a[2], q[0]), 0.0)),
    "u": (3, 1, lambda a, q: (_u(a[0], a[1], a[2], q[0]), 0.0)),
    "u3": (3, 1, lambda a, q: (_u(a[0], a[1], a[2], q[0]), 0.0)),
    "u2": (2, 1, lambda a, q: (_u(math.pi / 2, a[0], a[1], q[0]), 0.0)),
    "cx": (0, 2, _g("x")),
    "CX": (0, 2, _g("x")),
    "cy": (0, 2, _g("y")),
    "cz": (0, 2, _g("z")),
    "ch": (0, 2, _g("h")),
    "csx": (0, 2, _g("v")),
    "cp": (1, 2, _r("z")),
    "cphase": (1, 2, _r("z")),
    "cu1": (1, 2, _r("z")),
    "crx": (1, 2, _r("rx")),
    "cry": (1, 2, _r("ry")),
    "crz": (1, 2, _r("rz")),
    "cu": (4, 2, _cu),
    "cu3": (3, 2, lambda a, q: _cu((*a, 0.0), q)),
    "swap": (0, 2, lambda a, q: ([Gate("swap", (q[0], q[1]))], 0.0)),
    "rxx": (1, 2, _pair("xx")),
    "ryy": (1, 2, _pair("yy")),
    "rzz": (1, 2, _pair("zz")),
    "ccx": (0, 3, _g("x")),
    "cswap": (0, 3, _cswap),
}

_INVERSE_NAME = {"s": "si", "si": "s", "t": "ti", "ti": "t", "v": "vi", "vi": "v"}


def _inverse(g: Gate) -> Gate:
    if g.name in _INVERSE_NAME:
        return Gate(_INVERSE_NAME[g.name], g.targets, g.controls)
    if g.rotation is not None:  # rx ry rz xx yy zz, z as P(λ)
        return Gate(g.name, g.targets, g.controls, rotation=-g.rotation)
    return g  # x y z h swap: self-inverse


def _phase_gate(phase: float, controls: tuple[int, ...]) -> list[Gate]:
    """A global phase under controls: P(phase) on the last control, the others controlling."""
    if not controls or phase == 0.0:
        return []
    return [Gate("z", (controls[-1],), controls[:-1], rotation=phase)]


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
        self.cregs: dict[str, int] = {}
        self.gates: dict[str, ast.QuantumGateDefinition] = {}

    # ----------------------------------------------------------------- declarations

    def _name_free(self, node: Any, name: str) -> None:
        if name in self.qregs or name in self.cregs:
            _fail(node, f"declaration of {name!r}", "the name is already declared")

    def _size(self, node: Any, size: Any) -> int:
        n = 1 if size is None else _integer(size)
        if n < 1:
            _fail(node, "declaration", f"size must be ≥ 1, got {n}")
        return n

    def qubit_declaration(self, node: ast.QubitDeclaration) -> None:
        self._name_free(node, node.qubit.name)
        size = self._size(node, node.size)
        self.qregs[node.qubit.name] = (self.width, size)
        self.width += size

    def classical_declaration(self, node: ast.ClassicalDeclaration) -> None:
        if not isinstance(node.type, ast.BitType):
            kind = type(node.type).__name__.removesuffix("Type").lower()
            _fail(node, f"classical variable of type {kind}", "not supported (only bit registers)")
        if node.init_expression is not None:
            _fail(node, "initialised bit register", "not supported")
        self._name_free(node, node.identifier.name)
        self.cregs[node.identifier.name] = self._size(node, node.type.size)

    # ----------------------------------------------------------------- operands

    def _indices(self, node: Any, size: int, what: str) -> list[int]:
        """The positions of an indexed operand: ``r[i]``, ``r[i, j]``, ``r[a:b]``, ``r[{…}]``."""
        indices = getattr(node, "indices", None)
        if not indices:
            return list(range(size))
        if len(indices) != 1:
            _fail(node, what, "multi-dimensional indexing is not supported")
        index = indices[0]
        out: list[int] = []
        items = index.values if isinstance(index, ast.DiscreteSet) else index
        for item in items:
            if isinstance(item, ast.RangeDefinition):
                start = 0 if item.start is None else _integer(item.start)
                step = 1 if item.step is None else _integer(item.step)
                end = size - 1 if item.end is None else _integer(item.end)
                if step == 0:
                    _fail(node, what, "range step 0")
                out.extend(range(start, end + (1 if step > 0 else -1), step))
            else:
                out.append(_integer(item))
        for i in out:
            if not -size <= i < size:
                _fail(node, what, f"index {i} out of range (size {size})")
        return [i % size for i in out]

    def qubit_operand(self, node: Any, scope: _Scope) -> list[int]:
        name = node.name if isinstance(node, ast.Identifier) else node.name.name
        if scope.qubits is not None:
            if name not in scope.qubits or not isinstance(node, ast.Identifier):
                _fail(node, f"qubit {name!r}", "not an argument of the gate definition")
            return [scope.qubits[name]]
        if name not in self.qregs:
            if isinstance(node, ast.Identifier) and re.fullmatch(r"\$\d+", name):
                _fail(node, f"physical qubit {name}", "not supported; declare qubit registers")
            _fail(node, f"qubit {name!r}", "not declared")
        offset, size = self.qregs[name]
        return [offset + i for i in self._indices(node, size, f"qubit {name!r}")]

    def bit_operand(self, node: Any) -> list[tuple[str, int]]:
        name = node.name if isinstance(node, ast.Identifier) else node.name.name
        if name not in self.cregs:
            _fail(node, f"bit {name!r}", "not a declared bit register")
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
        args = [_finite(_value(a, scope.params), a) for a in node.arguments]
        operands = [self.qubit_operand(q, scope) for q in node.qubits]
        width = max((len(o) for o in operands), default=1)
        if any(len(o) not in (1, width) for o in operands):
            _fail(node, f"gate {name!r}", "registers of different sizes in one call")
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
            _fail(node, f"gate {name!r}", "the same qubit is used twice")
        if not modifiers:
            gates, _ = self._expand(node, name, args, qubits, depth)
            return gates
        mod, rest = modifiers[0], modifiers[1:]
        kind = mod.modifier.name
        if kind in ("ctrl", "negctrl"):
            k = 1 if mod.argument is None else _integer(mod.argument)
            if k < 1 or k >= len(qubits):
                _fail(node, f"{kind} @", f"bad number of controls {k}")
            controls, inner = tuple(qubits[:k]), qubits[k:]
            flips = [Gate("x", (c,)) for c in controls] if kind == "negctrl" else []
            body, phase = self._phased(node, name, args, inner, rest, depth)
            lifted = [
                Gate(g.name, g.targets, controls + g.controls, rotation=g.rotation) for g in body
            ]
            return [*flips, *lifted, *_phase_gate(phase, controls), *flips]
        if kind == "inv":
            body = self._modified(node, name, args, qubits, rest, depth)
            return [_inverse(g) for g in reversed(body)]
        power = _integer(mod.argument) if mod.argument is not None else 1
        body = self._modified(node, name, args, qubits, rest, depth)
        if power < 0:
            body, power = [_inverse(g) for g in reversed(body)], -power
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
            _fail(node, f"gate {name!r}", "definitions nested too deeply (recursive?)")
        definition = self.gates.get(name)
        if definition is not None:
            return self._inline(node, definition, args, qubits, depth)
        builtin = BUILTINS.get(name)
        if builtin is None:
            _fail(node, f"unknown gate {name!r}", "not in stdgates.inc and not defined")
        n_params, n_qubits, emit = builtin
        if len(args) != n_params or len(qubits) != n_qubits:
            _fail(
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
            _fail(
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
                    gates.extend(_phase_gate(p, controls))
                else:
                    phase += p
            elif isinstance(statement, ast.QuantumBarrier):
                continue
            else:
                _fail(statement, _construct(statement), "not allowed in a gate definition")
        return gates, phase

    def gphase(self, node: ast.QuantumPhase, scope: _Scope) -> tuple[float, tuple[int, ...]]:
        """``gphase(θ)``: its angle and the controls of its modifiers (none: a global phase)."""
        phase = _finite(_value(node.argument, scope.params), node)
        qubits = [q for operand in node.qubits for q in self.qubit_operand(operand, scope)]
        if not any(m.modifier.name in ("ctrl", "negctrl") for m in node.modifiers):
            qubits = []
        controls = tuple(qubits)
        for mod in node.modifiers:
            if mod.modifier.name == "inv":
                phase = -phase
            elif mod.modifier.name == "pow":
                phase *= _integer(mod.argument) if mod.argument is not None else 1
            elif mod.modifier.name == "negctrl":
                _fail(node, "negctrl @ gphase", "not supported")
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
            yield from _phase_gate(phase, controls)
        elif isinstance(s, ast.BranchingStatement):
            if depth > MAX_DEPTH:
                _fail(s, "if", "nested too deeply")
            yield If(
                self.condition(s.condition),
                tuple(self.statements(s.if_block, depth + 1, top=False)),
                tuple(self.statements(s.else_block, depth + 1, top=False)),
            )
        elif isinstance(s, ast.QubitDeclaration | ast.ClassicalDeclaration | ast.Include):
            if not top:
                _fail(s, _construct(s), "only allowed at the top level")
            self.declaration(s)
        elif isinstance(s, ast.QuantumGateDefinition):
            if not top:
                _fail(s, "gate definition", "only allowed at the top level")
            name = s.name.name
            if name in self.gates:
                _fail(s, f"gate definition {name!r}", "defined twice")
            self.gates[name] = s
        else:
            _fail(s, _construct(s), "not supported")

    def declaration(self, s: Any) -> None:
        if isinstance(s, ast.Include):
            if s.filename not in ("stdgates.inc", "qelib1.inc"):
                _fail(s, f"include {s.filename!r}", "only stdgates.inc is available")
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
            _fail(s, "measure", f"{len(qubits)} qubits into {len(bits)} bits")
        for q, (reg, bit) in zip(qubits, bits, strict=True):
            yield Measure(q, reg, bit)

    def condition(self, node: Any) -> Condition:
        negate = False
        while isinstance(node, ast.UnaryExpression) and node.op.name == "!":
            negate, node = not negate, node.expression
        if isinstance(node, ast.BinaryExpression) and node.op.name in ("==", "!="):
            lhs, rhs = node.lhs, node.rhs
            if isinstance(lhs, ast.IntegerLiteral | ast.BooleanLiteral):
                lhs, rhs = rhs, lhs
            reg, bit = self._cond_operand(lhs)
            value = _integer(rhs)
            equal = (node.op.name == "==") != negate
        else:
            reg, bit = self._cond_operand(node)
            value, equal = 1, not negate
        width = 1 if bit is not None else self.cregs[reg]
        if not 0 <= value < 1 << width:
            _fail(node, "condition", f"{value} does not fit in {width} bit(s)")
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
            i = _integer(node.index[0])
            if not 0 <= i < size:
                _fail(node, f"bit {name!r}", f"index {i} out of range (size {size})")
            return name, i
        _fail(node, "condition", "only a bit register, one of its bits, == and != are supported")


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
    if low.width == 0:
        raise JobFailure("InvalidInput", "input.data: the program declares no qubits", key=KEY)
    if qubits is not None and qubits < low.width:
        raise JobFailure(
            "InvalidInput",
            f"input.qubits: {qubits} is fewer than the {low.width} qubits the program declares",
            key="input.qubits",
        )
    return Program(
        qubits=max(low.width, qubits or 0),
        registers=tuple(low.cregs.items()),
        ops=tuple(ops),
        declared_qubits=low.width,
    )

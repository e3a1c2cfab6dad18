"""Parametrized circuits (``ansatz.data`` of ``quantum-function`` jobs), bound to ``params``.

What clients send in ``ansatz.data`` (a string, per the spec's ``Ansatz``):

* **OpenQASM 3** text: IonQ's ``ionq`` SDK builds ``Ansatz(format="qasm",
  data=qiskit.qasm3.dumps(circuit))``, so the parameters are ``input float[64] name;``
  declarations and non-standard gates (``rzz``…) come as ``gate`` definitions.
* **OpenQASM 2** text (``qreg``/``creg``, ``qelib1.inc``): accepted as well (no parameters).
* **The spec's circuit JSON** as a JSON string: ``{"qubits", "gateset", "circuit": [...],
  "parameters": ["a", "b"]}`` or a bare gate list. Any numeric field may be a string
  expression over the names in ``parameters`` (e.g. ``"rotation": "2*a + pi/4"``).

``params[i]`` binds the i-th declared parameter (declaration order, which is Qiskit's
``circuit.parameters`` order). Expressions allow numbers, ``pi``/``π``/``tau``/``euler``,
parameters, ``+ - * / **`` (``^`` in QASM 2) and ``sin cos tan exp ln log sqrt arcsin
arccos arctan``. ``measure`` and ``barrier`` are ignored (the function measures for itself);
``reset``, classical control and gate modifiers are refused.

Failures are :class:`~ionstack.errors.JobFailure` (``InvalidInput``; ``PreflightError`` for an
unknown gate), like the circuit parser's.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ionstack.errors import JobFailure
from ionstack.quantum.circuit import Circuit, parse_circuit

KEY = "input.data.data.ansatz.data"
MAX_EXPANSION_DEPTH = 16

_CONSTANTS = {"pi": math.pi, "π": math.pi, "tau": 2 * math.pi, "τ": 2 * math.pi, "euler": math.e}
_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "exp": math.exp,
    "ln": math.log,
    "log": math.log,
    "sqrt": math.sqrt,
    "arcsin": math.asin,
    "arccos": math.acos,
    "arctan": math.atan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
}
_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def _fail(text: str, code: Any = "InvalidInput") -> JobFailure:
    return JobFailure(code, f"input.data.data.ansatz.data: {text}", key=KEY)


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Expr:
    """A parsed arithmetic expression over parameter names."""

    text: str
    tree: ast.expr

    def names(self) -> set[str]:
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)} - set(_FUNCTIONS)

    def value(self, env: Mapping[str, float]) -> float:
        try:
            out = _evaluate(self.tree, env)
        except (ArithmeticError, ValueError) as exc:
            raise _fail(f"cannot evaluate {self.text!r}: {exc}") from None
        if not math.isfinite(out):
            raise _fail(f"{self.text!r} is not finite")
        return out


def parse_expr(text: str) -> Expr:
    cleaned = text.strip().replace("^", "**")
    try:
        tree = ast.parse(cleaned, mode="eval").body
    except SyntaxError:
        raise _fail(f"bad expression {text!r}") from None
    for node in ast.walk(tree):
        if not isinstance(
            node,
            ast.BinOp
            | ast.UnaryOp
            | ast.Constant
            | ast.Name
            | ast.Call
            | ast.Load
            | ast.operator
            | ast.unaryop,
        ):
            raise _fail(f"bad expression {text!r}")
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, int | float)
        ):
            raise _fail(f"bad expression {text!r}")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and len(node.args) == 1
        ):
            raise _fail(f"bad expression {text!r}")
    return Expr(text=text.strip(), tree=tree)


def _evaluate(node: ast.expr, env: Mapping[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ValueError(f"unknown name {node.id!r}")
    if isinstance(node, ast.UnaryOp):
        inner = _evaluate(node.operand, env)
        if isinstance(node.op, ast.USub):
            return -inner
        if isinstance(node.op, ast.UAdd):
            return inner
        raise ValueError("unsupported operator")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left, env), _evaluate(node.right, env))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _FUNCTIONS[node.func.id](_evaluate(node.args[0], env))
    raise ValueError("unsupported expression")


# --------------------------------------------------------------------------- programs


@dataclass(frozen=True)
class Call:
    """One gate application: ``name(args) qargs``; a qarg is ``(register, index or None)``."""

    name: str
    args: tuple[Expr, ...]
    qargs: tuple[tuple[str, int | None], ...]


@dataclass(frozen=True)
class GateDef:
    params: tuple[str, ...]
    qubits: tuple[str, ...]
    body: tuple[Call, ...]


@dataclass
class Ansatz:
    """A parsed ansatz: its width, its parameter names, and how to bind them."""

    qubits: int
    parameters: tuple[str, ...]
    build: Callable[[Mapping[str, float]], list[dict[str, Any]]]
    gateset: str = "qis"
    fields: dict[str, Any] = field(default_factory=dict)

    def circuit(self, params: Sequence[float]) -> Circuit:
        """The circuit with ``params`` bound (one value per declared parameter)."""
        if len(params) != len(self.parameters):
            raise ValueError(f"{len(self.parameters)} parameters expected, {len(params)} given")
        env = {name: float(v) for name, v in zip(self.parameters, params, strict=True)}
        return parse_circuit(self.build(env), gateset=self.gateset, qubits=self.qubits, path=KEY)


def load(text: object, *, key: str = KEY) -> Ansatz:
    """Parse ``ansatz.data``: OpenQASM 3/2 text or the circuit JSON (see the module doc).

    ``key`` names the field in failures (``input.data.data.ansatz.data`` by default).
    """
    try:
        return _load(text)
    except JobFailure as exc:
        if key == KEY:
            raise
        raise JobFailure(exc.code, exc.message.replace(KEY, key), key=key) from None


def _load(text: object) -> Ansatz:
    if not isinstance(text, str) or not text.strip():
        raise _fail("must be a non-empty string (OpenQASM or circuit JSON)")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return _load_json(stripped)
    ansatz = _Qasm(text).parse()
    ansatz.circuit([0.0] * len(ansatz.parameters))  # validate every gate once
    return ansatz


# --------------------------------------------------------------------------- JSON


_NUMERIC = ("rotation", "phase", "angle", "time")
_NUMERIC_LISTS = ("phases", "coefficients")


def _load_json(text: str) -> Ansatz:
    try:
        doc = json.loads(text)
    except ValueError:
        raise _fail("is not valid JSON") from None
    if isinstance(doc, list):
        doc = {"circuit": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("circuit"), list):
        raise _fail('JSON must be {"circuit": [...]} or a list of gates')
    names = doc.get("parameters", [])
    if not isinstance(names, list) or not all(
        isinstance(n, str) and n.isidentifier() for n in names
    ):
        raise _fail('"parameters" must be a list of names')
    if len(set(names)) != len(names):
        raise _fail('"parameters" must not repeat a name')
    gateset = doc.get("gateset", "qis")
    gates: list[Any] = doc["circuit"]
    exprs = _json_exprs(gates, set(names))

    def build(env: Mapping[str, float]) -> list[dict[str, Any]]:
        return [_bind_gate(g, exprs, env) if isinstance(g, dict) else g for g in gates]

    probe = build(dict.fromkeys(names, 0.0))
    qubits = doc.get("qubits")
    first = parse_circuit(
        probe, gateset=str(gateset), qubits=qubits if isinstance(qubits, int) else None, path=KEY
    )
    return Ansatz(qubits=first.qubits, parameters=tuple(names), build=build, gateset=first.gateset)


def _json_exprs(gates: list[Any], names: set[str]) -> dict[str, Expr]:
    exprs: dict[str, Expr] = {}
    for g in gates:
        if not isinstance(g, dict):
            continue
        values: list[object] = [g.get(k) for k in _NUMERIC]
        for k in _NUMERIC_LISTS:
            if isinstance(g.get(k), list):
                values.extend(g[k])
        for v in values:
            if isinstance(v, str) and v not in exprs:
                e = parse_expr(v)
                unknown = e.names() - names - set(_CONSTANTS)
                if unknown:
                    raise _fail(f"unknown parameter {sorted(unknown)[0]!r} in {v!r}")
                exprs[v] = e
    return exprs


def _bind_gate(g: dict[str, Any], exprs: Mapping[str, Expr], env: Mapping[str, float]) -> Any:
    out = dict(g)
    for k in _NUMERIC:
        if isinstance(out.get(k), str):
            out[k] = exprs[out[k]].value(env)
    for k in _NUMERIC_LISTS:
        if isinstance(out.get(k), list):
            out[k] = [exprs[v].value(env) if isinstance(v, str) else v for v in out[k]]
    return out


# --------------------------------------------------------------------------- OpenQASM


Emit = Callable[[Sequence[float], Sequence[int]], list[dict[str, Any]]]


def _one(name: str) -> Emit:
    return lambda a, q: [{"gate": name, "target": q[0]}]


def _rot(name: str) -> Emit:
    return lambda a, q: [{"gate": name, "target": q[0], "rotation": a[0]}]


def _c(name: str) -> Emit:
    return lambda a, q: [{"gate": name, "control": q[0], "target": q[1]}]


def _crot(name: str) -> Emit:
    return lambda a, q: [{"gate": name, "control": q[0], "target": q[1], "rotation": a[0]}]


def _pair(name: str) -> Emit:
    return lambda a, q: [{"gate": name, "targets": [q[0], q[1]], "rotation": a[0]}]


def _u(a: Sequence[float], q: Sequence[int]) -> list[dict[str, Any]]:
    # U(θ, φ, λ) = Rz(φ)·Ry(θ)·Rz(λ) up to a global phase (OpenQASM 3 spec)
    theta, phi, lam = a
    return [
        {"gate": "rz", "target": q[0], "rotation": lam},
        {"gate": "ry", "target": q[0], "rotation": theta},
        {"gate": "rz", "target": q[0], "rotation": phi},
    ]


def _cswap(a: Sequence[float], q: Sequence[int]) -> list[dict[str, Any]]:
    c, x, y = q
    return [
        {"gate": "cnot", "control": y, "target": x},
        {"gate": "x", "controls": [c, x], "target": y},
        {"gate": "cnot", "control": y, "target": x},
    ]


#: name → (parameters, qubits, emitter): OpenQASM 3 ``stdgates.inc`` and OpenQASM 2
#: ``qelib1.inc``, plus Qiskit's ``rxx``/``ryy``/``rzz`` when not defined in the text
BUILTINS: dict[str, tuple[int, int, Emit]] = {
    "id": (0, 1, lambda a, q: []),
    "i": (0, 1, lambda a, q: []),
    "x": (0, 1, _one("x")),
    "y": (0, 1, _one("y")),
    "z": (0, 1, _one("z")),
    "h": (0, 1, _one("h")),
    "s": (0, 1, _one("s")),
    "sdg": (0, 1, _one("si")),
    "t": (0, 1, _one("t")),
    "tdg": (0, 1, _one("ti")),
    "sx": (0, 1, _one("v")),
    "sxdg": (0, 1, _one("vi")),
    "rx": (1, 1, _rot("rx")),
    "ry": (1, 1, _rot("ry")),
    "rz": (1, 1, _rot("rz")),
    "p": (1, 1, _rot("z")),
    "phase": (1, 1, _rot("z")),
    "u1": (1, 1, _rot("z")),
    "U": (3, 1, _u),
    "u": (3, 1, _u),
    "u3": (3, 1, _u),
    "u2": (2, 1, lambda a, q: _u((math.pi / 2, a[0], a[1]), q)),
    "cx": (0, 2, _c("cnot")),
    "CX": (0, 2, _c("cnot")),
    "cnot": (0, 2, _c("cnot")),
    "cy": (0, 2, _c("y")),
    "cz": (0, 2, _c("z")),
    "ch": (0, 2, _c("h")),
    "csx": (0, 2, _c("v")),
    "cp": (1, 2, _crot("z")),
    "cphase": (1, 2, _crot("z")),
    "cu1": (1, 2, _crot("z")),
    "crx": (1, 2, _crot("rx")),
    "cry": (1, 2, _crot("ry")),
    "crz": (1, 2, _crot("rz")),
    "swap": (0, 2, lambda a, q: [{"gate": "swap", "targets": [q[0], q[1]]}]),
    "rxx": (1, 2, _pair("xx")),
    "ryy": (1, 2, _pair("yy")),
    "rzz": (1, 2, _pair("zz")),
    "ccx": (0, 3, lambda a, q: [{"gate": "x", "controls": [q[0], q[1]], "target": q[2]}]),
    "toffoli": (0, 3, lambda a, q: [{"gate": "x", "controls": [q[0], q[1]], "target": q[2]}]),
    "cswap": (0, 3, _cswap),
}

_IDENT = r"[^\W\d]\w*"
_QARG = re.compile(rf"^\s*({_IDENT})\s*(?:\[\s*(\d+)\s*\])?\s*$")
_CALL = re.compile(rf"^({_IDENT})\s*(?:\((.*)\))?\s+(.+)$", re.S)
_IGNORED = ("OPENQASM", "include", "barrier", "creg", "bit", "measure", "gphase")


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _split_args(text: str) -> list[str]:
    """Split on top-level commas (expressions may contain calls)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


class _Qasm:
    def __init__(self, text: str) -> None:
        self.text = _strip_comments(text)
        self.registers: dict[str, tuple[int, int]] = {}  # name → (offset, size)
        self.width = 0
        self.parameters: list[str] = []
        self.gates: dict[str, GateDef] = {}
        self.calls: list[Call] = []

    def parse(self) -> Ansatz:
        for statement in self._statements():
            self._statement(statement)
        if self.width == 0:
            raise _fail("declares no qubits")
        calls, gates, registers = tuple(self.calls), dict(self.gates), dict(self.registers)

        def build(env: Mapping[str, float]) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for call in calls:
                args = [a.value(env) for a in call.args]
                for qubits in _broadcast(call.qargs, registers):
                    out.extend(_expand(call.name, args, qubits, gates, 0))
            return out

        return Ansatz(qubits=self.width, parameters=tuple(self.parameters), build=build)

    def _statements(self) -> list[str]:
        out: list[str] = []
        text = self.text
        i = 0
        while i < len(text):
            j = text.find(";", i)
            brace = text.find("{", i)
            if brace != -1 and (j == -1 or brace < j):
                end = text.find("}", brace)
                if end == -1:
                    raise _fail("unbalanced braces")
                out.append(text[i : end + 1].strip())
                i = end + 1
                continue
            if j == -1:
                if text[i:].strip():
                    raise _fail(f"missing ';' after {text[i:].strip()[:40]!r}")
                break
            if text[i:j].strip():
                out.append(text[i:j].strip())
            i = j + 1
        return out

    def _statement(self, s: str) -> None:
        lead = re.match(r"[^\W\d]\w*", s)
        head = lead.group(0) if lead else ""
        if head in _IGNORED or re.match(rf"^{_IDENT}\s*(\[\s*\d+\s*\])?\s*=\s*measure\b", s):
            return
        if head in ("qubit", "qreg"):
            self._qubits(s)
        elif head == "input":
            self._input(s)
        elif head == "gate":
            self._gate_def(s)
        elif head in ("reset", "if", "for", "while", "def", "const", "let", "opaque", "cal"):
            raise _fail(f"{head!r} is not supported in an ansatz")
        elif "@" in s:
            raise _fail("gate modifiers (ctrl @, inv @, pow @) are not supported")
        else:
            self.calls.append(self._call(s))

    def _qubits(self, s: str) -> None:
        m = re.match(rf"^qubit\s*(?:\[\s*(\d+)\s*\])?\s+({_IDENT})$", s) or re.match(
            rf"^qreg\s+({_IDENT})\s*\[\s*(\d+)\s*\]$", s
        )
        if m is None:
            raise _fail(f"bad qubit declaration {s!r}")
        if s.startswith("qreg"):
            name, size = m.group(1), int(m.group(2))
        else:
            name, size = m.group(2), int(m.group(1) or 1)
        if name in self.registers:
            raise _fail(f"qubit register {name!r} declared twice")
        self.registers[name] = (self.width, size)
        self.width += size

    def _input(self, s: str) -> None:
        m = re.match(rf"^input\s+(?:float|angle)\s*(?:\[\s*\d+\s*\])?\s+({_IDENT})$", s)
        if m is None:
            raise _fail(f"only 'input float[64] name;' parameters are supported, not {s!r}")
        if m.group(1) in self.parameters:
            raise _fail(f"parameter {m.group(1)!r} declared twice")
        self.parameters.append(m.group(1))

    def _gate_def(self, s: str) -> None:
        m = re.match(rf"^gate\s+({_IDENT})\s*(?:\(([^)]*)\))?\s*([^{{]*)\{{(.*)\}}$", s, re.S)
        if m is None:
            raise _fail(f"bad gate definition {s[:60]!r}")
        name = m.group(1)
        params = tuple(_split_args(m.group(2) or ""))
        qubits = tuple(_split_args(m.group(3)))
        body = tuple(self._call(b.strip()) for b in m.group(4).split(";") if b.strip())
        self.gates[name] = GateDef(params=params, qubits=qubits, body=body)

    def _call(self, s: str) -> Call:
        m = _CALL.match(s)
        if m is None:
            raise _fail(f"cannot read {s[:60]!r}")
        name = m.group(1)
        args = tuple(parse_expr(a) for a in _split_args(m.group(2) or ""))
        qargs: list[tuple[str, int | None]] = []
        for q in _split_args(m.group(3)):
            qm = _QARG.match(q)
            if qm is None:
                raise _fail(f"bad qubit argument {q!r}")
            qargs.append((qm.group(1), int(qm.group(2)) if qm.group(2) else None))
        return Call(name=name, args=args, qargs=tuple(qargs))


def _broadcast(
    qargs: Sequence[tuple[str, int | None]], registers: Mapping[str, tuple[int, int]]
) -> list[list[int]]:
    """Global qubit indices of one call; a whole register broadcasts over its qubits."""
    resolved: list[list[int]] = []
    for reg, index in qargs:
        if reg not in registers:
            raise _fail(f"unknown qubit register {reg!r}")
        offset, size = registers[reg]
        if index is None:
            resolved.append([offset + k for k in range(size)])
        elif index >= size:
            raise _fail(f"{reg}[{index}] is out of range (size {size})")
        else:
            resolved.append([offset + index])
    width = max(len(r) for r in resolved) if resolved else 1
    if any(len(r) not in (1, width) for r in resolved):
        raise _fail("registers of different sizes in one gate")
    return [[r[0] if len(r) == 1 else r[k] for r in resolved] for k in range(width)]


def _expand(
    name: str,
    args: Sequence[float],
    qubits: Sequence[int],
    gates: Mapping[str, GateDef],
    depth: int,
) -> list[dict[str, Any]]:
    if depth > MAX_EXPANSION_DEPTH:
        raise _fail(f"gate {name!r} is defined recursively")
    if len(set(qubits)) != len(qubits):
        raise _fail(f"gate {name!r} uses a qubit twice")
    definition = gates.get(name)
    if definition is not None:
        if len(args) != len(definition.params) or len(qubits) != len(definition.qubits):
            raise _fail(
                f"gate {name!r} takes {len(definition.params)} parameters and "
                f"{len(definition.qubits)} qubits"
            )
        env = dict(zip(definition.params, args, strict=True))
        where = dict(zip(definition.qubits, qubits, strict=True))
        out: list[dict[str, Any]] = []
        for call in definition.body:
            inner_args = [a.value(env) for a in call.args]
            try:
                inner_q = [where[q] for q, _ in call.qargs]
            except KeyError as missing:
                raise _fail(f"gate {name!r} uses unknown qubit {missing}") from None
            out.extend(_expand(call.name, inner_args, inner_q, gates, depth + 1))
        return out
    builtin = BUILTINS.get(name)
    if builtin is None:
        raise _fail(f"unknown gate {name!r}", "PreflightError")
    n_params, n_qubits, emit = builtin
    if len(args) != n_params or len(qubits) != n_qubits:
        raise _fail(f"gate {name!r} takes {n_params} parameters and {n_qubits} qubits")
    return emit(args, qubits)

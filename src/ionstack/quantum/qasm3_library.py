"""The gate library and constant expressions of the OpenQASM 3 parser (:mod:`.qasm3`).

:data:`BUILTINS` maps every ``stdgates.inc`` gate (and ``U``, Qiskit's ``rxx ryy rzz sxdg``)
to exact QIS gates of :mod:`ionstack.quantum.gates` with Qiskit's phases (see :mod:`.qasm3`);
:func:`value` evaluates constant angle expressions; :func:`fail` is the parser's one error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from openqasm3 import ast

from ionstack.errors import JobFailure
from ionstack.quantum.circuit import Gate

KEY = "input.data"

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


def line(node: Any) -> int:
    span = getattr(node, "span", None)
    return int(span.start_line) if span is not None else 0


def fail(node: Any, what: str, text: str) -> NoReturn:
    raise JobFailure("InvalidInput", f"{what} at line {line(node)}: {text}", key=KEY)


# --------------------------------------------------------------------------- expressions


def value(node: Any, env: dict[str, float]) -> float:
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
        fail(node, f"identifier {node.name!r}", "unknown (parameters must be bound)")
    if isinstance(node, ast.UnaryExpression):
        v = value(node.expression, env)
        if node.op.name == "-":
            return -v
        fail(node, f"operator {node.op.name!r}", "not supported in an angle")
    if isinstance(node, ast.BinaryExpression):
        a, b = value(node.lhs, env), value(node.rhs, env)
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
            fail(node, "expression", str(exc))
        fail(node, f"operator {op!r}", "not supported in an angle")
    if isinstance(node, ast.FunctionCall) and node.name.name in _FUNCTIONS:
        if len(node.arguments) != 1:
            fail(node, f"function {node.name.name!r}", "takes one argument")
        try:
            return _FUNCTIONS[node.name.name](value(node.arguments[0], env))
        except (ValueError, OverflowError) as exc:
            fail(node, f"function {node.name.name!r}", str(exc))
    fail(node, type(node).__name__, "not supported in an expression")


def integer(node: Any) -> int:
    if isinstance(node, ast.IntegerLiteral):
        return int(node.value)
    if isinstance(node, ast.BooleanLiteral):
        return int(node.value)
    if isinstance(node, ast.UnaryExpression) and node.op.name == "-":
        return -integer(node.expression)
    fail(node, type(node).__name__, "an integer literal is required here")


def finite(x: float, node: Any) -> float:
    if not math.isfinite(x):
        fail(node, "angle", f"{x!r} is not finite")
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


def inverse(g: Gate) -> Gate:
    if g.name in _INVERSE_NAME:
        return Gate(_INVERSE_NAME[g.name], g.targets, g.controls)
    if g.rotation is not None:  # rx ry rz xx yy zz, z as P(λ)
        return Gate(g.name, g.targets, g.controls, rotation=-g.rotation)
    return g  # x y z h swap: self-inverse


def phase_gate(phase: float, controls: tuple[int, ...]) -> list[Gate]:
    """A global phase under controls: P(phase) on the last control, the others controlling."""
    if not controls or phase == 0.0:
        return []
    return [Gate("z", (controls[-1],), controls[:-1], rotation=phase)]

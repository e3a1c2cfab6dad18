"""Exact lowering of QIS gates to an intermediate circuit of 1q unitaries, CNOTs and ZZ phases.

The intermediate representation (IR) is a list of ops in time order plus a global phase; the
product of the ops times ``e^{i·phase}`` equals the gate's unitary *exactly* (global phase
included), so controlled versions can be built op by op:

* ``("u", q, M)``: a 2×2 unitary ``M`` on qubit ``q``;
* ``("cx", c, t)``: CNOT, control ``c``, target ``t``;
* ``("zz", a, b, θ)``: ``exp(-iπθ·Z⊗Z)`` with θ in turns (the native ``zz`` convention).

Methods (all exact; any correct method is allowed by the brief):

* fixed gates: textbook identities (``swap`` = 3 CNOTs, ``xx``/``yy`` = basis change of ``zz``,
  single-term Pauli exponentials = basis change + CNOT ladder + ``zz``);
* one control on a 1q gate: the Nielsen–Chuang ABC construction (2 CNOTs, §4.3);
* ``k ≥ 2`` controls on a 1q gate: ZYZ into multiplexed ``Rz``/``Ry`` rotations, each
  decomposed with the Möttönen et al. recursion (quant-ph/0404089), plus a controlled phase;
* conjugation shortcut ``C(A·B·A†) = A·C(B)·A†`` (``swap``, ``xx``/``yy``/``zz``, Pauli terms);
* anything else (non-commuting ``pauliexp``): the quantum Shannon decomposition of
  Shende, Bullock & Markov (quant-ph/0406176) via ``scipy.linalg.cossin``.

Matrices follow the basis convention of :mod:`ionstack.quantum.gates` (first qubit most
significant).
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np

from ionstack.quantum import gates as G
from ionstack.quantum.circuit import Gate
from ionstack.quantum.gates import Matrix

Op: TypeAlias = tuple[str, int, object] | tuple[str, int, int, float]
Ops: TypeAlias = list[tuple]  # type: ignore[type-arg]

#: Largest total width (controls + targets) decomposed as one dense matrix.
MAX_DENSE_QUBITS = 6

_H = G.h_matrix()
_RX_HALF = G.rx_matrix(math.pi / 2)
_RX_HALF_DAG = G.rx_matrix(-math.pi / 2)


def _linalg() -> Any:
    """``scipy.linalg``, imported on first use (about a second at import time)."""
    import scipy.linalg  # type: ignore[import-untyped]

    return scipy.linalg


class Lowered:
    """Ops in time order and a global phase (radians); product = the exact unitary."""

    __slots__ = ("ops", "phase")

    def __init__(self, ops: Ops | None = None, phase: float = 0.0) -> None:
        self.ops: Ops = ops if ops is not None else []
        self.phase = phase

    def extend(self, other: Lowered) -> None:
        self.ops.extend(other.ops)
        self.phase += other.phase


# --------------------------------------------------------------------------- 1q helpers


def zyz(u: Matrix) -> tuple[float, float, float, float]:
    """``u = e^{iα}·Rz(β)·Ry(γ)·Rz(δ)``; returns ``(α, β, γ, δ)`` (radians)."""
    det = complex(np.linalg.det(u))
    alpha = cmath.phase(det) / 2
    v = u * cmath.exp(-1j * alpha)  # det(v) = 1: v = [[a, -b*], [b, a*]]
    a, b = complex(v[0, 0]), complex(v[1, 0])
    gamma = 2 * math.atan2(abs(b), abs(a))
    if abs(b) < 1e-14:
        beta, delta = -2 * cmath.phase(a), 0.0
    elif abs(a) < 1e-14:
        beta, delta = 2 * cmath.phase(b), 0.0
    else:
        s, d = -2 * cmath.phase(a), 2 * cmath.phase(b)  # β+δ and β-δ
        beta, delta = (s + d) / 2, (s - d) / 2
    return alpha, beta, gamma, delta


def _p(phi: float) -> Matrix:
    return G.phase_matrix(phi)


# --------------------------------------------------------------------------- multiplexors


def mux_rotation(axis: str, angles: Sequence[float], selectors: Sequence[int], target: int) -> Ops:
    """Uniformly controlled ``R_axis(angles[j])`` on ``target`` (``selectors[0]`` = MSB of j).

    ``R(θ_s) = R(A)·X^s·R(B)·X^s`` with ``A = (θ0+θ1)/2``, ``B = (θ0-θ1)/2`` on the last
    selector, recursively (Möttönen et al. 2004). Exact, no global phase.
    """
    rot = G.ry_matrix if axis == "y" else G.rz_matrix
    if not selectors:
        return [] if abs(angles[0]) < 1e-15 else [("u", target, rot(angles[0]))]
    a = np.asarray(angles, dtype=float)
    a0, a1 = a[0::2], a[1::2]
    if np.allclose(a0, a1, atol=1e-15):
        return mux_rotation(axis, a0.tolist(), selectors[:-1], target)
    s = selectors[-1]
    rest = selectors[:-1]
    return [
        ("cx", s, target),
        *mux_rotation(axis, ((a0 - a1) / 2).tolist(), rest, target),
        ("cx", s, target),
        *mux_rotation(axis, ((a0 + a1) / 2).tolist(), rest, target),
    ]


def controlled_phase(phi: float, qubits: Sequence[int]) -> Lowered:
    """``C^{m-1}P(φ)``: phase ``e^{iφ}`` on the all-ones state of ``qubits`` (none → global)."""
    if not qubits or abs(phi) < 1e-15:
        return Lowered([], phi if not qubits else 0.0)
    if len(qubits) == 1:
        return Lowered([("u", qubits[0], _p(phi))])
    *rest, last = qubits
    if len(qubits) == 2:
        # exp(iφ|11⟩⟨11|) = e^{iφ/4}·Rz(φ/2)⊗Rz(φ/2)·exp(iφ/4·Z⊗Z)
        c = rest[0]
        ops: Ops = [
            ("zz", c, last, -phi / (4 * math.pi)),
            ("u", c, G.rz_matrix(phi / 2)),
            ("u", last, G.rz_matrix(phi / 2)),
        ]
        return Lowered(ops, phi / 4)
    # P(φ) = e^{iφ/2}·Rz(φ) on the last qubit, controlled by the rest.
    out = controlled_phase(phi / 2, rest)
    out.ops += mux_rotation("z", [0.0] * ((1 << len(rest)) - 1) + [phi], rest, last)
    return out


def controlled_1q(u: Matrix, controls: Sequence[int], target: int) -> Lowered:
    """Exact ``C^k U`` for a 2×2 ``U``.

    ``U = V·diag(e0, e1)·V†`` (Schur), so ``C^k U = V·C^k(e0)·C^{k+1}P(arg e1/e0)·V†``: one
    two-qubit interaction for k = 1; multiplexed ``Rz`` for more. Toffoli uses the 6-CNOT form.
    """
    k = len(controls)
    if k == 0:
        return Lowered([("u", target, u)])
    is_x = bool(np.allclose(u, G.PAULI_X, atol=1e-13))
    if is_x and k == 1:
        return Lowered([("cx", controls[0], target)])
    if is_x and k == 2:
        return Lowered(_toffoli(controls[0], controls[1], target))
    t, v = _linalg().schur(u.astype(np.complex128), output="complex")
    e0, e1 = complex(t[0, 0]), complex(t[1, 1])
    out = controlled_phase(cmath.phase(e0), controls)
    out.extend(controlled_phase(cmath.phase(e1 / e0), [*controls, target]))
    if np.allclose(v, np.eye(2), atol=1e-14):
        return out
    return Lowered([("u", target, v.conj().T), *out.ops, ("u", target, v)], out.phase)


def _toffoli(c1: int, c2: int, t: int) -> Ops:
    """Textbook exact Toffoli (Nielsen & Chuang Fig. 4.9): 6 CNOTs, T gates."""
    tg, td = _p(math.pi / 4), _p(-math.pi / 4)
    return [
        ("u", t, _H),
        ("cx", c2, t),
        ("u", t, td),
        ("cx", c1, t),
        ("u", t, tg),
        ("cx", c2, t),
        ("u", t, td),
        ("cx", c1, t),
        ("u", c2, tg),
        ("u", t, tg),
        ("u", t, _H),
        ("cx", c1, c2),
        ("u", c1, tg),
        ("u", c2, td),
        ("cx", c1, c2),
    ]


def control_ops(low: Lowered, controls: Sequence[int]) -> Lowered:
    """Exact ``C^k`` of a lowered sequence: control every op and the global phase."""
    out = controlled_phase(low.phase, controls)
    for op in low.ops:
        if op[0] == "u":
            out.extend(controlled_1q(op[2], controls, op[1]))
        elif op[0] == "cx":
            out.extend(controlled_1q(G.PAULI_X, [*controls, op[1]], op[2]))
        else:  # zz = CX·(I⊗Rz(2πθ))·CX; only the middle needs the controls
            _, a, b, theta = op
            out.ops.append(("cx", a, b))
            out.extend(controlled_1q(G.rz_matrix(2 * math.pi * theta), controls, b))
            out.ops.append(("cx", a, b))
    return out


# --------------------------------------------------------------------------- QSD


def _demux(a: Matrix, b: Matrix, qubits: Sequence[int]) -> Lowered:
    """``diag(A, B)`` selected by ``qubits[0]`` = ``(I⊗V)·(D⊕D†)·(I⊗W)``."""
    t, v = _linalg().schur(a @ b.conj().T, output="complex")
    d = np.sqrt(np.diag(t).astype(np.complex128))
    w = (d[:, None] * v.conj().T) @ b
    out = qsd(w, qubits[1:])
    out.ops += mux_rotation("z", (-2 * np.angle(d)).tolist(), qubits[1:], qubits[0])
    out.extend(qsd(v, qubits[1:]))
    return out


def qsd(u: Matrix, qubits: Sequence[int]) -> Lowered:
    """Quantum Shannon decomposition of ``u`` on ``qubits`` (``qubits[0]`` most significant)."""
    if len(qubits) == 1:
        return Lowered([("u", qubits[0], u)])
    h = u.shape[0] // 2
    (u1, u2), theta, (v1h, v2h) = _linalg().cossin(u, p=h, q=h, separate=True)
    out = _demux(v1h, v2h, qubits)
    out.ops += mux_rotation("y", (2 * np.asarray(theta)).tolist(), qubits[1:], qubits[0])
    out.extend(_demux(u1, u2, qubits))
    return out


# --------------------------------------------------------------------------- Pauli terms


def _basis_change(term: str, targets: Sequence[int]) -> tuple[Ops, Ops, list[int]]:
    """Ops mapping each non-identity letter to Z (and back); returns the support in order."""
    pre: Ops = []
    post: Ops = []
    support: list[int] = []
    for j, letter in enumerate(reversed(term)):  # string index j acts on targets[m-1-j]
        q = targets[j]
        if letter == "I":
            continue
        support.append(q)
        if letter == "X":
            pre.append(("u", q, _H))
            post.append(("u", q, _H))
        elif letter == "Y":
            pre.append(("u", q, _RX_HALF))
            post.append(("u", q, _RX_HALF_DAG))
    return pre, post, support


def pauli_term(
    term: str, angle: float, targets: Sequence[int], controls: Sequence[int] = ()
) -> Lowered:
    """Exact ``C^k exp(-i·angle·P)`` for one Pauli string on ``targets``."""
    pre, post, support = _basis_change(term, targets)
    if not support:
        return controlled_phase(-angle, controls)
    ladder = [("cx", support[i], support[i + 1]) for i in range(len(support) - 2)]
    last = support[-1]
    if controls or len(support) == 1:
        chain = [*ladder, ("cx", support[-2], last)] if len(support) > 1 else []
        core = controlled_1q(G.rz_matrix(2 * angle), controls, last)
        return Lowered(pre + chain + core.ops + chain[::-1] + post, core.phase)
    core_op = ("zz", support[-2], last, angle / math.pi)
    return Lowered(pre + ladder + [core_op] + ladder[::-1] + post)


def _commute(a: str, b: str) -> bool:
    anti = sum(1 for x, y in zip(a, b, strict=True) if "I" not in (x, y) and x != y)
    return anti % 2 == 0


# --------------------------------------------------------------------------- gates


def _two_qubit(gate: Gate) -> Lowered | None:
    a, b = gate.targets
    ctl = gate.controls
    if gate.name == "swap":
        inner = controlled_1q(G.PAULI_X, [*ctl, a], b)
        return Lowered([("cx", b, a), *inner.ops, ("cx", b, a)], inner.phase)
    letter = {"xx": "XX", "yy": "YY", "zz": "ZZ"}.get(gate.name)
    if letter is not None and gate.rotation is not None:
        return pauli_term(letter, gate.rotation / 2, (a, b), ctl)
    return None


def _pauliexp(gate: Gate) -> Lowered | None:
    terms, coeffs = gate.terms or (), gate.coefficients or ()
    if not all(_commute(s, t) for i, s in enumerate(terms) for t in terms[i + 1 :]):
        return None
    out = Lowered()
    for term, c in zip(terms, coeffs, strict=True):
        out.extend(pauli_term(term, (gate.time or 0.0) * c, gate.targets, gate.controls))
    return out


def lower_gate(gate: Gate) -> Lowered:
    """Exact IR of one QIS gate (controls included), global phase tracked.

    Raises:
        ValueError: a non-commuting ``pauliexp`` too wide to decompose densely even target-wise.
    """
    if len(gate.targets) == 1 and gate.name != "pauliexp":
        return controlled_1q(G.base_matrix(gate, "qis"), gate.controls, gate.targets[0])
    if len(gate.targets) == 2 and gate.name != "pauliexp":
        low = _two_qubit(gate)
        if low is not None:
            return low
    if gate.name == "pauliexp":
        low = _pauliexp(gate)
        if low is not None:
            return low
    return _dense(gate)


def _dense(gate: Gate) -> Lowered:
    width = len(gate.qubits)
    if width <= MAX_DENSE_QUBITS:
        return qsd(G.gate_matrix(gate, "qis"), gate.qubits)
    if len(gate.targets) <= MAX_DENSE_QUBITS:
        return control_ops(qsd(G.base_matrix(gate, "qis"), gate.targets), gate.controls)
    raise ValueError(
        f"cannot compile a {len(gate.targets)}-target non-commuting pauliexp exactly "
        f"(limit {MAX_DENSE_QUBITS} targets)"
    )

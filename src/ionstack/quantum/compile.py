"""QIS → native compiler, billing gate counts and exports (semantics.md §1.2–1.3, §5.9–5.10).

:func:`compile_native` lowers every QIS gate exactly (:mod:`ionstack.quantum.synthesis`) to
1q unitaries, CNOTs and ``exp(-iπθ·Z⊗Z)`` phases, then emits IonQ native gates for one
two-qubit family:

* ``"ms"`` (Aria class): ``gpi``, ``gpi2``, ``ms`` — each ZZ phase is ``(H⊗H)·XX·(H⊗H)``;
* ``"zz"`` (Forte class): ``gpi``, ``gpi2``, ``zz``.

Single-qubit work is merged per qubit and Z rotations are kept as a *virtual frame*: a pending
``Rz(α)`` is pushed through the next entangler by shifting its phases
(``XX·(Rz(α)⊗·) = (Rz(α)⊗·)·MS(-α/2π, ·)``; ``zz`` commutes with Z), so every merged 1q block
costs at most two ``gpi2`` (``V ≅ Rz(a)·GPI2(φ1)·GPI2(φ2)``). At the end each qubit's frame is
emitted exactly (≤ 3 natives, the ZYZ form of semantics.md §1.3), so the compiled circuit equals
the input up to a global phase. ``drop_final_z=True`` omits final Z rotations instead — they do
not change measurement outcomes, and IonQ's compiler does not spend pulses on them; the noisy
simulator uses that form. MS angles are normalised into ``(0, ¼]`` and zz angles into
``[-¼, ¼]`` (an excess half turn becomes ``σ⊗σ`` / ``Z⊗Z`` folded into the 1q frames).
Parameters are in turns and snapped to 12 decimals.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np

from ionstack.errors import JobFailure
from ionstack.quantum import gates as G
from ionstack.quantum.circuit import Circuit, Gate
from ionstack.quantum.gates import Matrix
from ionstack.quantum.synthesis import Ops, lower_gate, zyz

Family = Literal["ms", "zz"]

_EPS = 1e-12
_H = G.h_matrix()
_RZ_HALF_PI = G.rz_matrix(math.pi / 2)
_SQ = 1 / math.sqrt(2)


def _turns(x: float) -> float:
    """Reduce to [-½, ½] turns and snap to 12 decimals (no ``-0.0``)."""
    y = round(x - round(x), 12)
    return 0.0 if y == 0 else (0.5 if y == -0.5 else y)


# --------------------------------------------------------------------------- 1q splitting


def split_frame(v: Matrix) -> tuple[list[tuple[str, float]], float]:
    """Write a 2×2 unitary as ``Rz(a)·N`` with ``N`` ≤ 2 natives.

    Returns ``(natives, a)``: ``natives`` in time order as ``(name, phase in turns)``, ``a`` in
    radians. ``N`` is empty (diagonal ``v``), one ``gpi`` (anti-diagonal), one ``gpi2``
    (``|v00| = 1/√2``) or two ``gpi2``.
    """
    v00, v01, v10, v11 = complex(v[0, 0]), complex(v[0, 1]), complex(v[1, 0]), complex(v[1, 1])
    if abs(v01) < _EPS:
        return [], cmath.phase(v11 / v00)
    if abs(v00) < _EPS:
        return [("gpi", _turns(cmath.phase(v10 / v01) / (4 * math.pi)))], 0.0
    if abs(abs(v00) - _SQ) < _EPS:
        a = cmath.phase(v11 / v00)
        p = cmath.phase(v10 / v00) + math.pi / 2 - a
        return [("gpi2", _turns(p / (2 * math.pi)))], a
    w = v / cmath.sqrt(-complex(np.linalg.det(v)))  # det w = -1: [[α, β], [β*, -α*]]
    alpha, beta = complex(w[0, 0]), complex(w[0, 1])
    delta = 2 * math.atan2(abs(alpha), abs(beta))
    a = delta - 2 * cmath.phase(alpha)
    sigma = -cmath.phase(beta) - a / 2
    p1, p2 = sigma - delta / 2, sigma + delta / 2
    return [("gpi2", _turns(p2 / (2 * math.pi))), ("gpi2", _turns(p1 / (2 * math.pi)))], a


def _exact_1q(v: Matrix) -> list[tuple[str, float]]:
    """Natives (time order, ≤ 3) equal to ``v`` up to global phase."""
    natives, a = split_frame(v)
    a = math.remainder(a, 2 * math.pi)
    if abs(a) < _EPS:
        return natives
    if not natives:
        return [("gpi", 0.0), ("gpi", _turns(a / (4 * math.pi)))]
    if len(natives) == 1 and natives[0][0] == "gpi":  # Rz(a)·GPI(x) = GPI(x + a/4π)
        return [("gpi", _turns(natives[0][1] + a / (4 * math.pi)))]
    _, beta, gamma, delta = zyz(v)  # v ≅ Rz(β)·Ry(γ)·Rz(δ); semantics.md §1.3 ZYZ form
    tau = 2 * math.pi
    return [
        ("gpi2", _turns((math.pi - delta) / tau)),
        ("gpi", _turns((gamma / 2 + beta / 2 - delta / 2) / tau)),
        ("gpi2", _turns((math.pi + beta) / tau)),
    ]


# --------------------------------------------------------------------------- emitter


class _Emitter:
    """Turns IR ops into native gates, tracking a pending 1q unitary per qubit."""

    def __init__(self, qubits: int, family: Family) -> None:
        self.family = family
        self.pending: list[Matrix | None] = [None] * qubits
        self.gates: list[Gate] = []

    def one(self, q: int, m: Matrix) -> None:
        p = self.pending[q]
        self.pending[q] = m if p is None else m @ p

    def flush(self, q: int) -> float:
        """Emit the non-Z part of qubit ``q``'s pending unitary; return its frame angle."""
        p = self.pending[q]
        if p is None:
            return 0.0
        natives, a = split_frame(p)
        self.gates.extend(Gate(n, (q,), phase=phi) for n, phi in natives)
        self.pending[q] = G.rz_matrix(a)
        return a

    def cx(self, c: int, t: int) -> None:
        # CX = H_t · CZ · H_t and CZ ≅ (Rz(π/2)⊗Rz(π/2)) · exp(iπ/4·Z⊗Z)
        self.one(t, _H)
        self.zz(c, t, -0.25)
        self.one(c, _RZ_HALF_PI)
        self.one(t, _RZ_HALF_PI)
        self.one(t, _H)

    def zz(self, a: int, b: int, theta: float) -> None:
        """Emit ``exp(-iπθ·Z⊗Z)``."""
        theta = theta - round(theta)
        if abs(theta) > 0.25:  # exp(∓iπ/2·Z⊗Z) ∝ Z⊗Z, folded into the frames
            theta -= math.copysign(0.5, theta)
            self.one(a, G.PAULI_Z)
            self.one(b, G.PAULI_Z)
        if abs(theta) < _EPS:
            return
        if self.family == "zz":
            self.flush(a)
            self.flush(b)
            self.gates.append(Gate("zz", (a, b), angle=round(theta, 12)))
            return
        self.one(a, _H)
        self.one(b, _H)
        fa, fb = self.flush(a), self.flush(b)
        phases = (
            _turns(-fa / (2 * math.pi) + (0.5 if theta < 0 else 0.0)),
            _turns(-fb / (2 * math.pi)),
        )
        self.gates.append(Gate("ms", (a, b), phases=phases, angle=round(abs(theta), 12)))
        self.one(a, _H)
        self.one(b, _H)

    def finish(self, *, drop_final_z: bool) -> None:
        for q, p in enumerate(self.pending):
            if p is None:
                continue
            natives = split_frame(p)[0] if drop_final_z else _exact_1q(p)
            self.gates.extend(Gate(n, (q,), phase=phi) for n, phi in natives)
            self.pending[q] = None


def _cancel_cx(ops: Ops) -> Ops:
    """Drop adjacent identical CNOT pairs (nothing in between on either qubit)."""
    out: list[tuple[Any, ...] | None] = []
    stacks: dict[int, list[int]] = {}
    for op in ops:
        qs = (op[1],) if op[0] == "u" else (op[1], op[2])
        if op[0] == "cx":
            last = [stacks.get(q, [None])[-1] if stacks.get(q) else None for q in qs]
            j = last[0]
            if j is not None and j == last[1] and out[j] == op:
                out[j] = None
                for q in qs:
                    stacks[q].pop()
                continue
        for q in qs:
            stacks.setdefault(q, []).append(len(out))
        out.append(op)
    return [op for op in out if op is not None]


def _diagonal(m: Matrix) -> bool:
    return bool(abs(m[0, 1]) < _EPS and abs(m[1, 0]) < _EPS)


def _fuse_cx_phase(ops: Ops) -> Ops:
    """``CX(a,b) · D · CX(a,b)`` → one ZZ rotation, where D holds only diagonal 1q unitaries on
    ``a`` and ``b`` (Z rotations and phases): the ``cx; rz(θ) b; cx`` form in which Qiskit and
    OpenQASM 3 exporters write ``rzz``. With D's part on ``b`` = diag(e^{iα}, e^{iβ}),
    ``CX·(I⊗D_b)·CX = e^{i(α+β)/2}·exp(−i(β−α)/2·Z⊗Z)``; D's part on ``a`` commutes with the
    control and stays. One entangler instead of two, as IonQ's optimizing compiler makes a
    "hardware-optimized and highly compact circuit" on systems with arbitrary-angle entanglers.
    """
    out: list[tuple[Any, ...] | None] = []
    # (control, target) → index of its first CX, and the diagonal ops on the target since then
    open_cx: dict[tuple[int, int], tuple[int, list[int]]] = {}

    def close(q: int) -> None:
        for key in [k for k in open_cx if q in k]:
            del open_cx[key]

    for op in ops:
        if op[0] == "u":
            q, m = op[1], op[2]
            if _diagonal(m):
                for key, (_, between) in open_cx.items():
                    if key[1] == q:
                        between.append(len(out))
            else:
                close(q)
            out.append(op)
            continue
        a, b = op[1], op[2]
        if op[0] == "cx" and (a, b) in open_cx:
            j, between = open_cx.pop((a, b))
            d = np.eye(2, dtype=np.complex128)
            for i in between:
                d = out[i][2] @ d  # type: ignore[index]
                out[i] = None
            out[j] = None
            close(a)
            close(b)
            alpha, beta = cmath.phase(d[0, 0]), cmath.phase(d[1, 1])
            out.append(("zz", a, b, (beta - alpha) / (2 * math.pi)))
            continue
        close(a)
        close(b)
        if op[0] == "cx":
            open_cx[(a, b)] = (len(out), [])
        out.append(op)
    return [op for op in out if op is not None]


# --------------------------------------------------------------------------- public


def check_family(circuit: Circuit, family: Family | None) -> None:
    """Reject native two-qubit gates of the other family (semantics.md §1.2).

    Raises:
        JobFailure: ``UnsupportedGate`` with IonQ's text
            ``Gate types [ms] are not supported by this backend``.
    """
    if circuit.gateset != "native" or family is None:
        return
    other = "zz" if family == "ms" else "ms"
    if any(g.name == other for g in circuit.gates):
        message = f"Gate types [{other}] are not supported by this backend"
        raise JobFailure("UnsupportedGate", message)


def compile_native(circuit: Circuit, *, family: Family, drop_final_z: bool = False) -> Circuit:
    """Compile a QIS circuit to IonQ native gates of one two-qubit family.

    Args:
        circuit: A parsed circuit. Native input is returned unchanged ("we run exactly what
            you submit", semantics.md §1.2) after the family check.
        family: ``"ms"`` (gpi/gpi2/ms, Aria) or ``"zz"`` (gpi/gpi2/zz, Forte).
        drop_final_z: Omit each qubit's final Z rotation (measurement-equivalent only).

    Returns:
        A native circuit, unitary-equivalent to ``circuit`` up to global phase (unless
        ``drop_final_z``), with the same width, name and registers.

    Raises:
        JobFailure: ``UnsupportedGate`` for native input of the other family;
            ``CompilationError`` if a gate cannot be synthesised.
    """
    if circuit.gateset == "native":
        check_family(circuit, family)
        return circuit
    ops: Ops = []
    for i, gate in enumerate(circuit.gates):
        try:
            ops.extend(lower_gate(gate).ops)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise JobFailure("CompilationError", f"input.circuit[{i}]: {exc}") from exc
    em = _Emitter(circuit.qubits, family)
    for op in _fuse_cx_phase(_cancel_cx(ops)):
        if op[0] == "u":
            em.one(op[1], op[2])
        elif op[0] == "cx":
            em.cx(op[1], op[2])
        else:
            em.zz(op[1], op[2], op[3])
    em.finish(drop_final_z=drop_final_z)
    return Circuit(
        qubits=circuit.qubits,
        gateset="native",
        gates=tuple(em.gates),
        name=circuit.name,
        registers=circuit.registers,
    )


def _count_gate(gate: Gate, gateset: str) -> tuple[int, int]:
    if gateset == "native":
        if gate.name in ("gpi", "gpi2"):
            return len(gate.targets), 0
        return (0, 1) if gate.name in ("ms", "zz") else (0, 0)
    if gate.name == "pauliexp" and not gate.controls:
        one = two = 0
        for term in gate.terms or ():
            w = sum(1 for c in term if c != "I")
            if w:
                two += 2 * (w - 1)
                one += 1 + 2 * sum(1 for c in term if c in "XY")
        return one, two
    width = len(gate.qubits)
    if width >= 3:
        return 0, 6 * (width - 2)
    return (0, 1) if width == 2 else (1, 0)


def gate_counts(circuit: Circuit) -> dict[str, int]:
    """Billing gate counts of the *submitted* circuit (semantics.md §5.10).

    1q: every uncontrolled single-qubit QIS gate (per target), every ``gpi``/``gpi2``.
    2q: ``cnot``/``swap``/``xx``/``yy``/``zz``/``ms``/native ``zz`` and any 1q gate with one
    control; a gate on N ≥ 3 qubits (controls + targets) counts 6·(N−2) (Azure docs).
    ``pauliexp``: per term of weight w ≥ 1, 2q += 2(w−1), 1q += 1 + 2·#{X, Y} (with controls it
    follows the N-qubit rule). ``nop`` counts nothing.

    Returns:
        ``{"1q": n1, "2q": n2}``.
    """
    one = two = 0
    for gate in circuit.gates:
        a, b = _count_gate(gate, circuit.gateset)
        one += a
        two += b
    return {"1q": one, "2q": two}


def _gate_json(g: Gate) -> dict[str, Any]:
    if g.name in ("gpi", "gpi2"):
        return {"gate": g.name, "target": g.targets[0], "phase": g.phase}
    if g.name == "ms":
        return {
            "gate": "ms",
            "targets": list(g.targets),
            "phases": list(g.phases or (0.0, 0.0)),
            "angle": g.angle,
        }
    if g.name == "zz":
        return {"gate": "zz", "targets": list(g.targets), "angle": g.angle}
    out: dict[str, Any] = {"gate": "nop"}
    if g.targets:
        out["targets"] = list(g.targets)
    if g.time is not None:
        out["time"] = g.time
    return out


def _require_native(circuit: Circuit) -> None:
    if circuit.gateset != "native":
        raise ValueError("export needs a native circuit; call compile_native first")


def native_json(circuit: Circuit) -> dict[str, Any]:
    """The ``ionq.native.v1`` shape ``{"qubits": n, "circuit": [...]}`` (semantics.md §5.9)."""
    _require_native(circuit)
    return {"qubits": circuit.qubits, "circuit": [_gate_json(g) for g in circuit.gates]}


def _num(x: float | None) -> str:
    x = 0.0 if x is None else float(x)
    return str(int(x)) if x == int(x) else repr(x)


def _qasm_lines(gates: Iterable[Gate]) -> Iterable[str]:
    for g in gates:
        qs = ", ".join(f"q[{q}]" for q in g.targets)
        if g.name in ("gpi", "gpi2"):
            yield f"{g.name}({_num(g.phase)}) {qs};"
        elif g.name == "ms":
            p0, p1 = g.phases or (0.0, 0.0)
            yield f"ms({_num(p0)}, {_num(p1)}, {_num(g.angle)}) {qs};"
        elif g.name == "zz":
            yield f"zz({_num(g.angle)}) {qs};"
        elif g.time:
            yield f"delay[{_num(g.time)}us] {qs or 'q'};"


def to_qasm3(circuit: Circuit) -> str:
    """OpenQASM 3 text with IonQ's native gate names, parameters in turns (semantics.md §5.9).

    Example::

        OPENQASM 3.0;
        qubit[2] q;
        bit[2] c;
        gpi2(0.25) q[0];
        ms(0, 0, 0.25) q[0], q[1];
        c = measure q;
    """
    _require_native(circuit)
    n = circuit.qubits
    lines = [
        "OPENQASM 3.0;",
        f"qubit[{n}] q;",
        f"bit[{n}] c;",
        *_qasm_lines(circuit.gates),
        "c = measure q;",
    ]
    return "\n".join(lines) + "\n"

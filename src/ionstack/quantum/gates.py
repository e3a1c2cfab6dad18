"""Gate matrices and the gate registry (semantics.md §1).

Conventions, for every matrix in this module:

* **Basis order.** A gate acting on qubits ``[a, b, ...]`` is written in the basis
  ``|q_a q_b ...⟩`` where the *first* listed qubit is the most significant (left) tensor factor.
  This is the convention of IonQ's documentation and Cirq (semantics.md §0). Qiskit prints the
  same gates with the qubits swapped.
* **Controls.** A controlled gate on ``controls + targets`` puts the controls first (most
  significant); its matrix is the identity except for the all-ones control block, which is the
  base gate *with its exact global phase* (``crz`` is Qiskit's CRZ, ``cp`` is controlled-P).
* **Units.** QIS ``rotation`` is in radians; native ``phase``/``phases``/``angle`` are in turns
  (1 turn = 2π rad).

Each ``*_matrix`` function cites its source. The registry :data:`GATES` maps a wire name to a
:class:`GateSpec` (arity, parameter names, matrix function), beside the definitions
(conventions.md §9).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ionstack.quantum.circuit import Gate

Matrix = npt.NDArray[np.complex128]
GateSet = Literal["qis", "native"]

TWO_PI = 2.0 * math.pi
_SQ = 1.0 / math.sqrt(2.0)

I2: Matrix = np.eye(2, dtype=np.complex128)
PAULI_X: Matrix = np.array([[0, 1], [1, 0]], dtype=np.complex128)
PAULI_Y: Matrix = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
PAULI_Z: Matrix = np.array([[1, 0], [0, -1]], dtype=np.complex128)
PAULIS: dict[str, Matrix] = {"I": I2, "X": PAULI_X, "Y": PAULI_Y, "Z": PAULI_Z}


def _frozen(m: Matrix) -> Matrix:
    m.setflags(write=False)
    return m


# --------------------------------------------------------------------------- QIS, fixed


def x_matrix() -> Matrix:
    """Pauli X (``x``, ``not``): ``[[0,1],[1,0]]``. Source: semantics.md §1.1 table."""
    return PAULI_X.copy()


def y_matrix() -> Matrix:
    """Pauli Y: ``[[0,-i],[i,0]]``. Source: semantics.md §1.1 table."""
    return PAULI_Y.copy()


def h_matrix() -> Matrix:
    """Hadamard: ``1/√2·[[1,1],[1,-1]]``. Source: semantics.md §1.1 table."""
    return np.array([[_SQ, _SQ], [_SQ, -_SQ]], dtype=np.complex128)


def phase_matrix(lam: float) -> Matrix:
    """Phase gate ``P(λ) = diag(1, e^{iλ})``, λ in radians.

    ``z`` is ``P(π)``; ``z`` with ``rotation`` λ is ``P(λ)`` (qiskit-ionq's ``p``/``cp`` alias);
    ``s``/``si`` are ``P(±π/2)`` and ``t``/``ti`` are ``P(±π/4)``. Source: semantics.md §1.1
    ("z with rotation" and the single-qubit table).
    """
    return np.array([[1, 0], [0, complex(math.cos(lam), math.sin(lam))]], dtype=np.complex128)


def z_matrix() -> Matrix:
    """Pauli Z: ``diag(1,-1)``. Source: semantics.md §1.1 table."""
    return PAULI_Z.copy()


def v_matrix() -> Matrix:
    """√X (``v``, Qiskit ``sx``): ``½·[[1+i, 1-i],[1-i, 1+i]]``. Source: semantics.md §1.1."""
    return 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]], dtype=np.complex128)


def vi_matrix() -> Matrix:
    """√X† (``vi``): ``½·[[1-i, 1+i],[1+i, 1-i]]``. Source: semantics.md §1.1 table (``sxdg``)."""
    return 0.5 * np.array([[1 - 1j, 1 + 1j], [1 + 1j, 1 - 1j]], dtype=np.complex128)


# --------------------------------------------------------------------------- QIS, rotations


def rx_matrix(theta: float) -> Matrix:
    """``rx(θ) = exp(-iθX/2) = [[c, -is],[-is, c]]``, θ in radians. Source: semantics.md §1.1."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -1j * s], [-1j * s, c]], dtype=np.complex128)


def ry_matrix(theta: float) -> Matrix:
    """``ry(θ) = exp(-iθY/2) = [[c, -s],[s, c]]``, θ in radians. Source: semantics.md §1.1."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -s], [s, c]], dtype=np.complex128)


def rz_matrix(theta: float) -> Matrix:
    """``rz(θ) = exp(-iθZ/2) = diag(e^{-iθ/2}, e^{iθ/2})``, θ in radians (semantics.md §1.1)."""
    e = complex(math.cos(theta / 2), math.sin(theta / 2))
    return np.array([[e.conjugate(), 0], [0, e]], dtype=np.complex128)


def cnot_matrix() -> Matrix:
    """CNOT on ``[control, target]``: ``|x_c, x_t⟩ → |x_c, x_t ⊕ x_c⟩`` (semantics.md §1.1)."""
    return controlled(PAULI_X, 1)


def swap_matrix() -> Matrix:
    """SWAP on ``[a, b]``. Source: semantics.md §1.1."""
    m = np.zeros((4, 4), dtype=np.complex128)
    m[0, 0] = m[1, 2] = m[2, 1] = m[3, 3] = 1
    return m


def xx_matrix(theta: float) -> Matrix:
    """``xx(θ) = exp(-iθ/2·X⊗X)``, θ in radians (Qiskit ``rxx``). Source: semantics.md §1.1."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array(
        [[c, 0, 0, -1j * s], [0, c, -1j * s, 0], [0, -1j * s, c, 0], [-1j * s, 0, 0, c]],
        dtype=np.complex128,
    )


def yy_matrix(theta: float) -> Matrix:
    """``yy(θ) = exp(-iθ/2·Y⊗Y)``, θ in radians (Qiskit ``ryy``). Source: semantics.md §1.1."""
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array(
        [[c, 0, 0, 1j * s], [0, c, -1j * s, 0], [0, -1j * s, c, 0], [1j * s, 0, 0, c]],
        dtype=np.complex128,
    )


def zz_matrix(theta: float) -> Matrix:
    """QIS ``zz(θ) = exp(-iθ/2·Z⊗Z)``, θ in radians (Qiskit ``rzz``). Source: semantics.md §1.1."""
    e = complex(math.cos(theta / 2), math.sin(theta / 2))
    return np.diag([e.conjugate(), e, e, e.conjugate()]).astype(np.complex128)


def pauli_string_matrix(term: str) -> Matrix:
    """The Pauli operator of a ``pauliexp`` term on ``targets`` (basis ``|t_0 t_1 …⟩``).

    String index ``j`` acts on ``targets[m-1-j]``: the rightmost character belongs to
    ``targets[0]`` (Qiskit label order). Source: semantics.md §1.1 ``pauliexp``.
    """
    out: Matrix = np.ones((1, 1), dtype=np.complex128)
    for letter in reversed(term):  # targets[0] (most significant) first
        out = np.asarray(np.kron(out, PAULIS[letter]), dtype=np.complex128)
    return out


def pauliexp_matrix(
    terms: tuple[str, ...], coefficients: tuple[float, ...], time: float, width: int
) -> Matrix:
    """Exact ``exp(-i·time·Σ_j coefficients[j]·P_j)`` on ``width`` targets.

    Computed by diagonalising the Hermitian generator, so non-commuting terms are exact too
    (semantics.md §1.1 [P]: "the server should compute the exact exp(-i t H) in every case").
    Convention: Qiskit's ``PauliEvolutionGate(H, t)``; string index ``j`` acts on
    ``targets[m-1-j]``.
    """
    dim = 1 << width
    h = np.zeros((dim, dim), dtype=np.complex128)
    for term, coeff in zip(terms, coefficients, strict=True):
        h += coeff * pauli_string_matrix(term)
    evals, evecs = np.linalg.eigh(h)
    phases = np.exp(-1j * time * evals)
    out = (evecs * phases) @ evecs.conj().T
    return np.asarray(out, dtype=np.complex128)


# --------------------------------------------------------------------------- native (turns)


def gpi_matrix(phi: float) -> Matrix:
    """``GPI(φ) = [[0, e^{-2πiφ}],[e^{2πiφ}, 0]] = cos(2πφ)X + sin(2πφ)Y``, φ in turns.

    GPI(0) = X, GPI(¼) = Y. Source: semantics.md §1.2 (IonQ native-gates guide; Braket ``GPi``
    with φ in radians).
    """
    e = complex(math.cos(TWO_PI * phi), math.sin(TWO_PI * phi))
    return np.array([[0, e.conjugate()], [e, 0]], dtype=np.complex128)


def gpi2_matrix(phi: float) -> Matrix:
    """``GPI2(φ) = 1/√2·[[1, -i e^{-2πiφ}],[-i e^{2πiφ}, 1]] = exp(-iπ/4·σ_φ)``, φ in turns.

    GPI2(0) = Rx(π/2), GPI2(¼) = Ry(π/2). Source: semantics.md §1.2 (Braket ``GPi2``).
    """
    e = complex(math.cos(TWO_PI * phi), math.sin(TWO_PI * phi))
    return _SQ * np.array([[1, -1j * e.conjugate()], [-1j * e, 1]], dtype=np.complex128)


def ms_matrix(phi0: float, phi1: float, theta: float = 0.25) -> Matrix:
    """Mølmer–Sørensen ``MS(φ0, φ1, θ) = exp(-iπθ·σ_{φ0}⊗σ_{φ1})`` on ``[a, b]``, all in turns.

    ``φ0`` belongs to ``targets[0]``; θ defaults to ¼ (fully entangling). Matrix:
    ``[[C,0,0,-iS·e^{-2πi(φ0+φ1)}],[0,C,-iS·e^{-2πi(φ0-φ1)},0],[0,-iS·e^{2πi(φ0-φ1)},C,0],
    [-iS·e^{2πi(φ0+φ1)},0,0,C]]`` with C = cos(πθ), S = sin(πθ). Source: semantics.md §1.2
    (IonQ native-gates guide; Braket ``MS`` with ``angle_3 = 2πθ``).
    """
    c, s = math.cos(math.pi * theta), math.sin(math.pi * theta)
    p = complex(math.cos(TWO_PI * (phi0 + phi1)), math.sin(TWO_PI * (phi0 + phi1)))
    m = complex(math.cos(TWO_PI * (phi0 - phi1)), math.sin(TWO_PI * (phi0 - phi1)))
    return np.array(
        [
            [c, 0, 0, -1j * s * p.conjugate()],
            [0, c, -1j * s * m.conjugate(), 0],
            [0, -1j * s * m, c, 0],
            [-1j * s * p, 0, 0, c],
        ],
        dtype=np.complex128,
    )


def native_zz_matrix(theta: float) -> Matrix:
    """Native ``ZZ(θ) = exp(-iπθ·Z⊗Z) = diag(e^{-iπθ}, e^{iπθ}, e^{iπθ}, e^{-iπθ})``, θ in turns.

    Equals QIS ``zz(rotation = 2πθ)``. Source: semantics.md §1.2.
    """
    return zz_matrix(TWO_PI * theta)


# --------------------------------------------------------------------------- helpers


def controlled(u: Matrix, k: int) -> Matrix:
    """``C^k U``: identity except the all-ones block of the ``k`` leading (control) qubits.

    Source: semantics.md §1.1 "Controlled variants" (global phase of ``U`` kept).
    """
    d = u.shape[0]
    out: Matrix = np.eye(d << k, dtype=np.complex128)
    out[-d:, -d:] = u
    return out


def is_unitary(m: Matrix, *, atol: float = 1e-10) -> bool:
    """Whether ``m`` is unitary to within ``atol``."""
    return bool(np.allclose(m.conj().T @ m, np.eye(m.shape[0]), atol=atol))


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True, kw_only=True)
class GateSpec:
    """One gate of the wire format.

    Attributes:
        name: Wire name (``"h"``, ``"gpi2"``, …).
        gateset: ``"qis"`` or ``"native"``.
        arity: Number of targets (``0`` = any number ≥ 1, used by ``pauliexp``).
        params: Required parameter fields.
        optional: Optional parameter fields.
        matrix: Base unitary on the targets (no controls) for a parsed :class:`Gate`.
        broadcast: A single-qubit gate that may list several targets (applied to each).
        controllable: Whether ``control``/``controls`` are accepted.
    """

    name: str
    gateset: GateSet
    arity: int
    params: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    matrix: Callable[[Gate], Matrix]
    broadcast: bool = False
    controllable: bool = True


def _fixed(fn: Callable[[], Matrix]) -> Callable[[Gate], Matrix]:
    m = _frozen(fn())
    return lambda _g: m


def _rot(fn: Callable[[float], Matrix]) -> Callable[[Gate], Matrix]:
    return lambda g: fn(_param(g.rotation))


def _param(v: float | None) -> float:
    if v is None:  # the parser guarantees presence; guard for hand-built gates
        raise ValueError("missing gate parameter")
    return v


def _z(g: Gate) -> Matrix:
    return z_matrix() if g.rotation is None else phase_matrix(g.rotation)


def _pauliexp(g: Gate) -> Matrix:
    return pauliexp_matrix(g.terms or (), g.coefficients or (), _param(g.time), len(g.targets))


def _ms(g: Gate) -> Matrix:
    phases = g.phases or (0.0, 0.0)
    return ms_matrix(phases[0], phases[1], 0.25 if g.angle is None else g.angle)


def _native_zz(g: Gate) -> Matrix:
    return native_zz_matrix(_param(g.angle))


def _nop(g: Gate) -> Matrix:
    return np.eye(1 << len(g.targets), dtype=np.complex128)


QIS_GATES: dict[str, GateSpec] = {
    s.name: s
    for s in (
        GateSpec(name="x", gateset="qis", arity=1, matrix=_fixed(x_matrix), broadcast=True),
        GateSpec(name="not", gateset="qis", arity=1, matrix=_fixed(x_matrix), broadcast=True),
        GateSpec(name="y", gateset="qis", arity=1, matrix=_fixed(y_matrix), broadcast=True),
        GateSpec(
            name="z", gateset="qis", arity=1, optional=("rotation",), matrix=_z, broadcast=True
        ),
        GateSpec(name="h", gateset="qis", arity=1, matrix=_fixed(h_matrix), broadcast=True),
        GateSpec(
            name="s",
            gateset="qis",
            arity=1,
            matrix=_fixed(lambda: phase_matrix(math.pi / 2)),
            broadcast=True,
        ),
        GateSpec(
            name="si",
            gateset="qis",
            arity=1,
            matrix=_fixed(lambda: phase_matrix(-math.pi / 2)),
            broadcast=True,
        ),
        GateSpec(
            name="t",
            gateset="qis",
            arity=1,
            matrix=_fixed(lambda: phase_matrix(math.pi / 4)),
            broadcast=True,
        ),
        GateSpec(
            name="ti",
            gateset="qis",
            arity=1,
            matrix=_fixed(lambda: phase_matrix(-math.pi / 4)),
            broadcast=True,
        ),
        GateSpec(name="v", gateset="qis", arity=1, matrix=_fixed(v_matrix), broadcast=True),
        GateSpec(name="vi", gateset="qis", arity=1, matrix=_fixed(vi_matrix), broadcast=True),
        GateSpec(
            name="rx",
            gateset="qis",
            arity=1,
            params=("rotation",),
            matrix=_rot(rx_matrix),
            broadcast=True,
        ),
        GateSpec(
            name="ry",
            gateset="qis",
            arity=1,
            params=("rotation",),
            matrix=_rot(ry_matrix),
            broadcast=True,
        ),
        GateSpec(
            name="rz",
            gateset="qis",
            arity=1,
            params=("rotation",),
            matrix=_rot(rz_matrix),
            broadcast=True,
        ),
        # cnot is x with ≥ 1 control; the parser normalises it to name "x".
        GateSpec(name="cnot", gateset="qis", arity=1, matrix=_fixed(x_matrix)),
        GateSpec(name="swap", gateset="qis", arity=2, matrix=_fixed(swap_matrix)),
        GateSpec(name="xx", gateset="qis", arity=2, params=("rotation",), matrix=_rot(xx_matrix)),
        GateSpec(name="yy", gateset="qis", arity=2, params=("rotation",), matrix=_rot(yy_matrix)),
        GateSpec(name="zz", gateset="qis", arity=2, params=("rotation",), matrix=_rot(zz_matrix)),
        GateSpec(
            name="pauliexp",
            gateset="qis",
            arity=0,
            params=("terms", "coefficients", "time"),
            matrix=_pauliexp,
        ),
    )
}

NATIVE_GATES: dict[str, GateSpec] = {
    s.name: s
    for s in (
        GateSpec(
            name="gpi",
            gateset="native",
            arity=1,
            params=("phase",),
            matrix=lambda g: gpi_matrix(_param(g.phase)),
            broadcast=True,
            controllable=False,
        ),
        GateSpec(
            name="gpi2",
            gateset="native",
            arity=1,
            params=("phase",),
            matrix=lambda g: gpi2_matrix(_param(g.phase)),
            broadcast=True,
            controllable=False,
        ),
        GateSpec(
            name="ms",
            gateset="native",
            arity=2,
            params=("phases",),
            optional=("angle",),
            matrix=_ms,
            controllable=False,
        ),
        GateSpec(
            name="zz",
            gateset="native",
            arity=2,
            params=("angle",),
            matrix=_native_zz,
            controllable=False,
        ),
        GateSpec(
            name="nop",
            gateset="native",
            arity=0,
            optional=("time",),
            matrix=_nop,
            controllable=False,
        ),
    )
}

GATES: dict[GateSet, dict[str, GateSpec]] = {"qis": QIS_GATES, "native": NATIVE_GATES}


def spec_for(gate: Gate, gateset: GateSet) -> GateSpec:
    """The registry entry of a parsed gate (``cnot`` is stored as ``x`` with controls)."""
    return GATES[gateset][gate.name]


@lru_cache(maxsize=4096)
def _cached_base(gate: Gate, gateset: GateSet) -> Matrix:
    return _frozen(spec_for(gate, gateset).matrix(gate).astype(np.complex128, copy=True))


def base_matrix(gate: Gate, gateset: GateSet) -> Matrix:
    """The unitary of ``gate`` on its targets only (controls ignored); read-only, cached."""
    return _cached_base(gate, gateset)


def gate_matrix(gate: Gate, gateset: GateSet) -> Matrix:
    """The full unitary of ``gate`` on ``controls + targets`` (controls most significant)."""
    base = base_matrix(gate, gateset)
    return controlled(base, len(gate.controls)) if gate.controls else base

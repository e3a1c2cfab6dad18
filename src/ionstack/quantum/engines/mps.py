"""Matrix-product states (numpy, complex128) for wide low-entanglement circuits (issue 16 §4).

Site q holds qubit q as a tensor ``(χ_left, 2, χ_right)``. The state is kept in mixed
canonical form around an orthogonality centre, so a two-site update followed by a truncated
SVD is the optimal truncation and its discarded weight (the norm² of the dropped singular
values, relative) is exactly the fidelity it costs that step. A gate on qubits that are not
neighbours is brought together with SWAPs and taken back. Bond dimensions are capped at
``max_bond``; :attr:`MPS.discarded` sums what the cap dropped (≈ 1 − fidelity), and a run
stops as soon as it passes ``max_discarded`` (:class:`TooEntangled`).

Why our own (bench/README.md, "36 qubits"): the libraries measured (qiskit-aer's MPS method,
quimb's ``CircuitMPS``) cannot hand back a state to continue from cheaply, which the
error-pattern grouping of noisy runs needs (each distinct pattern continues an ideal
checkpoint: :mod:`.trajectories`); Aer's noisy MPS re-simulates every shot.

Before a run, :func:`bond_bounds` gives an upper bound of every bond dimension from the
circuit alone (operator Schmidt ranks of its gates across each cut), so the cost and memory
are known before anything is simulated.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ionstack.quantum import gates as G
from ionstack.quantum.engines import Op

Tensor = npt.NDArray[np.complex128]

#: Singular values below this fraction of the norm² are dropped (numerical zeros; not counted
#: as truncation).
CUTOFF = 1e-14
#: Marginals below this end a branch of the exact enumeration (answers drop p < 1e-12).
ENUM_FLOOR = 1e-12

_SWAP = G.swap_matrix()


class TooEntangled(Exception):
    """The bond-dimension cap discarded more than allowed."""

    def __init__(self, discarded: float, max_bond: int) -> None:
        super().__init__(discarded, max_bond)
        self.discarded = discarded
        self.max_bond = max_bond


@dataclass(slots=True)
class MPS:
    """A matrix-product state in mixed canonical form (``centre`` is the one non-isometry)."""

    tensors: list[Tensor]
    centre: int = 0
    discarded: float = 0.0
    peak_bond: int = 1

    @classmethod
    def zero(cls, n: int) -> MPS:
        t = np.zeros((1, 2, 1), dtype=np.complex128)
        t[0, 0, 0] = 1.0
        return cls([t.copy() for _ in range(n)])

    @property
    def n(self) -> int:
        return len(self.tensors)

    def copy(self) -> MPS:
        """Shares the tensors: every update replaces a tensor, never writes into one."""
        return MPS(list(self.tensors), self.centre, self.discarded, self.peak_bond)

    def bonds(self) -> list[int]:
        return [t.shape[2] for t in self.tensors[:-1]]

    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    # ------------------------------------------------------------------ canonical form

    def move_centre(self, to: int) -> None:
        while self.centre < to:
            c = self.centre
            a = self.tensors[c]
            left, _, right = a.shape
            q, r = np.linalg.qr(a.reshape(left * 2, right))
            self.tensors[c] = q.reshape(left, 2, q.shape[1])
            self.tensors[c + 1] = np.tensordot(r, self.tensors[c + 1], axes=(1, 0))
            self.centre = c + 1
        while self.centre > to:
            c = self.centre
            a = self.tensors[c]
            left, _, right = a.shape
            q, r = np.linalg.qr(a.reshape(left, 2 * right).T)
            self.tensors[c] = q.T.reshape(q.shape[1], 2, right)
            self.tensors[c - 1] = np.tensordot(self.tensors[c - 1], r.T, axes=(2, 0))
            self.centre = c - 1

    # ------------------------------------------------------------------ gates

    def apply_1q(self, q: int, m: Tensor) -> None:
        self.tensors[q] = np.einsum("ij,ljr->lir", m, self.tensors[q])

    def apply_adjacent(self, q: int, m: Tensor, max_bond: int) -> None:
        """A 4×4 gate on sites ``q, q+1`` (site q the most significant factor of ``m``)."""
        self.move_centre(q)
        a, b = self.tensors[q], self.tensors[q + 1]
        left, right = a.shape[0], b.shape[2]
        theta = np.tensordot(a, b, axes=(2, 0))  # (l, 2, 2, r)
        theta = np.einsum("abij,lijr->labr", m.reshape(2, 2, 2, 2), theta)
        u, s, vh = np.linalg.svd(theta.reshape(left * 2, 2 * right), full_matrices=False)
        weights = s * s
        total = float(weights.sum())
        keep = int(np.count_nonzero(weights > CUTOFF * total)) or 1
        if keep > max_bond:
            self.discarded += float(weights[max_bond:keep].sum()) / total
            keep = max_bond
        s = s[:keep] / math.sqrt(float(weights[:keep].sum()))
        self.tensors[q] = u[:, :keep].reshape(left, 2, keep)
        self.tensors[q + 1] = (s[:, None] * vh[:keep]).reshape(keep, 2, right)
        self.centre = q + 1
        self.peak_bond = max(self.peak_bond, keep)

    def apply(self, op: Op, max_bond: int) -> None:
        targets, controls, m = op
        qubits = controls + targets
        full = G.controlled(m, len(controls)) if controls else m
        if len(qubits) == 1:
            self.apply_1q(qubits[0], full)
            return
        if len(qubits) != 2:
            raise ValueError(f"MPS ops act on 1 or 2 qubits, got {len(qubits)}")
        a, b = qubits
        if a > b:
            a, b = b, a
            full = _SWAP @ full @ _SWAP
        for k in range(b - 1, a, -1):  # bring qubit b next to a
            self.apply_adjacent(k, _SWAP, max_bond)
        self.apply_adjacent(a, full, max_bond)
        for k in range(a + 1, b):
            self.apply_adjacent(k, _SWAP, max_bond)

    # ------------------------------------------------------------------ reading

    def _right_canonical(self) -> None:
        self.move_centre(0)
        norm = float(np.vdot(self.tensors[0], self.tensors[0]).real)
        if norm > 0 and abs(norm - 1) > 1e-12:
            self.tensors[0] = self.tensors[0] / math.sqrt(norm)

    def sample(self, shots: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        """``shots`` outcomes (little-endian ints), site by site from the exact conditionals."""
        self._right_canonical()
        v = np.ones((shots, 1), dtype=np.complex128)
        out = np.zeros(shots, dtype=np.int64)
        u = rng.random((self.n, shots))
        for q, t in enumerate(self.tensors):
            w0 = v @ t[:, 0, :]
            w1 = v @ t[:, 1, :]
            p0 = np.einsum("ij,ij->i", w0, w0.conj()).real
            p1 = np.einsum("ij,ij->i", w1, w1.conj()).real
            one = u[q] * (p0 + p1) >= p0
            if q < 63:
                out |= one.astype(np.int64) << q
            v = np.where(one[:, None], w1, w0)
            v /= np.sqrt(np.where(one, p1, p0))[:, None]
        return out

    def largest(self, limit: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], bool]:
        """Outcomes with probability ≥ ``ENUM_FLOOR``, ascending, at most ``limit`` of them
        (the branches with the largest marginals kept: then ``truncated``)."""
        self._right_canonical()
        v = np.ones((1, 1), dtype=np.complex128)
        keys = np.zeros(1, dtype=np.int64)
        truncated = False
        for q, t in enumerate(self.tensors):
            w = np.concatenate([v @ t[:, 0, :], v @ t[:, 1, :]])
            p = np.einsum("ij,ij->i", w, w.conj()).real
            k = np.concatenate([keys, keys | (1 << q)])
            alive = np.flatnonzero(p >= ENUM_FLOOR)
            if alive.size > limit:
                truncated = True
                alive = alive[np.argpartition(p[alive], -limit)[-limit:]]
            v, keys = w[alive], k[alive]
        probs = np.einsum("ij,ij->i", v, v.conj()).real
        order = np.argsort(keys)
        return keys[order], probs[order], truncated


def simulate(
    n: int,
    ops: Sequence[Op],
    *,
    max_bond: int,
    max_discarded: float,
    initial: MPS | None = None,
    check: Callable[[], None] | None = None,
) -> MPS:
    """Apply ``ops`` to ``initial`` (not modified) or |0…0⟩.

    Raises:
        TooEntangled: the cap discarded more than ``max_discarded`` (checked after each gate).
    """
    state = MPS.zero(n) if initial is None else initial.copy()
    for i, op in enumerate(ops):
        state.apply(op, max_bond)
        if state.discarded > max_discarded:
            raise TooEntangled(state.discarded, max_bond)
        if check is not None and i % 256 == 255:
            check()
    return state


# --------------------------------------------------------------------------- a-priori bounds


@functools.lru_cache(maxsize=4096)
def _schmidt_rank(key: bytes) -> int:
    m = np.frombuffer(key, dtype=np.complex128).reshape(2, 2, 2, 2)
    # operator Schmidt decomposition across (qubit a | qubit b): rows (a_out, a_in)
    s = np.linalg.svd(m.transpose(0, 2, 1, 3).reshape(4, 4), compute_uv=False)
    return int(np.count_nonzero(s > 1e-9 * s[0]))


def operator_rank(op: Op) -> int:
    """Operator Schmidt rank (1, 2 or 4) of a two-qubit op across its two qubits."""
    _, controls, m = op
    full = G.controlled(m, len(controls)) if controls else m
    return _schmidt_rank(np.ascontiguousarray(full, dtype=np.complex128).tobytes())


def bond_bounds(n: int, ops: Sequence[Op]) -> list[float]:
    """log₂ of an upper bound of each bond dimension (cut q | q+1) the exact state reaches.

    A two-qubit gate across a cut multiplies its Schmidt rank by at most the gate's operator
    Schmidt rank; a cut never needs more than ``2^min(left, right)``.
    """
    logs = [0.0] * max(0, n - 1)
    for op in ops:
        qubits = op[1] + op[0]
        if len(qubits) < 2:
            continue
        lo, hi = min(qubits), max(qubits)
        r = math.log2(operator_rank(op))
        for c in range(lo, hi):
            logs[c] += r
    return [min(x, float(min(c + 1, n - 1 - c))) for c, x in enumerate(logs)]


def work(n: int, ops: Sequence[Op], max_bond: int) -> float:
    """Floating-point operations of :func:`simulate` at the a-priori bond bounds (≤ the cap):
    a two-site SVD of a (2χ)×(2χ) matrix per gate and per SWAP, ~ 20·(2χ)³."""
    logs = [0.0] * max(0, n - 1)
    cap = math.log2(max_bond)
    total = 0.0
    for op in ops:
        qubits = op[1] + op[0]
        if len(qubits) < 2:
            total += 100
            continue
        lo, hi = min(qubits), max(qubits)
        r = math.log2(operator_rank(op))
        for c in range(lo, hi):
            logs[c] = min(logs[c] + r, cap, float(min(c + 1, n - 1 - c)))
            chi = 2.0 ** logs[c]
            total += 20 * (2 * chi) ** 3 * (1 if hi - lo == 1 else 3)
    return total


def state_bytes(n: int, max_bond: int, bounds: Sequence[float] = ()) -> float:
    """Bytes of an MPS whose bonds are ``2^bounds`` capped at ``max_bond`` (complex128)."""
    chis = [min(2.0**b, max_bond) for b in bounds] if bounds else [float(max_bond)] * (n - 1)
    edges = [1.0, *chis, 1.0]
    return sum(16 * 2 * edges[q] * edges[q + 1] for q in range(n))


# --------------------------------------------------------------------------- limits


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """What a matrix-product-state run may do (settings ``IONSTACK_MPS_*``).

    Attributes:
        max_bond: Bond-dimension cap; larger bonds are truncated (the discarded weight counts).
        max_discarded: A run fails (:class:`TooEntangled`) once its truncations discarded more
            than this much of the state's norm² (≈ 1 − fidelity).
        max_seconds: A run whose a-priori work estimate (:func:`seconds`) exceeds this fails
            before it starts.
    """

    max_bond: int = 256
    max_discarded: float = 0.01
    max_seconds: float = 600.0


#: Effective rate of :func:`work`'s count (numpy SVDs, QRs and contractions, complex128) and
#: the Python cost of one op, fitted on this machine (2 cores shared, load 5–7): 36-qubit
#: random circuits of depth 12, 14, 16 (bonds 64, 128, 256; 1000 shots) took 2.3–6.4 s,
#: 2.4–32 s and 23 s; estimated 1.4 s, 9.1 s and 66 s (bench/README.md, "36 qubits").
FLOPS = 1e9
OP_SECONDS = 40e-6


def seconds(flops: float, ops: int) -> float:
    """Estimated run time of :func:`work`'s ``flops`` over ``ops`` gate applications."""
    return flops / FLOPS + ops * OP_SECONDS

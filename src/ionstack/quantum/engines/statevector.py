"""A small, exact numpy state-vector engine (complex128).

Used for narrow circuits, where per-call overhead dominates (bench/README.md, workload (c)),
and as the kernel of the density-matrix engine. The state is a C-ordered array of length
``2**n`` viewed as an n-axis tensor; axis ``n-1-q`` holds qubit ``q`` (little-endian index).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ionstack.quantum.engines import Ops

State = npt.NDArray[np.complex128]
Index = npt.NDArray[np.int64]

#: Entries per piece when a gate is applied to a tensor in place (:func:`apply`): 1 MiB.
PIECE = 1 << 16


def _restrict(t: State, n: int, controls: tuple[int, ...]) -> tuple[State, Callable[[int], int]]:
    """The sub-tensor where every control is 1, and a map qubit → axis within it."""
    if not controls:
        return t, lambda q: n - 1 - q
    index: list[int | slice] = [slice(None)] * n
    for c in controls:
        index[n - 1 - c] = 1
    gone = sorted(n - 1 - c for c in controls)

    def axis(q: int) -> int:
        a = n - 1 - q
        return a - sum(1 for x in gone if x < a)

    return t[tuple(index)], axis


def _apply_1q(view: State, ax: int, m: npt.NDArray[np.complex128]) -> None:
    pre = (slice(None),) * ax
    a0, a1 = view[(*pre, slice(0, 1))], view[(*pre, slice(1, 2))]
    m00, m01, m10, m11 = complex(m[0, 0]), complex(m[0, 1]), complex(m[1, 0]), complex(m[1, 1])
    if m01 == 0 and m10 == 0:
        if m00 != 1:
            a0 *= m00
        if m11 != 1:
            a1 *= m11
    elif m00 == 0 and m11 == 0:
        tmp = a0.copy()
        a0[...] = a1 if m01 == 1 else m01 * a1
        a1[...] = tmp if m10 == 1 else m10 * tmp
    else:
        tmp = m00 * a0 + m01 * a1
        a1 *= m11
        a1 += m10 * a0
        a0[...] = tmp


def _apply_kq(view: State, axes: list[int], m: npt.NDArray[np.complex128]) -> None:
    k, nd = len(axes), view.ndim
    v = np.moveaxis(view, axes, list(range(nd - k, nd)))
    shape = v.shape
    w = v.reshape((*shape[:-k], 1 << k))
    v[...] = (w @ m.T).reshape(shape)


def apply(
    t: State,
    n: int,
    targets: tuple[int, ...],
    controls: tuple[int, ...],
    m: npt.NDArray[np.complex128],
) -> None:
    """Apply ``m`` (any 2^k×2^k matrix, need not be unitary) in place.

    The tensor is worked on in pieces of at most ``PIECE`` entries (fixing its outermost
    non-target axes), so the temporaries are two pieces, not two copies of the tensor; every
    element goes through the same arithmetic as on the whole tensor (the same small matrix
    products), so the result is the same to the bit.

    Note: mutates ``t``.
    """
    k = len(targets)
    if k == 0:
        return
    view, axis = _restrict(t, n, controls)
    axes = [axis(q) for q in targets]
    lead: list[int] = []
    size = view.size
    for a in range(view.ndim):
        if size <= PIECE:
            break
        if a not in axes:
            lead.append(a)
            size //= 2
    inner = [a - sum(1 for x in lead if x < a) for a in axes]
    for bits in itertools.product((0, 1), repeat=len(lead)):
        index: list[int | slice] = [slice(None)] * view.ndim
        for a, b in zip(lead, bits, strict=True):
            index[a] = b
        piece = view[tuple(index)]
        if k == 1:
            _apply_1q(piece, inner[0], m)
        else:
            _apply_kq(piece, inner, m)


@functools.lru_cache(maxsize=4096)
def gather_index(n: int, targets: tuple[int, ...], controls: tuple[int, ...]) -> Index:
    """``idx[r, j]``: basis index with the other qubits = r, targets = j, controls = 1.

    ``j``'s most significant bit is ``targets[0]`` (the matrix convention), so a gate is
    ``psi[idx] = psi[idx] @ m.T`` — three numpy calls per gate, whatever its shape.
    """
    k = len(targets)
    others = [q for q in range(n) if q not in targets and q not in controls]
    r = np.arange(1 << len(others), dtype=np.int64)
    rest = np.zeros_like(r)
    for i, q in enumerate(others):
        rest |= ((r >> i) & 1) << q
    j = np.arange(1 << k, dtype=np.int64)
    cols = np.zeros_like(j)
    for i, q in enumerate(targets):
        cols |= ((j >> (k - 1 - i)) & 1) << q
    mask = sum(1 << c for c in controls)
    idx: Index = rest[:, None] | cols[None, :] | mask
    idx.setflags(write=False)
    return idx


def simulate(n: int, ops: Ops, *, initial: State | None = None) -> State:
    """Final state of ``ops`` applied to ``|0…0⟩`` (or a copy of ``initial``)."""
    psi = np.zeros(1 << n, dtype=np.complex128)
    if initial is None:
        psi[0] = 1.0
    else:
        psi[:] = initial
    for targets, controls, m in ops:
        if targets:
            idx = gather_index(n, targets, controls)
            psi[idx] = psi[idx] @ m.T
    return psi


def probabilities(psi: State) -> npt.NDArray[np.float64]:
    """``|amplitude|²`` as float64."""
    out: npt.NDArray[np.float64] = psi.real**2 + psi.imag**2
    return out

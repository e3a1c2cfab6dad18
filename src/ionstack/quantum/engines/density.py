"""Exact density-matrix simulation of small noisy circuits (semantics.md §4 channels).

``ρ`` of n qubits is stored as a 2n-qubit vector: index ``r·2ⁿ + c``, so vector qubit ``j``
is column bit ``j`` and vector qubit ``n+j`` is row bit ``j``. A gate ``U`` on qubits Q is
``U`` on ``n+Q`` and ``conj(U)`` on ``Q`` (``ρ → UρU†``). Depolarizing with rate r is
``ρ → (1-r)ρ + r·(I/d)⊗Tr_Q ρ`` (d = 2 or 4), the same channel as the Kraus form
``(1-3r/4)ρ + (r/4)ΣσρσΣ`` of semantics.md §4 (and its 15-term 2q analogue). Shots drawn
i.i.d. from ``diag(ρ)`` have the same distribution as one trajectory per shot.

Memory: ρ itself (16·4ⁿ bytes) and two pieces of it; gates are applied in place, piece by
piece (:func:`~ionstack.quantum.engines.statevector.apply`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ionstack.quantum.engines import statevector

Matrix = npt.NDArray[np.complex128]


def depolarizing_superop(rate: float, arity: int) -> Matrix:
    """Superoperator on ``(rows…, cols…)`` of the touched qubits (rows most significant)."""
    d = 1 << arity
    w = np.zeros(d * d, dtype=np.complex128)
    w[[x * d + x for x in range(d)]] = 1.0
    out: Matrix = (1 - rate) * np.eye(d * d, dtype=np.complex128) + (rate / d) * np.outer(w, w)
    return out


def probabilities(
    n: int,
    gates: Sequence[tuple[tuple[int, ...], Matrix, float | Matrix]],
    *,
    check: Callable[[], None],
) -> npt.NDArray[np.float64]:
    """``diag(ρ)`` after ``gates``: each ``(qubits, U, rate)`` is U then depolarizing(rate);
    a matrix instead of a rate is that channel's superoperator (rows most significant)."""
    rho = np.zeros(1 << (2 * n), dtype=np.complex128)
    rho[0] = 1.0
    t = rho.reshape((2,) * (2 * n))
    for i, (qubits, u, rate) in enumerate(gates):
        rows = tuple(q + n for q in qubits)
        statevector.apply(t, 2 * n, rows, (), u)
        statevector.apply(t, 2 * n, qubits, (), u.conj())
        if isinstance(rate, np.ndarray):
            statevector.apply(t, 2 * n, rows + qubits, (), rate)
        elif rate > 0:
            statevector.apply(t, 2 * n, rows + qubits, (), depolarizing_superop(rate, len(qubits)))
        if i % 64 == 63:
            check()
    diag = rho.reshape(1 << n, 1 << n).diagonal().real
    return np.clip(diag, 0.0, None)

"""Clifford circuits of any width with stim (Gidney 2021), exact and seeded.

Detection: a gate is Clifford iff ``stim.Tableau.from_unitary_matrix`` accepts its full
(controls + targets) matrix *and* the tableau's own unitary equals it up to global phase (stim
alone rounds near-Clifford matrices); the tableau's circuit is cached per matrix. The measured
engines table (engines.md) has stim sampling 1000 qubits × 1000 shots in milliseconds.

Exact probabilities of a stabilizer state: its support is the affine subspace
``{x : A·x = b (mod 2)}`` given by the Z-only canonical stabilizers ``±Z^a`` (``a·x = 1`` iff
the sign is −), and every outcome in it has probability ``2^-k`` (k = n − rank A).

Noise (semantics.md §4): ``DEPOLARIZE1(3r₁/4)`` after every 1q native gate and
``DEPOLARIZE2(15r₂/16)`` after every 2q native gate — stim's channels pick each non-identity
Pauli uniformly, which is exactly the sampling form of the Kraus channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import stim

from ionstack.quantum import gates as G
from ionstack.quantum.engines import Ops
from ionstack.quantum.sampling import Probabilities

#: Widest gate tested for Clifford-ness (its matrix is 2^w × 2^w).
MAX_GATE_WIDTH = 6

Bits = npt.NDArray[np.bool_]


@lru_cache(maxsize=16384)
def _tableau_circuit(key: bytes, width: int) -> stim.Circuit | None:
    m = np.frombuffer(key, dtype=np.complex128).reshape(1 << width, 1 << width)
    try:
        tableau = stim.Tableau.from_unitary_matrix(m, endian="big")
    except ValueError:
        return None
    # stim rounds (rx(0.3) comes back as the identity), so check in double precision that m
    # maps every X_i and Z_i to the Pauli string the tableau claims (those are exact).
    for i in range(width):
        for pauli, image in ((G.PAULI_X, tableau.x_output(i)), (G.PAULI_Z, tableau.z_output(i))):
            conjugated = m @ _on(pauli, i, width) @ m.conj().T
            claimed = image.to_unitary_matrix(endian="big").astype(np.complex128)
            if not np.allclose(conjugated, claimed, atol=1e-9):
                return None
    return tableau.to_circuit(method="elimination")


def _on(pauli: npt.NDArray[np.complex128], i: int, width: int) -> npt.NDArray[np.complex128]:
    """``pauli`` on position ``i`` of ``width`` (position 0 most significant)."""
    out: npt.NDArray[np.complex128] = np.ones((1, 1), dtype=np.complex128)
    for j in range(width):
        out = np.asarray(np.kron(out, pauli if j == i else G.I2), dtype=np.complex128)
    return out


def to_stim(n: int, ops: Ops) -> stim.Circuit | None:
    """The stim circuit of ``ops``, or ``None`` if some gate is not Clifford."""
    out = stim.Circuit()
    for targets, controls, m in ops:
        local = gate_circuit(targets, controls, m)
        if local is None:
            return None
        out += local
    return out


def gate_circuit(
    targets: tuple[int, ...], controls: tuple[int, ...], m: npt.NDArray[np.complex128]
) -> stim.Circuit | None:
    """One gate as stim instructions on its global qubits, or ``None`` if not Clifford."""
    qubits = controls + targets
    if len(qubits) > MAX_GATE_WIDTH:
        return None
    full = G.controlled(m, len(controls)) if controls else m
    key = np.round(full, 12).astype(np.complex128) + 0.0  # canonical bytes (no -0.0)
    local = _tableau_circuit(key.tobytes(), len(qubits))
    if local is None:
        return None
    out = stim.Circuit()
    for inst in local:
        out.append(inst.name, [qubits[t.value] for t in inst.targets_copy()])
    return out


def sample(n: int, circuit: stim.Circuit, shots: int, seed: int) -> Bits:
    """``shots × n`` measured bits (column i = qubit i), measuring every qubit at the end."""
    full = circuit.copy()
    full.append("M", list(range(n)))
    bits: Bits = full.compile_sampler(seed=seed).sample(shots)
    return bits


def noisy_circuit(
    gates: list[tuple[tuple[int, ...], stim.Circuit]], r1: float, r2: float
) -> stim.Circuit:
    """Native gates with depolarizing noise after each (semantics.md §4)."""
    out = stim.Circuit()
    for qubits, local in gates:
        out += local
        if len(qubits) == 1 and r1 > 0:
            out.append("DEPOLARIZE1", list(qubits), 3 * r1 / 4)
        elif len(qubits) == 2 and r2 > 0:
            out.append("DEPOLARIZE2", list(qubits), 15 * r2 / 16)
    return out


# --------------------------------------------------------------------------- exact support


def _solve_gf2(a: Bits, b: Bits) -> tuple[Bits, list[Bits]]:
    """A particular solution of ``a·x = b`` over GF(2) and a basis of the null space."""
    a, b = a.copy(), b.copy()
    rows, cols = a.shape
    pivots: list[int] = []
    r = 0
    for c in range(cols):
        hit = np.flatnonzero(a[r:, c])
        if not hit.size:
            continue
        p = r + int(hit[0])
        a[[r, p]], b[[r, p]] = a[[p, r]], b[[p, r]]
        others = np.flatnonzero(a[:, c])
        others = others[others != r]
        a[others] ^= a[r]
        b[others] ^= b[r]
        pivots.append(c)
        r += 1
        if r == rows:
            break
    x0 = np.zeros(cols, dtype=bool)
    x0[pivots] = b[: len(pivots)]
    basis = []
    for f in sorted(set(range(cols)) - set(pivots)):
        v = np.zeros(cols, dtype=bool)
        v[f] = True
        v[pivots] = a[: len(pivots), f]
        basis.append(v)
    return x0, basis


def _to_int(bits: Bits) -> int:
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def _z_subgroup(xs: Bits, zs: Bits, minus: Bits) -> tuple[Bits, Bits]:
    """Eliminate the X parts of stabilizer generators; return the Z-only ones ``(a, sign)``.

    Rows are multiplied as Pauli strings with the Aaronson–Gottesman phase rule
    (quant-ph/0406196, ``rowsum``), so the signs of the Z-only products are exact.
    """
    xs, zs, minus = xs.copy(), zs.copy(), minus.copy()
    live = np.ones(xs.shape[0], dtype=bool)
    for q in range(xs.shape[1]):
        rows = np.flatnonzero(xs[:, q] & live)
        if not rows.size:
            continue
        p = rows[0]
        live[p] = False
        hit = np.flatnonzero(xs[:, q])
        hit = hit[hit != p]
        if not hit.size:
            continue
        x1, z1 = xs[p], zs[p]
        x2, z2 = xs[hit].astype(np.int64), zs[hit].astype(np.int64)
        g = (
            np.where(x1 & z1, z2 - x2, 0)
            + np.where(x1 & ~z1, z2 * (2 * x2 - 1), 0)
            + np.where(~x1 & z1, x2 * (1 - 2 * z2), 0)
        )
        phase = (2 * minus[hit] + 2 * minus[p] + g.sum(axis=1)) % 4
        minus[hit] = phase == 2
        xs[hit] ^= x1
        zs[hit] ^= z1
    z_only = ~xs.any(axis=1)
    return zs[z_only], minus[z_only]


def support(n: int, circuit: stim.Circuit) -> tuple[int, list[int]]:
    """``(x0, generators)``: the outcomes are ``x0 ⊕ span(generators)``, all equally likely."""
    sim = stim.TableauSimulator()
    sim.set_num_qubits(n)
    sim.do_circuit(circuit)
    stabs = sim.canonical_stabilizers()
    xs = np.zeros((len(stabs), n), dtype=bool)
    zs = np.zeros((len(stabs), n), dtype=bool)
    for i, s in enumerate(stabs):
        xs[i], zs[i] = s.to_numpy()
    minus = np.array([s.sign.real < 0 for s in stabs], dtype=bool)
    a, b = _z_subgroup(xs, zs, minus)
    x0, basis = _solve_gf2(a, b)
    return _to_int(x0), [_to_int(v) for v in basis]


def probabilities(
    n: int, circuit: stim.Circuit, *, max_outcomes: int | None
) -> tuple[Mapping[int, float], bool]:
    """Exact outcome probabilities (ascending keys); truncated past ``max_outcomes``.

    Up to 62 qubits the outcomes are built in one int64 array (16 bytes an entry with their
    probabilities, :class:`~ionstack.quantum.sampling.Probabilities`); wider ones as Python
    integers.
    """
    x0, gens = support(n, circuit)
    return from_support(n, x0, gens, max_outcomes=max_outcomes)


def from_support(
    n: int, x0: int, gens: list[int], *, max_outcomes: int | None
) -> tuple[Mapping[int, float], bool]:
    """:func:`probabilities` from a :func:`support` already computed."""
    k = len(gens)
    count = 1 << k
    truncated = max_outcomes is not None and count > max_outcomes
    if truncated:
        assert max_outcomes is not None
        count = max_outcomes
    p = 2.0**-k
    if n <= 62:
        arr = np.empty(count, dtype=np.int64)
        arr[0] = x0
        filled = 1
        for g in gens:
            if filled >= count:
                break
            take = min(filled, count - filled)
            np.bitwise_xor(arr[:take], g, out=arr[filled : filled + take])
            filled += take
        arr.sort()
        return Probabilities(arr, np.full(count, p)), bool(truncated)
    outcomes = [x0]
    for g in gens:
        if len(outcomes) >= count:
            break
        outcomes += [x ^ g for x in outcomes[: count - len(outcomes)]]
    return dict.fromkeys(sorted(outcomes[:count]), p), bool(truncated)

"""Depolarizing noise by error-pattern grouping (semantics.md §4, "efficient exact implementation").

Every noisy native gate is a *location*: after a 1q gate a uniformly random X, Y or Z happens
with probability 3r₁/4; after a 2q gate one of the 15 non-identity Pauli pairs with probability
15r₂/16 (the sampling form of the Kraus channels of semantics.md §4). A shot's *error pattern*
is the set of (location, Pauli) events it drew. The whole job's patterns are drawn first, with
the exact joint law (per location a Binomial(shots, p) number of erring shots, chosen uniformly
without replacement, each with a uniform Pauli); identical patterns are grouped, each distinct
pattern is simulated once and its group's shots are sampled from that final state. This is the
same outcome distribution as one trajectory per shot.

Speed-ups that keep it exact:

* gates are fused into ≤ 2-qubit blocks; an error after gate g inside block B turns B into
  ``B · P_g† E P_g`` (``P_g`` = the block's product up to g), so no re-fusion is needed;
* the ideal run stores checkpoint states; a pattern starts from the last checkpoint before its
  first error instead of from ``|0…0⟩``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ionstack.quantum import gates as G
from ionstack.quantum.engines import Op

Matrix = npt.NDArray[np.complex128]
Pattern = tuple[tuple[int, int], ...]
State = npt.NDArray[np.complexfloating[Any, Any]]
Apply = Callable[[int, Sequence[Op], State | None], State]
Sampler = Callable[[State, int], npt.NDArray[np.int64]]

_PAULI = (G.I2, G.PAULI_X, G.PAULI_Y, G.PAULI_Z)
_SWAP = G.swap_matrix()


# --------------------------------------------------------------------------- patterns


def draw_patterns(
    probs: npt.NDArray[np.float64],
    kinds: npt.NDArray[np.int64],
    shots: int,
    rng: np.random.Generator,
    fixed: npt.NDArray[np.int64] | None = None,
) -> tuple[list[Pattern], npt.NDArray[np.int64]]:
    """Draw every shot's error pattern and group identical ones.

    Args:
        probs: Per location, the probability of a (non-identity) Pauli error.
        kinds: Per location, the number of Pauli choices (3 for 1q, 15 for 2q).
        shots: Number of shots.
        rng: The job's pattern stream.
        fixed: Per location, a fixed Pauli (1..15) instead of a uniform choice, or 0 (device
            models' dephasing); ``None``: all uniform. Fixed locations draw no Pauli.

    Returns:
        ``(patterns, shot_group)``: distinct patterns (``patterns[i]`` is a tuple of
        ``(location, pauli)`` in location order; the empty pattern is included iff some shot
        is error-free) and, per shot, the index of its pattern.
    """
    counts = rng.binomial(shots, probs)
    shot_parts, loc_parts, pauli_parts = [], [], []
    for loc in np.flatnonzero(counts).tolist():
        k = int(counts[loc])
        shot_parts.append(rng.choice(shots, size=k, replace=False))
        loc_parts.append(np.full(k, loc, dtype=np.int64))
        if fixed is not None and fixed[loc]:
            pauli_parts.append(np.full(k, int(fixed[loc]), dtype=np.int64))
        else:
            pauli_parts.append(rng.integers(1, int(kinds[loc]) + 1, size=k))
    group = np.zeros(shots, dtype=np.int64)
    patterns: list[Pattern] = [()]
    if not shot_parts:
        return patterns, group
    ev_shot = np.concatenate(shot_parts).astype(np.int64)
    ev_loc = np.concatenate(loc_parts)
    ev_pauli = np.concatenate(pauli_parts).astype(np.int64)
    order = np.lexsort((ev_loc, ev_shot))
    ev_shot, ev_loc, ev_pauli = ev_shot[order], ev_loc[order], ev_pauli[order]
    starts = np.flatnonzero(np.r_[True, ev_shot[1:] != ev_shot[:-1]])
    ends = np.r_[starts[1:], ev_shot.size]
    index: dict[Pattern, int] = {(): 0}
    pairs = list(zip(ev_loc.tolist(), ev_pauli.tolist(), strict=True))
    for shot, a, b in zip(ev_shot[starts].tolist(), starts.tolist(), ends.tolist(), strict=True):
        key = tuple(pairs[a:b])
        group[shot] = index.setdefault(key, len(index))
    patterns = list(index)
    used = np.bincount(group, minlength=len(patterns))
    if used[0] == 0:  # no error-free shot: drop the empty pattern, keep order
        patterns = patterns[1:]
        group -= 1
    return patterns, group


# --------------------------------------------------------------------------- fused blocks


@dataclass
class Block:
    """≤ 2-qubit fused block; ``qubits[0]`` is the most significant factor of ``matrix``."""

    qubits: tuple[int, ...]
    matrix: Matrix
    prefix: dict[int, Matrix] = field(default_factory=dict)
    where: dict[int, tuple[int, ...]] = field(default_factory=dict)


def _embed(m: Matrix, positions: tuple[int, ...], width: int) -> Matrix:
    """``m`` on block positions (``positions[0]`` most significant of ``m``) → block space."""
    if width == 1:
        return m
    if len(positions) == 2:
        return m if positions == (0, 1) else _SWAP @ m @ _SWAP
    out = np.kron(m, G.I2) if positions == (0,) else np.kron(G.I2, m)
    return np.asarray(out, dtype=np.complex128)


@functools.lru_cache(maxsize=256)
def _pauli_in_block(pauli: int, arity: int, positions: tuple[int, ...], width: int) -> Matrix:
    """Pauli error ``pauli`` (1..3 for 1q; 1..15 = 4i+j for σ_i⊗σ_j) in block space."""
    e = (
        _PAULI[pauli]
        if arity == 1
        else np.asarray(np.kron(_PAULI[pauli // 4], _PAULI[pauli % 4]), dtype=np.complex128)
    )
    out = _embed(e, positions, width)
    out.setflags(write=False)
    return out


class _Fuser:
    """Greedy fusion; ``open[q]`` is the last block touching qubit q.

    A gate may join block ``open[q]`` because no later block touches its qubits (it commutes
    with everything in between). A new pair block absorbs the single-qubit blocks that are
    still open on its qubits for the same reason.
    """

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.open: dict[int, int] = {}

    def add(self, loc: int, qubits: tuple[int, ...], m: Matrix) -> None:
        block = self.blocks[self._target(qubits)]
        pos = tuple(block.qubits.index(q) for q in qubits)
        block.matrix = _embed(m, pos, len(block.qubits)) @ block.matrix
        block.prefix[loc] = block.matrix
        block.where[loc] = pos

    def _target(self, qubits: tuple[int, ...]) -> int:
        idx = self.open.get(qubits[0])
        if (
            idx is not None
            and all(self.open.get(q) == idx for q in qubits)
            and set(qubits) <= set(self.blocks[idx].qubits)
        ):
            return idx
        if len(qubits) == 1:
            return self._new(qubits)
        new = self._new(qubits)
        for q in qubits:
            self._absorb(new, q)
        return new

    def _new(self, qubits: tuple[int, ...]) -> int:
        prev = {self.open.get(q) for q in qubits}
        self.blocks.append(Block(qubits, np.eye(1 << len(qubits), dtype=np.complex128)))
        idx = len(self.blocks) - 1
        self._prev = prev
        for q in qubits:
            self.open[q] = idx
        return idx

    def _absorb(self, idx: int, q: int) -> None:
        before = [i for i in self._prev if i is not None]
        single = next((self.blocks[i] for i in before if self.blocks[i].qubits == (q,)), None)
        if single is None or not single.prefix:
            return
        block = self.blocks[idx]
        pos = (block.qubits.index(q),)
        embedded = _embed(single.matrix, pos, 2)
        for loc, pref in single.prefix.items():
            block.prefix[loc] = _embed(pref, pos, 2)
            block.where[loc] = pos
        block.matrix = block.matrix @ embedded
        single.matrix = np.eye(2, dtype=np.complex128)
        single.prefix.clear()
        single.where.clear()


def fuse(gates: Sequence[tuple[tuple[int, ...], Matrix]]) -> tuple[list[Block], list[int]]:
    """Fuse native gates into ≤ 2-qubit blocks; returns the blocks and each gate's block."""
    fuser = _Fuser()
    for loc, (qubits, m) in enumerate(gates):
        fuser.add(loc, qubits, m)
    owner = [0] * len(gates)
    for i, block in enumerate(fuser.blocks):
        for loc in block.prefix:
            owner[loc] = i
    return fuser.blocks, owner


# --------------------------------------------------------------------------- evaluation


def _error_matrix(block: Block, loc: int, pauli: int, arity: int) -> Matrix:
    local = _pauli_in_block(pauli, arity, block.where[loc], len(block.qubits))
    p = block.prefix[loc]
    out: Matrix = p.conj().T @ local @ p
    return out


@dataclass
class Program:
    """Fused noisy circuit, ready to evaluate patterns."""

    n: int
    blocks: list[Block]
    owner: list[int]
    arity: list[int]

    @classmethod
    def from_gates(cls, n: int, gates: Sequence[tuple[tuple[int, ...], Matrix]]) -> Program:
        blocks, owner = fuse(gates)
        return cls(n, blocks, owner, [len(q) for q, _ in gates])

    def ops(self, start: int, pattern: Pattern, stop: int | None = None) -> list[Op]:
        """Block ops from block ``start`` on, with the pattern's errors folded in.

        A block with errors ``E_1 … E_k`` (time order) becomes ``B·C_k···C_1`` with
        ``C_j = P_j† E_j P_j``.
        """
        corrections: dict[int, Matrix] = {}
        for loc, pauli in pattern:
            b = self.owner[loc]
            c = _error_matrix(self.blocks[b], loc, pauli, self.arity[loc])
            prev = corrections.get(b)
            corrections[b] = c if prev is None else c @ prev
        out: list[Op] = []
        for i in range(start, len(self.blocks) if stop is None else stop):
            block = self.blocks[i]
            if not block.prefix:
                continue
            corr = corrections.get(i)
            out.append((block.qubits, (), block.matrix if corr is None else block.matrix @ corr))
        return out

    def first_block(self, pattern: Pattern) -> int:
        return min((self.owner[loc] for loc, _ in pattern), default=len(self.blocks))


def starts(program: Program, patterns: Sequence[Pattern], max_checkpoints: int) -> list[int]:
    """Per pattern, the block it starts from: the last checkpoint before its first error."""
    nblocks = len(program.blocks)
    stride = max(1, -(-nblocks // max(1, max_checkpoints)))
    return [min(program.first_block(p), nblocks) // stride * stride for p in patterns]


def peak_states(program: Program, patterns: Sequence[Pattern], max_checkpoints: int) -> int:
    """The most states :func:`evaluate` holds at once (checkpoints and the working state)."""
    first = starts(program, patterns, max_checkpoints)
    last_use = {pos: i for i, pos in enumerate(first)}
    # a pattern starting at or after the last real block has no gate left: it samples its
    # checkpoint itself
    end = max((i + 1 for i, b in enumerate(program.blocks) if b.prefix), default=0)
    held = sum(1 for pos in last_use if pos > 0)
    most = held
    for i, pos in enumerate(first):
        work = 0 if pos > 0 and pos >= end else 1
        most = max(most, held + work)
        if last_use[pos] == i and pos > 0:
            held -= 1
    return most


def evaluate(
    program: Program,
    patterns: Sequence[Pattern],
    group: npt.NDArray[np.int64],
    *,
    apply: Apply,
    sample: Sampler,
    check: Callable[[], None],
    max_checkpoints: int,
) -> npt.NDArray[np.int64]:
    """Simulate each distinct pattern once and sample its shots; returns per-shot outcomes.

    Patterns are evaluated in index order (deterministic), each from the last stored ideal
    checkpoint before its first error. ``check`` runs between patterns. Memory: the
    checkpoints and one working state (:func:`peak_states`); a checkpoint is dropped after
    the last pattern that starts from it, and a pattern with no gate left to apply samples
    its checkpoint itself.
    """
    n = program.n
    first = starts(program, patterns, max_checkpoints)
    last_use = {pos: i for i, pos in enumerate(first)}
    states: dict[int, State | None] = {0: None}
    prev, state = 0, None
    for pos in sorted(set(first)):
        if pos > prev:
            state = apply(n, program.ops(prev, (), pos), state)
            prev = pos
            check()
        states[pos] = state
    state = None
    shots_of = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[shots_of], np.arange(len(patterns) + 1))
    out = np.empty(group.shape[0], dtype=np.int64)
    for i, pattern in enumerate(patterns):
        start = first[i]
        ops = program.ops(start, pattern)
        initial = states[start]
        if last_use[start] == i and start > 0:
            del states[start]
        psi = initial if not ops and initial is not None else apply(n, ops, initial)
        initial = None
        members = shots_of[bounds[i] : bounds[i + 1]]
        out[members] = sample(psi, members.size)
        del psi
        check()
    return out

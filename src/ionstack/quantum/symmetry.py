"""Symmetry verification (IonQ's newer v0.4 ``settings.error_mitigation.symmetry_verification``).

On hardware, symmetry verification discards the shots that break a symmetry the circuit
conserves. The emulator finds the circuit's **Z-parity symmetries** from its ideal answer: the
parities of outcome bits that are the same for every outcome the ideal circuit can give. Over
GF(2) the ideal support ``S`` spans an affine subspace ``s₀ ⊕ span{s ⊕ s₀ : s ∈ S}``; its
complement's constraints are exactly those parities. A noisy shot is kept when it lies in the
subspace (it satisfies every parity), and the number of allowed states is ``2^rank``. A GHZ
state allows 2 states of 2ⁿ; a circuit whose ideal answer spans every bit pattern has no
symmetry, and nothing is discarded (``applied`` is false).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Subspace:
    """An affine subspace of n-bit outcomes: ``offset ⊕ span(basis)``.

    Attributes:
        offset: One allowed outcome.
        basis: Reduced row-echelon basis, keyed by each vector's leading bit.
        qubits: Width n.
    """

    offset: int
    basis: dict[int, int]
    qubits: int

    @property
    def rank(self) -> int:
        return len(self.basis)

    @property
    def allowed_states(self) -> int:
        return 1 << self.rank

    @property
    def restricts(self) -> bool:
        """Whether any outcome is ruled out (a symmetry exists)."""
        return self.rank < self.qubits

    def contains(self, outcome: int) -> bool:
        return _reduce(outcome ^ self.offset, self.basis) == 0

    def keep(self, samples: Sequence[int]) -> list[int]:
        """The samples that satisfy every parity, in order."""
        return [s for s in samples if self.contains(s)]


def _reduce(vector: int, basis: dict[int, int]) -> int:
    while vector:
        lead = vector.bit_length() - 1
        row = basis.get(lead)
        if row is None:
            return vector
        vector ^= row
    return 0


def hull(support: Iterable[int], *, qubits: int) -> Subspace:
    """The smallest affine subspace holding every outcome of ``support`` (non-empty)."""
    outcomes = iter(support)
    try:
        offset = next(outcomes)
    except StopIteration:
        raise ValueError("an empty support has no symmetry subspace") from None
    basis: dict[int, int] = {}
    for outcome in outcomes:
        vector = _reduce(outcome ^ offset, basis)
        if vector:
            basis[vector.bit_length() - 1] = vector
            if len(basis) == qubits:
                break
    return Subspace(offset=offset, basis=basis, qubits=qubits)

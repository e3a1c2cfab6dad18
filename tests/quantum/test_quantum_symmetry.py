"""Symmetry verification's subspace (quantum/symmetry.py) against brute force over parities."""

from __future__ import annotations

import random

import pytest

from ionstack.quantum.symmetry import hull


def _parity(x: int) -> int:
    return bin(x).count("1") & 1


def _allowed_by_parities(support: set[int], n: int) -> set[int]:
    """Every n-bit outcome that agrees with each parity the support holds constant."""
    constant = {}
    for mask in range(1, 1 << n):
        values = {_parity(mask & s) for s in support}
        if len(values) == 1:
            constant[mask] = values.pop()
    return {x for x in range(1 << n) if all(_parity(m & x) == v for m, v in constant.items())}


def test_ghz_allows_its_two_states() -> None:
    n = 5
    subspace = hull([0, (1 << n) - 1], qubits=n)
    assert subspace.allowed_states == 2 and subspace.restricts
    assert [x for x in range(1 << n) if subspace.contains(x)] == [0, (1 << n) - 1]
    assert subspace.keep([0, 1, 31, 30, 31]) == [0, 31, 31]


def test_a_full_support_has_no_symmetry() -> None:
    subspace = hull(range(8), qubits=3)
    assert subspace.allowed_states == 8 and not subspace.restricts
    assert subspace.keep([0, 5, 7]) == [0, 5, 7]


@pytest.mark.parametrize("seed", range(40))
def test_the_subspace_is_what_the_conserved_parities_allow(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 6)
    support = {rng.randrange(1 << n) for _ in range(rng.randint(1, 5))}
    subspace = hull(sorted(support), qubits=n)
    allowed = {x for x in range(1 << n) if subspace.contains(x)}
    assert allowed == _allowed_by_parities(support, n)
    assert subspace.allowed_states == len(allowed)
    assert support <= allowed


def test_an_empty_support_is_an_error() -> None:
    with pytest.raises(ValueError):
        hull([], qubits=2)

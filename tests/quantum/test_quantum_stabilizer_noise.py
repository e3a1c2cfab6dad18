"""Noisy Clifford circuits on the stim path against an exact reference, on the full distribution.

The circuit is 25 qubits wide, so :func:`ionstack.quantum.simulate.run` sends it to stim by
itself (``STABILIZER_MIN_QUBITS``): five 5-qubit GHZ blocks side by side. Compiled to native
gates (semantics.md §4: noise follows the compiled circuit, final Z rotations dropped as the
simulator drops them) no gate joins two blocks and every error channel acts inside one block,
so the exact noisy distribution is the product of the five blocks' exact distributions. Each
block's is computed independently of stim and of ionstack's engines: Qiskit Aer's density
matrix with Qiskit's depolarizing channel (rate r: a uniform non-identity Pauli with
probability (4ⁿ−1)r/4ⁿ, the noise guide's channel) after every native gate.

Two tests of the sampled histogram against it, each failing a correct simulator with
probability ``ALPHA`` for a random seed (so at most 2·``ALPHA`` together; the seed is fixed,
so the outcome is deterministic):

* chi-square goodness of fit over the full distribution: a cell for every outcome expected at
  least 5 times, the rarer ones pooled by which blocks left their ideal support, the rarest
  in one cell;
* an exact binomial test of the share of shots off the ideal support, the errors' total rate
  (7 % and 18 % here), which sees a rate a few percent off that the many-celled test misses.

Without noise every shot would land on the 32 ideal outcomes: both tests fail by far.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qhelpers import aer_probabilities, qis
from scipy import stats

from ionstack.quantum import gates as G
from ionstack.quantum.compile import compile_native
from ionstack.quantum.noise import NoiseModel, noise_model
from ionstack.quantum.simulate import STABILIZER_MIN_QUBITS, run

BLOCK = 5
BLOCKS = 5
WIDTH = BLOCK * BLOCKS
SHOTS = 100_000
SEED = 20_240_611
#: false-failure probability of the goodness-of-fit test for a correct simulator
ALPHA = 1e-4
#: smallest expected count of a cell of its own (the chi-square approximation's rule)
MIN_EXPECTED = 5.0


def _ghz_blocks() -> list[dict[str, Any]]:
    gates: list[dict[str, Any]] = []
    for b in range(BLOCKS):
        o = b * BLOCK
        gates.append({"gate": "h", "target": o})
        gates += [{"gate": "cnot", "control": o + i, "target": o + i + 1} for i in range(BLOCK - 1)]
        gates.append({"gate": "s", "target": o + 1})  # a phase the final measurement ignores
    return gates


def _block_distributions(model: NoiseModel) -> list[np.ndarray]:
    """Each block's exact noisy outcome distribution (little-endian, 2^BLOCK entries)."""
    from qiskit import QuantumCircuit
    from qiskit_aer.noise import depolarizing_error

    assert model.native_2q is not None
    native = compile_native(
        qis(_ghz_blocks(), qubits=WIDTH), family=model.native_2q, drop_final_z=True
    )
    circuits = [QuantumCircuit(BLOCK) for _ in range(BLOCKS)]
    for g in native.gates:
        (block,) = {q // BLOCK for q in g.targets}  # no gate joins two blocks
        local = [q - block * BLOCK for q in reversed(g.targets)]  # qiskit lists the LSB first
        circuits[block].unitary(G.gate_matrix(g, "native"), local)
        rate = model.p1q if len(local) == 1 else model.p2q
        circuits[block].append(depolarizing_error(rate, len(local)).to_instruction(), local)
    return [aer_probabilities(qc, method="density_matrix") for qc in circuits]


def _cells(blocks: list[np.ndarray], floor: float) -> dict[int, float]:
    """Every full outcome whose exact probability is at least ``floor``, with it."""
    out: dict[int, float] = {}

    def extend(b: int, outcome: int, p: float) -> None:
        if p < floor:
            return  # the other blocks' factors are ≤ 1: no extension can reach the floor
        if b == len(blocks):
            out[outcome] = p
            return
        for x in np.flatnonzero(blocks[b] * p >= floor):
            extend(b + 1, outcome | (int(x) << (b * BLOCK)), p * float(blocks[b][x]))

    extend(0, 0, 1.0)
    return out


IDEAL_BLOCK = (0, (1 << BLOCK) - 1)  # a GHZ block's two ideal outcomes


def _off(block: np.ndarray) -> float:
    """The probability that a block's outcome is not one of its ideal ones."""
    return 1.0 - float(sum(block[x] for x in IDEAL_BLOCK))


def _off_mask(outcome: int) -> int:
    """Bit b set when block b's bits are not one of its ideal outcomes."""
    return sum(
        1 << b
        for b in range(BLOCKS)
        if (outcome >> (b * BLOCK)) & ((1 << BLOCK) - 1) not in IDEAL_BLOCK
    )


def _binned(
    histogram: dict[int, int], blocks: list[np.ndarray]
) -> tuple[list[str], list[int], list[float]]:
    """``(labels, observed, expected)``: a cell for every outcome expected at least
    ``MIN_EXPECTED`` times; the rarer outcomes pooled by which blocks left their ideal support
    (exact: a product over blocks, less the outcomes that have cells); what is still too rare,
    in one last cell."""
    cells = _cells(blocks, MIN_EXPECTED / SHOTS)
    labels = [f"{x:0{WIDTH}b}" for x in sorted(cells)]
    observed = [histogram.get(x, 0) for x in sorted(cells)]
    expected = [SHOTS * cells[x] for x in sorted(cells)]
    off = [_off(block) for block in blocks]
    pooled_p = {
        mask: float(np.prod([off[b] if mask >> b & 1 else 1 - off[b] for b in range(BLOCKS)]))
        for mask in range(1 << BLOCKS)
    }
    for x, px in cells.items():
        pooled_p[_off_mask(x)] -= px
    pooled_n = dict.fromkeys(pooled_p, 0)
    for x, n in histogram.items():
        if x not in cells:
            pooled_n[_off_mask(x)] += n
    rest_n, rest_e = 0, 0.0
    for mask, px in pooled_p.items():
        e = SHOTS * max(0.0, px)
        if e >= MIN_EXPECTED:
            labels.append(f"rare, blocks {mask:0{BLOCKS}b} off")
            observed.append(pooled_n[mask])
            expected.append(e)
        else:
            rest_n, rest_e = rest_n + pooled_n[mask], rest_e + e
    labels.append("rarest")
    observed.append(rest_n)
    expected.append(rest_e)
    total = sum(expected)
    return labels, observed, [e * SHOTS / total for e in expected]  # rounding to ~1e-12


@pytest.mark.parametrize("model_name", ["aria-1", "forte-1"])
def test_noisy_wide_clifford_on_stim_has_the_exact_noisy_distribution(model_name: str) -> None:
    assert WIDTH >= STABILIZER_MIN_QUBITS  # the automatic choice, not a forced method
    model = noise_model(model_name)
    result = run(qis(_ghz_blocks(), qubits=WIDTH), shots=SHOTS, noise=model, seed=SEED)
    assert result.method == "stabilizer" and result.engine == "stim"
    histogram = result.histogram or {}
    assert sum(histogram.values()) == SHOTS

    blocks = _block_distributions(model)
    labels, observed, expected = _binned(histogram, blocks)
    chi2, p = stats.chisquare(observed, expected)
    worst = sorted(
        zip(labels, observed, expected, strict=True),
        key=lambda t: -abs(t[1] - t[2]) / np.sqrt(t[2]),
    )[:5]
    detail = (
        f"seed {SEED}, {SHOTS} shots, {model_name}: chi2 {chi2:.1f} on {len(observed) - 1} "
        f"degrees of freedom, p = {p:.2e} (threshold {ALPHA}); worst cells "
        + ", ".join(f"{label}: {o} vs {e:.1f}" for label, o, e in worst)
    )
    assert p > ALPHA, detail

    # The share of shots that left the ideal support (the errors' total rate): an exact
    # binomial test, more sensitive to a rate slightly off than the many-celled one above.
    off_ideal = 1 - float(np.prod([1 - _off(block) for block in blocks]))
    assert off_ideal > 0.05  # the reference has power: noise is visible at all
    off_shots = sum(n for x, n in histogram.items() if _off_mask(x))
    p_rate = stats.binomtest(off_shots, SHOTS, off_ideal).pvalue
    assert p_rate > ALPHA, (
        f"{detail}; {off_shots} shots off the ideal support, expected "
        f"{SHOTS * off_ideal:.0f}: binomial p = {p_rate:.2e}"
    )

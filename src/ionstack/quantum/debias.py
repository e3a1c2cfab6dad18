"""Debiasing: symmetrized circuit variants and their aggregation (semantics.md §2.5).

Variants [P, semantics.md §2.5]: ``V = min(25, ⌊shots/100⌋)`` with ``V ≥ 5``; the job's shots
are split evenly and the first ``shots mod V`` variants get one extra shot. Each variant has a
``qubit_map`` — an injective placement of logical qubit ``i`` on physical qubit
``qubit_map[i]``, drawn from ``range(backend_qubits)`` with the job RNG — and a distinct but
equivalent circuit.

Symmetrization chosen here: **measurement (bit-flip) twirling**, one of the symmetrizations of
IonQ's debiasing work (arXiv 2301.07233, S9: different qubit assignments, gate decompositions
and readout symmetrization). Variant v appends an X on a random subset ``flip_mask`` of the
qubits just before measurement (``x`` for QIS circuits, ``gpi(0)`` = X for native ones) and
XORs the measured outcomes with ``flip_mask`` afterwards (only qubits some gate touches are
flipped: idle ones stay idle and are not simulated, issue 16 §2). The logical distribution is
unchanged while any readout or state-dependent bias is averaged over both bit values; the X merges
into each qubit's last single-qubit gate when compiled, so the variants differ as physical
circuits. The placement (``qubit_map``) is recorded; under a QPU's device model
(:mod:`ionstack.quantum.device`) each variant runs on its placement, whose physical pairs carry
their own static 2q over-rotation, so averaging over variants cancels that systematic error to
first order (the other terms are uniform across qubits, so the chip itself is not simulated).
Results are reported in **logical** order, already un-mapped and un-flipped (semantics.md §2.5
item 6).

Aggregation: ``average`` — the shot-weighted mean ``Σ_v counts_v(x) / Σ_v shots_v``;
``sharpen``/``voting`` — each variant votes for its most frequent outcome (ties: the smallest
key [P]) and ``p(x) = votes(x)/V``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ionstack.errors import JobFailure
from ionstack.quantum import sampling
from ionstack.quantum.circuit import Circuit, Gate
from ionstack.quantum.device import DeviceModel
from ionstack.quantum.engines.mps import Limits
from ionstack.quantum.noise import NoiseModel
from ionstack.quantum.simulate import RunResult, run
from ionstack.quantum.width import used_qubits

Aggregation = Literal["average", "sharpen", "voting"]

MIN_VARIANTS = 5
MAX_VARIANTS = 25
SHOTS_PER_VARIANT = 100


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One symmetrized variant before it runs.

    Attributes:
        index: Position among the job's variants.
        qubit_map: Logical qubit i → physical qubit ``qubit_map[i]`` (injective).
        flip_mask: Bit i set = an X on qubit i before measurement (undone classically).
        shots: Shots given to this variant.
    """

    index: int
    qubit_map: tuple[int, ...]
    flip_mask: int
    shots: int


@dataclass(frozen=True, kw_only=True)
class VariantResult:
    """A variant and its result in logical order (outcomes un-flipped)."""

    variant: Variant
    result: RunResult

    @property
    def qubit_map(self) -> tuple[int, ...]:
        return self.variant.qubit_map

    @property
    def shots(self) -> int:
        return self.variant.shots


def variant_count(shots: int) -> int:
    """``V = min(25, ⌊shots/100⌋)``, at least 5."""
    return max(MIN_VARIANTS, min(MAX_VARIANTS, shots // SHOTS_PER_VARIANT))


def split_shots(shots: int, variants: int) -> list[int]:
    """Even split; the first ``shots mod V`` variants get one extra shot."""
    base, extra = divmod(shots, variants)
    return [base + (1 if i < extra else 0) for i in range(variants)]


def make_variants(qubits: int, *, shots: int, seed: int, backend_qubits: int) -> list[Variant]:
    """Draw the variants of a job (placements and flip masks) from the job RNG.

    Raises:
        JobFailure: ``NotEnoughQubits`` when the circuit is wider than the backend.
        ValueError: fewer shots than variants (every variant needs at least one shot; the
            API refuses debiasing below 500 shots, semantics.md §2.5).
    """
    if qubits > backend_qubits:
        raise JobFailure(
            "NotEnoughQubits",
            f"the circuit needs {qubits} qubits; the backend has {backend_qubits}",
        )
    if shots < variant_count(shots):
        raise ValueError(f"{shots} shots cannot be split over {variant_count(shots)} variants")
    rng = sampling.derive_rng(seed, "debias")
    out = []
    for i, s in enumerate(split_shots(shots, variant_count(shots))):
        placement = rng.choice(backend_qubits, size=qubits, replace=False)
        bits = rng.integers(0, 2, size=qubits)
        mask = int(sum(1 << q for q in range(qubits) if bits[q]))
        out.append(
            Variant(index=i, qubit_map=tuple(int(p) for p in placement), flip_mask=mask, shots=s)
        )
    return out


def variant_circuit(circuit: Circuit, variant: Variant) -> Circuit:
    """``circuit`` followed by X on every qubit of the variant's flip mask."""
    flips = [q for q in range(circuit.qubits) if variant.flip_mask >> q & 1]
    extra = (
        Gate("gpi", (q,), phase=0.0) if circuit.gateset == "native" else Gate("x", (q,))
        for q in flips
    )
    return Circuit(
        qubits=circuit.qubits,
        gateset=circuit.gateset,
        gates=(*circuit.gates, *extra),
        name=circuit.name,
        registers=circuit.registers,
    )


def _unflip(result: RunResult, mask: int) -> RunResult:
    if not mask or result.samples is None:
        return result
    samples = (np.asarray(result.samples, dtype=np.int64) ^ mask) if result.qubits <= 62 else None
    values = samples.tolist() if samples is not None else [x ^ mask for x in result.samples]
    hist = (
        sampling.histogram(samples)
        if samples is not None
        else dict(sorted({k ^ mask: v for k, v in (result.histogram or {}).items()}.items()))
    )
    return replace(
        result,
        probabilities=sampling.frequencies(hist, len(values)),
        histogram=hist,
        samples=values,
    )


def run_debiased(
    circuit: Circuit,
    *,
    shots: int,
    noise: NoiseModel | None,
    seed: int,
    backend_qubits: int,
    threads: int = 0,
    memory_limit_bytes: int | None = None,
    check: Callable[[], None] | None = None,
    mps_limits: Limits | None = None,
) -> list[VariantResult]:
    """Run every debiasing variant of ``circuit`` (semantics.md §2.5).

    Each variant runs with its own seed, hashed from ``seed`` and its index; its result is in
    logical order with per-shot outcomes un-flipped.

    Raises:
        JobFailure: ``NotEnoughQubits`` (wider than the backend), ``DebiasingError`` (variant
            generation failed) or any failure of :func:`~ionstack.quantum.simulate.run`.
    """
    try:
        variants = make_variants(
            circuit.qubits, shots=shots, seed=seed, backend_qubits=backend_qubits
        )
    except JobFailure:
        raise
    except (ValueError, TypeError) as exc:
        raise JobFailure("DebiasingError", f"variant generation failed: {exc}") from exc
    # Idle qubits (no gate) are not flipped: they stay idle and cost nothing to simulate
    # (issue 16 §2), so a circuit declared wider than it is gives the same statistics.
    touched = sum(1 << q for q in used_qubits(circuit))
    variants = [replace(v, flip_mask=v.flip_mask & touched) for v in variants]
    out = []
    for v in variants:
        result = run(
            variant_circuit(circuit, v),
            shots=v.shots,
            noise=noise.placed(v.qubit_map) if isinstance(noise, DeviceModel) else noise,
            seed=sampling.derive_seed(seed, "variant", v.index),
            threads=threads,
            memory_limit_bytes=memory_limit_bytes,
            check=check,
            mps_limits=mps_limits,
        )
        out.append(VariantResult(variant=v, result=_unflip(result, v.flip_mask)))
    return out


# --------------------------------------------------------------------------- aggregation


def pooled_histogram(variants: Sequence[VariantResult]) -> dict[int, int]:
    """The sum of the variant histograms (the debiased job's own histogram [P])."""
    total: dict[int, int] = {}
    for v in variants:
        for k, c in (v.result.histogram or {}).items():
            total[k] = total.get(k, 0) + c
    return dict(sorted(total.items()))


def pooled_samples(variants: Sequence[VariantResult]) -> list[int]:
    """The variants' shots concatenated in variant order."""
    return [x for v in variants for x in (v.result.samples or [])]


def average(variants: Sequence[VariantResult]) -> dict[int, float]:
    """``p(x) = Σ_v counts_v(x) / Σ_v shots_v`` (shot-weighted mean)."""
    hist = pooled_histogram(variants)
    shots = sum(v.shots for v in variants)
    return {k: c / shots for k, c in hist.items()}


def _vote(hist: dict[int, int]) -> int:
    best = max(hist.values())
    return min(k for k, c in hist.items() if c == best)


def sharpen(variants: Sequence[VariantResult]) -> dict[int, float]:
    """Plurality voting: each variant's most frequent outcome (ties → smallest key) gets a vote."""
    votes: dict[int, int] = {}
    for v in variants:
        if v.result.histogram:
            k = _vote(v.result.histogram)
            votes[k] = votes.get(k, 0) + 1
    n = sum(votes.values())
    return {k: c / n for k, c in sorted(votes.items())}


def aggregate(
    variants: Sequence[VariantResult], method: Aggregation = "average"
) -> dict[int, float]:
    """Aggregate variant results: ``average``, or ``sharpen``/``voting`` (plurality)."""
    return sharpen(variants) if method in ("sharpen", "voting") else average(variants)

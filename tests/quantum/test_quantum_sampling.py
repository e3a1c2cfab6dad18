"""Seeded streams, samplers and result dictionaries."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ionstack.quantum import sampling
from ionstack.quantum.sampling import Distribution


def test_derived_streams_are_deterministic_and_independent() -> None:
    a = sampling.derive_rng(5, "shots").random(4)
    assert np.array_equal(a, sampling.derive_rng(5, "shots").random(4))
    assert not np.array_equal(a, sampling.derive_rng(6, "shots").random(4))
    assert not np.array_equal(a, sampling.derive_rng(5, "patterns").random(4))
    assert sampling.derive_seed(5, "stim") != sampling.derive_seed(6, "stim")


@pytest.mark.parametrize(
    "size", [16, 1024, 1 << 17], ids=["support path", "dense path", "streamed cdf path"]
)
def test_samplers_follow_the_distribution(size: int) -> None:
    rng = np.random.default_rng(3)
    probs = np.zeros(size)
    hot = rng.choice(size, 6, replace=False)
    probs[hot] = rng.dirichlet(np.ones(6))
    samples, hist = sampling.sample(Distribution(probs=probs), 30000, sampling.derive_rng(1, "t"))
    assert set(hist) <= set(hot.tolist()) and sum(hist.values()) == 30000
    assert hist == sampling.histogram(samples)
    observed = np.array([hist.get(int(k), 0) for k in hot])
    _, p = stats.chisquare(observed, probs[hot] * 30000)
    assert p > 1e-3  # fixed seeds: deterministic


def test_streamed_sampler_keeps_shot_order() -> None:
    probs = np.zeros(1 << 17)
    probs[[5, 70000]] = [0.5, 0.5]
    dist = Distribution(probs=probs)
    u = sampling.derive_rng(2, "x").random(50)
    out = sampling.sample_cdf(dist, 1.0, 50, sampling.derive_rng(2, "x"))
    assert out.tolist() == [5 if x < 0.5 else 70000 for x in u]


def test_probability_dict_from_state_drops_tiny_and_caps() -> None:
    state = np.zeros(8, dtype=np.complex64)
    state[[1, 2, 6]] = [0.8, 0.6, 1e-7]
    full, truncated = sampling.probability_dict(Distribution(state=state), max_outcomes=None)
    assert not truncated and set(full) == {1, 2}
    top, truncated = sampling.probability_dict(Distribution(state=state), max_outcomes=1)
    assert truncated and set(top) == {1} and top[1] == pytest.approx(0.64, abs=1e-6)


def test_probabilities_carry_15_significant_digits() -> None:
    """A Bell state's 0.4999999999999999 is reported as 0.5; values from 1e-8 up are rounded
    to 15 significant digits (within one unit of the last); smaller ones are kept."""
    bell = np.array([1, 0, 0, 1], dtype=np.complex128) / np.sqrt(2)
    assert np.abs(bell[0]) ** 2 != 0.5  # the arithmetic alone misses it by one bit
    probs, _ = sampling.probability_dict(Distribution(state=bell), max_outcomes=None)
    assert probs == {0: 0.5, 3: 0.5}
    values = 10.0 ** np.random.default_rng(3).uniform(-12, 0, 20_000)
    rounded = sampling.significant(values)
    reference = np.array([float(f"{v:.15g}") if v >= 1e-8 else v for v in values.tolist()])
    # at most one unit of the 15th digit from Python's rounding (the scaled product's own
    # rounding can tip a near-tie)
    assert np.all(np.abs(rounded - reference) <= 1.01e-14 * values)
    assert np.mean(rounded == reference) > 0.9
    assert np.all(np.abs(rounded - values) <= 1e-14 * values)


def test_bits_to_ints_is_little_endian_for_any_width() -> None:
    bits = np.zeros((2, 70), dtype=bool)
    bits[0, 0] = True
    bits[1, 69] = True
    assert sampling.bits_to_ints(bits) == [1, 1 << 69]
    assert sampling.bits_to_ints(bits[:, :3]) == [1, 0]


@pytest.mark.parametrize("threads", [1, 2], ids=["1 thread", "2 threads"])
def test_probability_dict_of_a_multi_chunk_single_precision_state_is_exact(threads: int) -> None:
    """Two chunks, entries straddling the 1e-12 cutoff within float32 rounding: the result is
    the float64 ``|a|²`` (to 15 significant digits) of every amplitude at or above the cutoff,
    in either chunk."""
    size = 2 * sampling.CHUNK
    rng = np.random.default_rng(11)
    state = np.zeros(size, dtype=np.complex64)
    near = rng.choice(size, 4000, replace=False)
    magnitude = 1e-6 * (1 + rng.uniform(-3e-7, 3e-7, near.size))  # |a|² within ~6e-7 of 1e-12
    angle = rng.uniform(0, 2 * np.pi, near.size)
    state[near] = (magnitude * np.exp(1j * angle)).astype(np.complex64)
    state[[3, size - 2]] = [0.6, 0.8j]
    wide = state.astype(np.complex128)
    exact = wide.real * wide.real + wide.imag * wide.imag
    keep = np.flatnonzero(exact >= sampling.PROBABILITY_CUTOFF)
    assert 0 < keep.size - 2 < near.size  # the straddle is real: some in, some out
    expected = dict(zip(keep.tolist(), exact[keep].tolist(), strict=True))  # all < 1e-8 …
    for k in (3, size - 2):  # … but these two: 15 significant digits
        expected[k] = float(f"{exact[k]:.15g}")
    dist = Distribution(state=state, threads=threads)
    got, truncated = sampling.probability_dict(dist, max_outcomes=None)
    assert not truncated and got == expected
    top, truncated = sampling.probability_dict(dist, max_outcomes=2)
    assert truncated and top == {3: expected[3], size - 2: expected[size - 2]}
    assert dist.total() == pytest.approx(float(exact.sum()), rel=1e-12)


@pytest.mark.parametrize("shots", [1, 3, 5000])
def test_dense_and_support_samplers_draw_the_same_outcomes(shots: int) -> None:
    """A wide distribution skips the support extraction; the outcomes for the same draws
    are the same as over the support (here: the same 64 leading entries, zero-padded)."""
    rng = np.random.default_rng(8)
    head = rng.random(sampling.SUPPORT_MAX) ** 4
    head[rng.choice(head.size, 20, replace=False)] = 0.0
    padded = np.concatenate([head, np.zeros(4 * sampling.SUPPORT_MAX)])
    small = sampling.sample_small(head, shots, sampling.derive_rng(4, "s"))
    wide = sampling.sample_small(padded, shots, sampling.derive_rng(4, "s"))
    assert wide[0].tolist() == small[0].tolist() and wide[1] == small[1]
    assert set(wide[1]) <= set(np.flatnonzero(head).tolist())

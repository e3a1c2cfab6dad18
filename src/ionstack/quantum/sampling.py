"""Seeded randomness, shot sampling and result dictionaries (semantics.md §2, §4).

Outcome integers are little-endian: ``k = Σ_i b_i·2^i`` where ``b_i`` is the measured bit of
qubit ``i``, so qubit 0 is the least significant bit (semantics.md §0; qiskit-ionq
``map_output``, Cirq ``job.py``: "IonQ returns results in little endian").

Randomness: every generator is numpy's PCG64 whose 128-bit state and increment come from a
BLAKE2b hash of ``(seed, *labels)``. Sub-streams are derived by hashing labels, never by
incrementing the seed (Aer's ``seed_simulator`` showed that s and s+1 give nearly the same shots,
engines.md). The same inputs give the same bytes in every process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numpy.random.bit_generator import ISeedSequence

#: Probabilities below this are dropped from result dictionaries (semantics.md §2.1).
PROBABILITY_CUTOFF = 1e-12
#: Chunk of amplitudes processed at once (keeps extra memory small for 28+ qubit states).
CHUNK = 1 << 22
#: Distributions up to this size are sampled in one dense step.
SMALL = 1 << 16
#: Dense distributions larger than this are sampled without extracting their support.
SUPPORT_MAX = 64

#: Relative margin of the single-precision screen in :meth:`Distribution.above`.
SCREEN_MARGIN = 1e-5
#: Below this threshold the screen would meet float32 subnormals: compare in float64.
SCREEN_MIN = 1e-30

T = TypeVar("T")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class _HashSeed(ISeedSequence):
    """Seed material for PCG64 taken verbatim from a hash (no further mixing needed)."""

    __slots__ = ("_words",)

    def __init__(self, digest: bytes) -> None:
        self._words = np.frombuffer(digest, dtype=np.uint64)

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> npt.NDArray[Any]:
        if dtype == np.uint64 and n_words == 4:  # what PCG64 asks for
            return self._words.copy()
        words = np.resize(self._words, n_words if dtype == np.uint64 else (n_words + 1) // 2)
        return words if dtype == np.uint64 else words.view(np.uint32)[:n_words]


def derive_rng(seed: int, *labels: str | int) -> np.random.Generator:
    """A PCG64 generator seeded from a BLAKE2b hash of ``seed`` and ``labels``.

    Args:
        seed: The job seed (semantics.md §4: 1 ≤ seed ≤ 2³¹−1; any int works here).
        labels: Purpose labels, e.g. ``("patterns",)`` or ``("group", 17)``.
    """
    text = ":".join(str(x) for x in (seed, *labels)).encode()
    digest = hashlib.blake2b(text, digest_size=32, person=b"ionstack-rng").digest()
    return np.random.Generator(np.random.PCG64(cast(Any, _HashSeed(digest))))


def derive_seed(seed: int, *labels: str | int) -> int:
    """A 63-bit integer seed for libraries that take one (stim), from the same hash."""
    text = ":".join(str(x) for x in (seed, *labels)).encode()
    digest = hashlib.blake2b(text, digest_size=8, person=b"ionstack-seed").digest()
    return int.from_bytes(digest, "little") >> 1


# --------------------------------------------------------------------------- distributions


class Distribution:
    """Outcome probabilities, read in chunks so 28+ qubit states need no extra full copy.

    Built from a state vector (``|amplitude|²`` computed per chunk in float64) or from an
    explicit probability array.
    """

    def __init__(
        self,
        *,
        state: npt.NDArray[np.complexfloating[Any, Any]] | None = None,
        probs: FloatArray | None = None,
        threads: int = 1,
    ) -> None:
        if (state is None) == (probs is None):
            raise ValueError("give exactly one of state or probs")
        self._state = state
        self._probs = probs
        self.size = int((state if state is not None else probs).shape[0])  # type: ignore[union-attr]
        self.threads = max(1, threads)

    def map_chunks(self, fn: Callable[[int, int], T]) -> list[T]:
        """``fn(start, stop)`` for every chunk, in order, on ``threads`` threads (numpy
        releases the GIL, so large states are scanned in parallel)."""
        bounds = [(s, min(self.size, s + CHUNK)) for s in range(0, self.size, CHUNK)]
        if self.threads == 1 or len(bounds) == 1:
            return [fn(a, b) for a, b in bounds]
        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(lambda ab: fn(*ab), bounds))

    def above(self, start: int, stop: int, threshold: float) -> tuple[IntArray, FloatArray]:
        """Indices in ``[start, stop)`` with probability ≥ ``threshold`` and their float64 values.

        Exactly the entries of :meth:`chunk` ``≥ threshold`` (same values, same bits), but a
        single-precision state is first screened in its own precision against a threshold
        lowered by ``SCREEN_MARGIN`` (float32 ``re²+im²`` is within ~2e-7 relative of the
        float64 value), so only the few candidates are widened to float64.
        """
        if self._probs is not None:
            block = self._probs[start:stop]
            hit = np.flatnonzero(block >= threshold)
            return hit + start, block[hit]
        assert self._state is not None
        a = self._state[start:stop]
        if a.dtype != np.complex64 or threshold < SCREEN_MIN:
            p = self.chunk(start, stop)
            hit = np.flatnonzero(p >= threshold)
            return hit + start, p[hit]
        screen = np.float32(threshold * (1.0 - SCREEN_MARGIN))
        hit = np.flatnonzero(a.real * a.real + a.imag * a.imag >= screen)
        re, im = a.real[hit].astype(np.float64), a.imag[hit].astype(np.float64)
        values: FloatArray = re * re + im * im
        keep = values >= threshold
        return hit[keep] + start, values[keep]

    def blocks(self) -> Iterator[tuple[int, FloatArray]]:
        """``(start, probabilities)`` for consecutive chunks."""
        for start in range(0, self.size, CHUNK):
            yield start, self.chunk(start, min(self.size, start + CHUNK))

    def chunk(self, start: int, stop: int) -> FloatArray:
        if self._probs is not None:
            return self._probs[start:stop]
        assert self._state is not None
        a = self._state[start:stop]
        re, im = a.real.astype(np.float64), a.imag.astype(np.float64)
        out: FloatArray = re * re + im * im
        return out

    def strided(self, step: int) -> FloatArray:
        """Every ``step``-th probability (a cheap subsample)."""
        if self._probs is not None:
            return self._probs[::step]
        assert self._state is not None
        a = self._state[::step]
        out: FloatArray = a.real.astype(np.float64) ** 2 + a.imag.astype(np.float64) ** 2
        return out

    def dense(self) -> FloatArray:
        """All probabilities at once (small distributions only)."""
        if self._probs is not None:
            return self._probs
        assert self._state is not None
        a = self._state
        out: FloatArray = (a.real * a.real + a.imag * a.imag).astype(np.float64, copy=False)
        return out

    def total(self) -> float:
        return float(sum(self.map_chunks(lambda a, b: float(self.chunk(a, b).sum()))))


# --------------------------------------------------------------------------- sampling


def sample_small(
    probs: FloatArray, shots: int, rng: np.random.Generator
) -> tuple[IntArray, dict[int, int]]:
    """Exact i.i.d. inverse-CDF sampling of a small dense distribution, over its support.

    Returns the per-shot outcomes and their histogram. (Array methods rather than numpy
    functions: this is the hot path of tiny jobs, bench/README.md workload (c).)
    """
    if probs.size > SUPPORT_MAX:
        return _sample_dense(probs, shots, rng)
    support = probs.nonzero()[0]
    cdf = probs[support].cumsum()
    u = rng.random(shots)
    u *= cdf[-1]
    if support.size <= 8:  # a few vector comparisons beat a binary search
        pick = (u >= cdf[0]).view(np.int8)
        for edge in cdf[1:-1].tolist():
            pick += u >= edge
    else:
        pick = cdf.searchsorted(u, "right").clip(0, support.size - 1)
    counts = np.bincount(pick, minlength=support.size)
    if counts.all():
        hist = dict(zip(support.tolist(), counts.tolist(), strict=True))
    else:
        hit = counts.nonzero()[0]
        hist = dict(zip(support[hit].tolist(), counts[hit].tolist(), strict=True))
    out: IntArray = support.take(pick)
    return out, hist


def _sample_dense(
    probs: FloatArray, shots: int, rng: np.random.Generator
) -> tuple[IntArray, dict[int, int]]:
    """:func:`sample_small` without extracting the support first (wide distributions, e.g.
    one trajectory group of a few shots from a 14-qubit state).

    The same outcomes for the same draws: ``cumsum`` is sequential, so the zero entries leave
    the running sum unchanged and the first index whose cumulative value exceeds ``u`` is the
    same support entry.
    """
    cdf = probs.cumsum()
    u = rng.random(shots)
    u *= cdf[-1]
    out: IntArray = cdf.searchsorted(u, "right")
    if out.size and out.max() >= cdf.size:  # u rounded up to the total: last non-zero outcome
        out[out >= cdf.size] = int(np.flatnonzero(probs)[-1])
    if shots < probs.size:
        return out, histogram(out)
    counts = np.bincount(out, minlength=probs.size)
    hit = counts.nonzero()[0]
    return out, dict(zip(hit.tolist(), counts[hit].tolist(), strict=True))


def sample_cdf(dist: Distribution, total: float, shots: int, rng: np.random.Generator) -> IntArray:
    """Exact i.i.d. inverse-CDF sampling, streamed over the distribution's chunks.

    Each shot ``i`` draws ``u_i`` in order; its outcome is the first index whose cumulative
    probability exceeds ``u_i·total``. Shots keep their execution order.
    """
    u = rng.random(shots) * total
    order = np.argsort(u, kind="stable")
    targets = u[order]
    out = np.empty(shots, dtype=np.int64)
    done, acc, last_nonzero = 0, 0.0, 0
    for base, block in dist.blocks():
        cdf = np.cumsum(block, dtype=np.float64) + acc
        hi = int(np.searchsorted(targets, cdf[-1], side="left"))
        if hi > done:
            idx = np.searchsorted(cdf, targets[done:hi], side="right")
            out[order[done:hi]] = base + np.minimum(idx, block.size - 1)
            done = hi
        if cdf[-1] > acc:
            last_nonzero = base + int(np.searchsorted(cdf, cdf[-1], side="left"))
        acc = float(cdf[-1])
    # Rounding can leave u·total ≥ the streamed sum: those go to the last non-zero outcome.
    out[order[done:]] = last_nonzero
    return out


def sample(
    dist: Distribution, shots: int, rng: np.random.Generator
) -> tuple[IntArray, dict[int, int]]:
    """Per-shot outcomes (execution order) drawn i.i.d. from ``dist``, and their histogram."""
    if dist.size <= SMALL:
        return sample_small(dist.dense(), shots, rng)
    out = sample_cdf(dist, dist.total(), shots, rng)
    return out, histogram(out)


# --------------------------------------------------------------------------- dictionaries


def histogram(samples: IntArray) -> dict[int, int]:
    """Counts per outcome, ascending keys."""
    keys, counts = np.unique(samples, return_counts=True)
    return dict(zip(keys.tolist(), counts.tolist(), strict=True))


def frequencies(hist: dict[int, int], shots: int) -> dict[int, float]:
    """``counts / shots`` with the same (ascending) keys."""
    return {k: v / shots for k, v in hist.items()}


def _threshold(dist: Distribution, keep: int, cutoff: float) -> float:
    """A value a bit below the ``keep``-th largest probability, from a strided subsample."""
    probe = dist.strided(max(1, dist.size // (1 << 20)))
    q = 1.0 - keep / dist.size
    return max(cutoff, float(np.quantile(probe, q)) * 0.9)


def _select(dist: Distribution, threshold: float) -> tuple[IntArray, FloatArray]:
    parts = dist.map_chunks(lambda a, b: dist.above(a, b, threshold))
    return np.concatenate([i for i, _ in parts]), np.concatenate([v for _, v in parts])


def probability_dict(
    dist: Distribution, *, max_outcomes: int | None, cutoff: float = PROBABILITY_CUTOFF
) -> tuple[dict[int, float], bool]:
    """Exact probabilities as ``{outcome: p}`` (ascending keys), dropping ``p < cutoff``.

    When more than ``max_outcomes`` entries remain only the largest are kept (semantics.md
    §2.1: "cap the output at an operator-set maximum number of entries"); a threshold from a
    subsample keeps that to one streaming pass in the usual case.

    Returns:
        The dictionary and whether it was truncated.
    """
    limit = max_outcomes if max_outcomes is not None else dist.size
    threshold = _threshold(dist, limit, cutoff) if dist.size > limit else cutoff
    idx, values = _select(dist, threshold)
    if idx.size < limit and threshold > cutoff:  # the estimate was too high: exact pass
        idx, values = _select(dist, cutoff)
    truncated = idx.size > limit
    if truncated:
        top = np.argpartition(values, idx.size - limit)[idx.size - limit :]
        top.sort()
        idx, values = idx[top], values[top]
    return dict(zip(idx.tolist(), significant(values).tolist(), strict=True)), bool(truncated)


def significant(values: FloatArray, digits: int = 15) -> FloatArray:
    """``values`` (all > 0) rounded to ``digits`` significant decimal digits (within one unit of
    the last: the scaled product rounds too): float64 carries
    15 faithfully, so this only removes the last-bit noise of the arithmetic (a Bell state's
    ``0.4999999999999999`` becomes ``0.5``, as IonQ's simulator reports it). Values below
    ``10**(digits - 23)``, where the decimal scaling would not be exact, are left as they are."""
    if values.size == 0:
        return values
    exponent = digits - 1 - np.floor(np.log10(values))
    exact = exponent <= 22  # 10**22 is the largest power of ten a float64 holds exactly
    scale = 10.0 ** np.where(exact, exponent, 0)
    out: FloatArray = np.where(exact, np.rint(values * scale) / scale, values)
    return out


def bits_to_ints(bits: npt.NDArray[np.bool_]) -> list[int]:
    """Rows of measured bits (column i = qubit i) to little-endian outcome integers."""
    n = bits.shape[1]
    if n <= 62:
        weights = np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))
        return (bits.astype(np.int64) @ weights).tolist()  # type: ignore[no-any-return]
    packed = np.packbits(bits, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]

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
import itertools
import operator
from collections import deque
from collections.abc import Callable, ItemsView, Iterator, Mapping, ValuesView
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numpy.random.bit_generator import ISeedSequence

#: Probabilities below this are dropped from result dictionaries (semantics.md §2.1).
PROBABILITY_CUTOFF = 1e-12
#: Chunk of amplitudes whose float64 probabilities are summed and sampled at once (one float64
#: chunk per scanning thread is the sampler's only sizeable temporary; its boundaries fix the
#: summation order, so changing it changes the last bits of the cumulative sums).
CHUNK = 1 << 22
#: Elementwise kernels work in blocks of this many entries (temporaries of half a MiB).
BLOCK = 1 << 16
#: Amplitudes per task when selecting the largest outcomes (float32 temporaries of a quarter MiB).
SELECT_CHUNK = 1 << 16
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


def squared(a: npt.NDArray[np.complexfloating[Any, Any]]) -> FloatArray:
    """float64 ``re² + im²`` of ``a``, block by block into one output array.

    The same bits as ``re64 * re64 + im64 * im64`` on whole float64 copies (each element
    goes through the same three float64 operations), without the four full-size temporaries.
    """
    out: FloatArray = np.empty(a.shape[0], dtype=np.float64)
    tmp = np.empty(min(BLOCK, a.shape[0]), dtype=np.float64)
    re, im = a.real, a.imag
    for s in range(0, a.shape[0], BLOCK):
        e = min(a.shape[0], s + BLOCK)
        o, t = out[s:e], tmp[: e - s]
        np.multiply(re[s:e], re[s:e], out=o, dtype=np.float64)
        np.multiply(im[s:e], im[s:e], out=t, dtype=np.float64)
        np.add(o, t, out=o)
    return out


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

    def map_chunks(self, fn: Callable[[int, int], T], step: int = CHUNK) -> list[T]:
        """``fn(start, stop)`` for every chunk, in order, on ``threads`` threads (numpy
        releases the GIL, so large states are scanned in parallel)."""
        return list(self.scan(fn, step))

    def scan(self, fn: Callable[[int, int], T], step: int = CHUNK) -> Iterator[T]:
        """:meth:`map_chunks` as an iterator: results in chunk order, as they are consumed.

        A task starts only after every earlier task started, and results are consumed in
        order, so when ``fn`` for a chunk starts, everything the consumer has seen came from
        earlier chunks (what :func:`largest` relies on to raise its threshold as it goes).
        """
        bounds = [(s, min(self.size, s + step)) for s in range(0, self.size, step)]
        if self.threads == 1 or len(bounds) == 1:
            yield from (fn(a, b) for a, b in bounds)
            return
        # At most two tasks a thread in flight: results waiting to be consumed cost memory.
        ahead = iter(bounds)
        with ThreadPoolExecutor(self.threads) as pool:
            window = deque(
                pool.submit(fn, a, b) for a, b in itertools.islice(ahead, 2 * self.threads)
            )
            while window:
                done = window.popleft()
                nxt = next(ahead, None)
                if nxt is not None:
                    window.append(pool.submit(fn, *nxt))
                yield done.result()

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
        if a.dtype != np.complex64 or threshold < SCREEN_MIN or threshold <= PROBABILITY_CUTOFF:
            # at the cutoff nearly everything passes: a screen would only add work
            p = self.chunk(start, stop)
            hit = np.flatnonzero(p >= threshold)
            return hit + start, p[hit]
        screen = np.float32(threshold * (1.0 - SCREEN_MARGIN))
        hit = np.flatnonzero(a.real * a.real + a.imag * a.imag >= screen)
        re, im = a.real[hit].astype(np.float64), a.imag[hit].astype(np.float64)
        values: FloatArray = re * re + im * im
        keep = values >= threshold
        return hit[keep] + start, values[keep]

    def chunk(self, start: int, stop: int) -> FloatArray:
        """float64 ``re² + im²`` of ``[start, stop)``: one output array, block temporaries."""
        if self._probs is not None:
            return self._probs[start:stop]
        assert self._state is not None
        return squared(self._state[start:stop])

    def strided(self, step: int) -> FloatArray:
        """Every ``step``-th probability (a cheap subsample, float64, writable)."""
        if self._probs is not None:
            out: FloatArray = self._probs[::step].copy()
            return out
        assert self._state is not None
        return squared(self._state[::step])

    def dense(self) -> FloatArray:
        """All probabilities at once (small distributions only)."""
        if self._probs is not None:
            return self._probs
        assert self._state is not None
        a = self._state
        out: FloatArray = (a.real * a.real + a.imag * a.imag).astype(np.float64, copy=False)
        return out

    def total(self) -> float:
        """``Σ p``: per chunk numpy's (pairwise) sum of its float64 probabilities, chunks
        added in order."""
        if self._probs is not None:
            return float(sum(self.map_chunks(lambda a, b: float(self.chunk(a, b).sum()))))
        return float(sum(self.map_chunks(self._chunk_sum)))

    def _chunk_sum(self, start: int, stop: int) -> float:
        """``float(self.chunk(start, stop).sum())`` from ``BLOCK``-long pieces.

        numpy sums a contiguous float64 array pairwise, halving it down to blocks of 128; a
        power-of-two chunk's sum is therefore the balanced tree of its ``BLOCK``-long pieces'
        sums, to the bit (tests/quantum/test_quantum_memory.py checks it against numpy).
        """
        assert self._state is not None
        n = stop - start
        if n <= BLOCK or n & (n - 1):
            return float(self.chunk(start, stop).sum())
        a = self._state[start:stop]
        parts = [float(squared(a[s : s + BLOCK]).sum()) for s in range(0, n, BLOCK)]
        while len(parts) > 1:
            parts = [parts[i] + parts[i + 1] for i in range(0, len(parts), 2)]
        return parts[0]

    def pieces(self, start: int, stop: int) -> Iterator[tuple[int, FloatArray]]:
        """``(offset, probabilities)`` of ``[start, stop)`` in fresh ``BLOCK``-long arrays."""
        for s in range(start, stop, BLOCK):
            e = min(stop, s + BLOCK)
            if self._probs is not None:
                yield s, self._probs[s:e].astype(np.float64, copy=True)
            else:
                assert self._state is not None
                yield s, squared(self._state[s:e])


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

    The cumulative sum is sequential within a chunk and offset by the chunks before it
    (``cumsum(chunk) + acc``); it is computed ``BLOCK`` entries at a time, each piece's
    first entry carrying the running sum in, which is the same sequence of additions, so the
    outcomes are those of a whole-chunk ``cumsum`` without its chunk-sized arrays.
    """
    u = rng.random(shots) * total
    order = np.argsort(u, kind="stable")
    targets = u[order]
    out = np.empty(shots, dtype=np.int64)
    done, acc, last_nonzero = 0, 0.0, 0
    for base in range(0, dist.size, CHUNK):
        stop = min(dist.size, base + CHUNK)
        within, top, final = 0.0, acc, base
        for offset, cdf in dist.pieces(base, stop):
            cdf[0] += within
            np.cumsum(cdf, out=cdf)
            within = float(cdf[-1])
            cdf += acc
            hi = int(np.searchsorted(targets, cdf[-1], side="left"))
            if hi > done:
                idx = np.searchsorted(cdf, targets[done:hi], side="right")
                out[order[done:hi]] = offset + np.minimum(idx, cdf.size - 1)
                done = hi
            if cdf[-1] > top:  # the chunk's final value is first reached in this piece
                final = offset + int(np.searchsorted(cdf, cdf[-1], side="left"))
                top = float(cdf[-1])
        if top > acc:
            last_nonzero = final
        acc = top
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
    return max(cutoff, float(np.quantile(probe, q, overwrite_input=True)) * 0.9)


class _Largest:
    """The ``limit`` largest entries by ``(probability, outcome)`` of candidates offered in
    ascending outcome order, kept in two buffers that become the answer's own arrays.

    Memory: the buffers hold at most ``capacity`` entries (16 bytes each); when they are full,
    they are compacted in place to the ``limit`` largest, and the ``limit``-th largest value
    becomes the floor below which later candidates are not even offered. Ties at the cut keep
    the higher outcomes: the entries kept are ``sorted(d, key=d.__getitem__)[-limit:]`` of the
    ascending dictionary ``d`` of all candidates, so a later (higher) outcome equal to the floor
    can still enter.
    """

    def __init__(self, limit: int, floor: float, capacity: int) -> None:
        self.limit = limit
        self.floor = floor
        self.capacity = max(1, capacity)
        self.count = 0
        #: Candidates offered (all ≥ the floor of their time).
        self.seen = 0
        self.idx: IntArray = np.empty(min(self.capacity, BLOCK), dtype=np.int64)
        self.val: FloatArray = np.empty(min(self.capacity, BLOCK), dtype=np.float64)

    def add(self, idx: IntArray, val: FloatArray) -> None:
        self.seen += idx.size
        pos = 0
        while pos < idx.size:
            if self.count == self.capacity:
                self._compact()
            take = min(self.capacity - self.count, idx.size - pos)
            self._reserve(self.count + take)
            self.idx[self.count : self.count + take] = idx[pos : pos + take]
            self.val[self.count : self.count + take] = val[pos : pos + take]
            self.count += take
            pos += take

    def _reserve(self, need: int) -> None:
        if need <= self.idx.size:
            return
        size = min(self.capacity, max(need, 2 * self.idx.size))
        # In place (large buffers are remapped, not copied): nothing else refers to them.
        self.idx.resize(size, refcheck=False)
        self.val.resize(size, refcheck=False)

    def _compact(self) -> None:
        """Keep the ``limit`` largest in place (order kept), block by block."""
        m, k = self.count, self.limit
        if m <= k:
            return
        cut = m - k
        kth = float(np.partition(self.val[:m], cut)[cut])
        over = int(np.count_nonzero(self.val[:m] > kth))
        drop_ties = int(np.count_nonzero(self.val[:m] == kth)) - (k - over)
        write = 0
        for s in range(0, m, BLOCK):
            e = min(m, s + BLOCK)
            v = self.val[s:e]
            keep = v >= kth
            if drop_ties > 0:
                ties = np.flatnonzero(v == kth)[:drop_ties]
                keep[ties] = False
                drop_ties -= ties.size
            sel = np.flatnonzero(keep) + s
            # sel ≥ s ≥ write: this block only reads positions no earlier block wrote
            self.idx[write : write + sel.size] = self.idx[sel]
            self.val[write : write + sel.size] = self.val[sel]
            write += sel.size
        self.count = write
        self.floor = max(self.floor, kth)

    def result(self) -> tuple[IntArray, FloatArray]:
        """The kept entries (ascending outcomes), in arrays of their own size."""
        self._compact()
        self.idx.resize(self.count, refcheck=False)
        self.val.resize(self.count, refcheck=False)
        return self.idx, self.val


def largest(dist: Distribution, limit: int, floor: float, capacity: int) -> _Largest:
    """Scan ``dist`` for its ``limit`` largest entries ``≥ floor`` (see :class:`_Largest`)."""
    best = _Largest(limit, floor, capacity)
    for idx, values in dist.scan(lambda a, b: dist.above(a, b, best.floor), SELECT_CHUNK):
        best.add(idx, values)
    return best


class Probabilities(Mapping[int, float]):
    """Exact probabilities as two arrays: ascending ``outcomes`` and their ``probs``.

    A read-only mapping ``{outcome: probability}``, equal to the dictionary of the same items,
    that costs 16 bytes an entry and no Python object until it is read: a 2²⁰-entry answer is
    16 MiB instead of a dictionary's ~110 MiB, built in milliseconds instead of ~0.3 s
    (bench/README.md, "mid-size gap").
    """

    __slots__ = ("outcomes", "probs")

    def __init__(self, outcomes: IntArray, values: FloatArray) -> None:
        self.outcomes = outcomes
        self.probs = values

    def __len__(self) -> int:
        return int(self.outcomes.size)

    def __iter__(self) -> Iterator[int]:
        return iter(self.outcomes.tolist())

    def __getitem__(self, key: object) -> float:
        try:
            k = operator.index(key)  # type: ignore[arg-type]
        except TypeError:
            raise KeyError(key) from None
        if 0 <= k < 1 << 63:
            i = int(np.searchsorted(self.outcomes, k))
            if i < self.outcomes.size and int(self.outcomes[i]) == k:
                return float(self.probs[i])
        raise KeyError(key)

    def items(self) -> ItemsView[int, float]:
        return _Items(self)

    def values(self) -> ValuesView[float]:
        return _Values(self)

    def to_dict(self) -> dict[int, float]:
        return dict(zip(self.outcomes.tolist(), self.probs.tolist(), strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Probabilities):
            return bool(
                np.array_equal(self.outcomes, other.outcomes)
                and np.array_equal(self.probs, other.probs)
            )
        if isinstance(other, Mapping):
            return len(self) == len(other) and self.to_dict() == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if len(self) <= 16:
            return f"Probabilities({self.to_dict()!r})"
        return f"Probabilities(<{len(self)} outcomes>)"


class _Items(ItemsView[int, float]):
    _mapping: Probabilities

    def __iter__(self) -> Iterator[tuple[int, float]]:
        m = self._mapping
        return zip(m.outcomes.tolist(), m.probs.tolist(), strict=True)


class _Values(ValuesView[float]):
    _mapping: Probabilities

    def __iter__(self) -> Iterator[float]:
        return iter(self._mapping.probs.tolist())


#: Slack of the selection buffers beyond the entries kept, as a fraction of them (1/8).
SLACK = 8


def probability_dict(
    dist: Distribution, *, max_outcomes: int | None, cutoff: float = PROBABILITY_CUTOFF
) -> tuple[Probabilities, bool]:
    """Exact probabilities as ``{outcome: p}`` (ascending keys), dropping ``p < cutoff``.

    When more than ``max_outcomes`` entries remain only the largest are kept (semantics.md
    §2.1: "cap the output at an operator-set maximum number of entries"), ties at the cut
    going to the higher outcomes. A threshold from a subsample keeps that to one streaming
    pass in the usual case; the candidates never take more than ``max_outcomes · 18`` bytes,
    whatever the distribution (a uniform one has every entry at the threshold).

    Returns:
        The mapping (:class:`Probabilities`) and whether it was truncated.
    """
    limit = max_outcomes if max_outcomes is not None else dist.size
    capacity = dist.size if dist.size <= limit else limit + max(1, limit // SLACK)
    floor = _threshold(dist, limit, cutoff) if dist.size > limit else cutoff
    best = largest(dist, limit, floor, capacity)
    if best.seen < limit and floor > cutoff:  # the estimate was too high: exact pass
        del best
        best = largest(dist, limit, cutoff, capacity)
    idx, values = best.result()
    round_significant(values, threads=dist.threads)
    return Probabilities(idx, values), best.seen > limit


def round_significant(values: FloatArray, digits: int = 15, threads: int = 1) -> None:
    """:func:`significant` in place, block by block (no full-size temporaries), the blocks
    shared among ``threads``."""

    def one(s: int) -> None:
        v = values[s : s + BLOCK]
        e = np.log10(v)
        np.floor(e, out=e)
        np.subtract(digits - 1, e, out=e)  # the exponent
        exact = e <= 22
        np.copyto(e, 0.0, where=~exact)
        np.power(10.0, e, out=e)  # the scale
        r = v * e
        np.rint(r, out=r)
        np.divide(r, e, out=r)
        np.copyto(v, r, where=exact)

    starts = range(0, values.size, BLOCK)
    if threads == 1 or len(starts) == 1:
        for s in starts:
            one(s)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, starts))


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
    packed = np.packbits(bits, axis=1, bitorder="little")
    if n <= 62:  # 8 bytes a shot: the packed rows, zero-padded, read as little-endian int64
        words = np.zeros((bits.shape[0], 8), dtype=np.uint8)
        words[:, : packed.shape[1]] = packed
        out: list[int] = words.view("<i8").ravel().tolist()
        return out
    return [int.from_bytes(row.tobytes(), "little") for row in packed]

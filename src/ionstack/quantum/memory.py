"""The simulator's memory model and guard (issue 16 §1): what each path will take, known
before it allocates anything, and the clean failure when that exceeds the limit.

Every estimate is the bytes a run adds to its process, term by term: the state(s), the answer,
every sizeable temporary. The constants are measured (bench/memory.py; figures in
bench/README.md, "Memory") and tests/quantum/test_quantum_memory.py holds the sums to the
measured peaks. :func:`ionstack.quantum.simulate.footprint` combines these per path.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
from dataclasses import dataclass

from ionstack.errors import JobFailure
from ionstack.quantum import sampling

#: Below this estimate the default memory limit is not even looked up.
SMALL_BYTES = 256 << 20


def available_memory() -> int:
    """Bytes the simulator may use when no limit is configured: ¾ of RAM, and never more
    than 90 % of what is available now (other processes share the host)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return min(total * 3 // 4, int(line.split()[1]) * 1024 * 9 // 10)
    except OSError:
        pass
    return int(total * 0.75)


class LazyLimit(int):
    """The default limit, read from /proc/meminfo only when an estimate gets large."""

    def __new__(cls) -> LazyLimit:
        return super().__new__(cls, 1 << 62)


@functools.cache
def cores() -> int:
    return os.cpu_count() or 1


#: Allocations from this size up are mapped and unmapped on their own (glibc ``mallopt``).
MMAP_THRESHOLD = 2 << 20


@functools.cache
def tune_allocator() -> None:
    """Fix glibc's mmap threshold (once per process, before the first large run).

    By default glibc raises the threshold to the largest block freed so far (up to 32 MiB),
    after which state-sized blocks come from the heap and, once freed, stay resident and
    fragment it: a 20-qubit noisy run with 11 states live at most peaked at 16 states
    (bench/README.md, "Memory"). With a fixed threshold every state, checkpoint and large
    buffer is its own mapping, returned to the system when freed, so the resident memory is
    what is live; small temporaries keep reusing the heap.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc: its own policy applies
        pass


@dataclass(frozen=True, kw_only=True, slots=True)
class Footprint:
    """What a run will take, known before it allocates anything (the memory guard's input).

    Attributes:
        method: The path :func:`run` takes (``statevector``, ``stabilizer``, ``trajectories``,
            ``density_matrix``, ``mps``).
        engine: The library path (as :attr:`RunResult.engine`).
        state: Bytes of its state: the vector or density matrix (0 for stim).
        peak: Estimated peak bytes the run adds to its process's resident memory, answer
            included (bench/memory.py measures it; tests/quantum/test_quantum_memory.py holds
            the estimate to the measurement).
        what: The simulation in words, for the failure message.
    """

    method: str
    engine: str
    state: float
    peak: float
    what: str


def guard(fp: Footprint, limit: int, n: int) -> None:
    """Fail cleanly, before allocating, when the estimated peak exceeds the limit."""
    if isinstance(limit, LazyLimit):
        if fp.peak < SMALL_BYTES:
            return
        limit = available_memory()
    if fp.peak > limit:
        raise JobFailure(
            "SimulationError",
            f"a {n}-qubit {fp.what} needs about {fp.peak / 2**30:.3g} GiB of memory; the "
            f"limit is {limit / 2**30:.3g} GiB",
        )


# The memory model: bytes a run adds to its process, term by term. The constants are measured
# (bench/memory.py; figures in bench/README.md, "Memory"); the test holds the sums to the
# measured peaks (tests/quantum/test_quantum_memory.py).

#: Any run beyond its arrays: small objects, thread stacks, allocator slack.
BASE_BYTES = 512 << 10
#: Per gate of an ideal circuit: the engine ops (matrices) and qsim's fused circuit.
GATE_BYTES = 1024
#: Per native gate of a noisy trajectory run: the fused program and its prefix matrices.
TRAJECTORY_GATE_BYTES = 512
#: Per native gate of a density-matrix run.
DENSITY_GATE_BYTES = 160
#: Per gate of an ideal Clifford circuit on stim (ops, tableau pieces, stim's circuit).
STIM_GATE_BYTES = 512
#: Per native gate of a noisy Clifford circuit on stim (its stim pieces and noisy circuit).
STIM_NOISY_GATE_BYTES = 2800
#: Per shot of a sampled answer: the per-shot arrays and the ``samples`` list.
SHOT_BYTES = 60
#: Per distinct outcome of a sampled answer (all shots distinct assumed: an upper bound): the
#: histogram and frequency dictionaries.
OUTCOME_BYTES = 150
#: Per amplitude of a selection task running, when (nearly) all pass: its float64
#: probabilities, the indices that pass and their values.
SELECT_ENTRY_BYTES = 32


def sampling_bytes(size: float, shots: int, threads: int) -> float:
    """Sampling ``shots`` from ``size`` outcomes, answer included."""
    if size <= sampling.SMALL:
        temps = 32 * size  # float32 |a|², its float64 copy and cumulative sum
    else:  # BLOCK-long float64 pieces per thread (sums), then one (cumulative sums)
        temps = 16 * sampling.BLOCK * threads
    per_shot = 32  # uniforms, their order, sorted targets, outcomes
    return temps + shots * (per_shot + SHOT_BYTES) + min(shots, size) * OUTCOME_BYTES


def exact_bytes(size: float, max_outcomes: int | None, threads: int) -> float:
    """Selecting the (largest) exact probabilities of ``size`` outcomes, answer included.

    The answer is two arrays of 16 bytes an entry (every outcome above the cutoff assumed);
    a capped selection holds up to ``1 + 1/SLACK`` times the cap, plus the float64 copy its
    compaction partitions, after a float64 subsample of 2²⁰ entries for its threshold.
    """
    task = min(size, sampling.SELECT_CHUNK)
    ntasks = math.ceil(size / task)
    # tasks running, and the results waiting for the consumer (two a thread at most)
    tasks = task * (SELECT_ENTRY_BYTES * min(threads, ntasks) + 16 * (min(2 * threads, ntasks) - 1))
    limit = size if max_outcomes is None else min(size, max_outcomes)
    if size <= limit:
        return 16 * size + tasks
    held = limit * (1 + 1 / sampling.SLACK)
    probe = 16 * min(size, 1 << 20)
    return max(probe, (16 + 8) * held + tasks)


def statevector_footprint(
    n: int,
    ops: int,
    *,
    shots: int | None,
    max_outcomes: int | None,
    threads: int,
    segmented: bool,
) -> Footprint:
    """The qsim path (complex64): one state, two while a long circuit runs in segments."""
    size = 2.0**n
    state = 8 * size
    states = 2 if segmented else 1
    extra = (
        exact_bytes(size, max_outcomes, threads)
        if shots is None
        else sampling_bytes(size, shots, threads)
    )
    peak = BASE_BYTES + ops * GATE_BYTES + states * state + extra
    return Footprint(
        method="statevector", engine="qsim-complex64", state=state, peak=peak, what="state vector"
    )


def small_footprint(n: int, *, shots: int | None, max_outcomes: int | None) -> Footprint:
    """The numpy path of narrow ideal circuits (complex128; no guard needed below 11 qubits)."""
    size = 2.0**n
    if shots is None:
        extra = exact_bytes(size, max_outcomes, 1)
    else:
        extra = sampling_bytes(size, shots, 1)
    return Footprint(
        method="statevector",
        engine="numpy-complex128",
        state=16 * size,
        peak=BASE_BYTES + 3 * 16 * size + extra,
        what="state vector",
    )


def stim_footprint(
    n: int, *, outcomes: float, shots: int | None, ops: int, noisy: bool
) -> Footprint:
    """stim: the tableau is small; the circuit's pieces and the answer take the memory.

    Building the stim circuit (and, noisy, compiling to native gates) peaks before the
    sampling starts; part of it stays while the answer is built.
    """
    build, kept = (STIM_NOISY_GATE_BYTES, 0.4) if noisy else (STIM_GATE_BYTES, 0.6)
    if shots is None:
        # the support's elimination (n² int64), then int64 outcomes and float64 values
        # (Python integers past 62 qubits)
        answer = 24 * n * n + outcomes * (16 if n <= 62 else 120)
    else:
        # a byte per sampled bit, the packed rows, an int64 or a Python integer a shot
        bits = n + n / 8 + (8 if n <= 62 else 40 + n / 8)
        answer = shots * (bits + SHOT_BYTES) + shots * OUTCOME_BYTES
    peak = BASE_BYTES + max(ops * build, ops * build * kept + answer)
    return Footprint(
        method="stabilizer", engine="stim", state=0.0, peak=peak, what="stabilizer simulation"
    )

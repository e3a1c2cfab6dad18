"""Shot-based simulation of dynamic programs: mid-circuit measurement, reset, feed-forward.

**Method (branching on outcomes).** Shots are kept in *groups* that share their whole history
(state vector and classical record). A group runs until a mid-circuit measurement or a reset;
there each shot draws its outcome (a uniform below ``p(1)``, from the job's seeded stream), the
group splits into at most two — each branch collapsed and renormalised — and ``if`` conditions
are evaluated per group on its record. The state before the first mid-circuit measurement is
computed once for all shots; a group of one shot never splits again; branches are processed
depth first, so only the pending siblings are alive at any time. At the end each group samples
its shots' final measurement of every qubit from its state.

**Terminal measurements are deferred**: a top-level measurement no later op depends on (no later
gate, reset or measurement into the same bit acts after it, and no later ``if`` reads its
register) does not split anything; its bit is read from the final sample of its qubit. So a
circuit measured at the end costs one simulation, and a program whose every measurement is
terminal (no reset, no ``if``) runs on the circuit engine itself
(:func:`ionstack.quantum.simulate.run`, identical results to an ``ionq.circuit.v1`` job).

**Noise** (a non-ideal :class:`~ionstack.quantum.noise.NoiseModel`): the program is compiled to
the model's native gates (:func:`~ionstack.quantum.program_native.compile_program`, ``if``
bodies included) and depolarizing errors follow every native gate, drawn for all shots at once
(:func:`ionstack.quantum.engines.trajectories.draw_patterns`, semantics.md §4). Shots with the
same error pattern form one group, which then branches on outcomes as above; patterns whose first
error comes late start from ideal checkpoints. Under an emulated QPU's
:class:`~ionstack.quantum.device.DeviceModel` the gates are the device's (2q over-rotation per
physical pair) and idle windows are noise locations of their own
(:mod:`ionstack.quantum.dynamic_device`: durations, reset and feed-forward semantics).

**Readout error**: each recorded mid-circuit bit is misread with ``p01`` (a 0) or ``p10`` (a 1)
(:func:`readout_errors`: a device model's pair; a model defining ``readout_error`` — the hook
:func:`readout_error` — both ways; the published models have none), and the group splits on the
*recorded* bit: ``if`` conditions read it, as on hardware. The final readout of every qubit
(``output_all``) is misread the same way once, and the deferred measurements' bits are read
from it (one terminal readout, as in a circuit job). A static program runs as a circuit job of
the declared width, with the circuit path's readout error.

**Reproducibility**: every draw comes from PCG64 streams hashed from the seed
(:func:`ionstack.quantum.sampling.derive_rng`) in a fixed order; the same program, shots, model
and seed give the same bits.

**Results**: :class:`ShotsResult` — the program's ``bit`` registers, then ``output_all`` (the
final measurement of every qubit, qubit ``i`` = bit ``i``), one row of bits per shot in execution
order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ionstack.quantum import budget, memory, sampling
from ionstack.quantum import gates as G
from ionstack.quantum.device import DeviceModel, apply_readout_bits
from ionstack.quantum.dynamic_code import (
    Branch,
    Code,
    Jump,
    Measuring,
    Resetting,
    Segment,
    Step,
    flatten,
)
from ionstack.quantum.engines import Op as EngineOp
from ionstack.quantum.engines import qsim, statevector
from ionstack.quantum.engines.trajectories import Pattern, draw_patterns
from ionstack.quantum.noise import NoiseModel
from ionstack.quantum.program import OUTPUT_ALL, Measure, Program
from ionstack.quantum.program_native import compile_program
from ionstack.quantum.simulate import run

#: Widest program simulated with numpy complex128 (qsim complex64 above).
NUMPY_MAX_QUBITS = 10
#: Narrower programs run each group's gates on one thread (qsim).
THREADED_MIN_QUBITS = 22
#: Memory for ideal checkpoints of the noisy path (patterns whose first error comes late).
CHECKPOINT_BYTES = 64 << 20
#: Most checkpoints kept in the leading gate run.
MAX_CHECKPOINTS = 16
#: Probabilities this close to 0 or 1 are taken as exact (no branch on float noise).
EPS = 1e-12

State = npt.NDArray[np.complexfloating[Any, Any]]
_PAULI = (G.I2, G.PAULI_X, G.PAULI_Y, G.PAULI_Z)


@dataclass(frozen=True, slots=True)
class ShotsResult:
    """Per-shot classical results of a dynamic program.

    Attributes:
        registers: ``(name, width)``: the program's registers in declaration order, then
            ``("output_all", qubits)``, always last (the parser reserves the name).
        bits: ``uint8`` array ``(shots, Σ widths)``; register ``r``'s bit ``i`` is column
            ``offset(r) + i`` (registers in the order above); rows in execution order.
            ``output_all`` bit ``i`` is qubit ``i`` (idle qubits read 0).
        method: ``statevector``/``trajectories`` (static programs, the circuit engine's),
            ``dynamic`` or ``dynamic-trajectories`` (noisy).
        engine: ``numpy-complex128``, ``qsim-complex64`` or ``stim``.
    """

    registers: tuple[tuple[str, int], ...]
    bits: npt.NDArray[np.uint8]
    method: str
    engine: str

    @property
    def shots(self) -> int:
        return int(self.bits.shape[0])

    def by_register(self) -> dict[str, npt.NDArray[np.uint8]]:
        """Name → ``(shots, width)`` view; column ``i`` is the register's bit ``i``."""
        out: dict[str, npt.NDArray[np.uint8]] = {}
        offset = 0
        for name, width in self.registers:
            out[name] = self.bits[:, offset : offset + width]
            offset += width
        return out

    def values(self, name: str) -> npt.NDArray[np.int64]:
        """Each shot's register ``name`` read as ``Σ bit_i·2^i`` (registers up to 63 bits)."""
        cols = self.by_register()[name].astype(np.int64)
        weights = np.left_shift(np.int64(1), np.arange(cols.shape[1], dtype=np.int64))
        out: npt.NDArray[np.int64] = cols @ weights
        return out


def readout_error(noise: NoiseModel | None) -> float:
    """The model's measurement error (probability that a read bit is flipped), 0 if none."""
    return float(getattr(noise, "readout_error", 0.0) or 0.0) if noise is not None else 0.0


def readout_errors(noise: NoiseModel | None) -> tuple[float, float]:
    """``(p01, p10)``: P(read 1 | 0) and P(read 0 | 1). A device model's asymmetric pair;
    otherwise :func:`readout_error` both ways."""
    if isinstance(noise, DeviceModel):
        return noise.readout_p01, noise.readout_p10
    p = readout_error(noise)
    return p, p


def output_registers(program: Program) -> tuple[tuple[str, int], ...]:
    """The program's registers, then ``("output_all", qubits)``.

    Raises:
        ValueError: the program declares ``output_all`` itself (the parser refuses that).
    """
    if any(name == OUTPUT_ALL for name, _ in program.registers):
        raise ValueError("the register name 'output_all' is reserved")
    return (*program.registers, (OUTPUT_ALL, program.qubits))


def _noop() -> None:
    return None


# --------------------------------------------------------------------------- static programs


def registers_from_outcomes(
    program: Program, outcomes: npt.NDArray[np.int64] | Sequence[int]
) -> npt.NDArray[np.uint8]:
    """Bits of a program whose measurements are all terminal, from each shot's final
    little-endian outcome over all qubits: ``register[bit]`` = the outcome bit of the qubit
    last measured into it (0 if never measured); ``output_all`` = the outcome's bits."""
    registers = output_registers(program)
    total = sum(w for _, w in registers)
    values = np.asarray(outcomes, dtype=object if program.qubits > 62 else np.int64)
    shots = values.shape[0]
    qubit_bits = np.zeros((shots, program.qubits), dtype=np.uint8)
    for q in range(program.qubits):
        qubit_bits[:, q] = ((values >> q) & 1).astype(np.uint8)
    bits = np.zeros((shots, total), dtype=np.uint8)
    offsets = program.offsets()
    for op in program.ops:
        if isinstance(op, Measure) and op.register is not None:
            bits[:, offsets[op.register][0] + op.bit] = qubit_bits[:, op.qubit]
    bits[:, total - program.qubits :] = qubit_bits
    return bits


def _run_static(
    program: Program,
    *,
    shots: int,
    noise: NoiseModel | None,
    seed: int,
    threads: int,
    memory_limit_bytes: int | None,
    check: Callable[[], None],
) -> ShotsResult:
    circuit = program.static_circuit()
    assert circuit is not None
    device = isinstance(noise, DeviceModel)
    # idle qubits (input.qubits beyond the ones used) are not simulated: they read 0 (under a
    # device model, as a circuit job of the same width: with its readout error, which ``run``
    # applies to every declared qubit)
    result = run(
        circuit if device else dataclasses.replace(circuit, qubits=program.active_qubits()),
        shots=shots,
        noise=noise,
        seed=seed,
        threads=threads,
        memory_limit_bytes=memory_limit_bytes,
        check=check,
    )
    assert result.samples is not None
    bits = registers_from_outcomes(program, result.samples)
    p = 0.0 if device else readout_error(noise)
    if p > 0:
        bits ^= (sampling.derive_rng(seed, "readout").random(bits.shape) < p).astype(np.uint8)
    return ShotsResult(
        registers=output_registers(program), bits=bits, method=result.method, engine=result.engine
    )


# --------------------------------------------------------------------------- engine


class _Engine:
    """Applies runs of gates to states: numpy complex128 (narrow) or qsim complex64."""

    def __init__(self, n: int, threads: int) -> None:
        self.n = n
        self.numpy = n <= NUMPY_MAX_QUBITS
        # many short calls: one thread below THREADED_MIN_QUBITS (OpenMP's start-up per call
        # dominates there, and two threads on busy cores collapse: bench/README.md (b))
        self.threads = threads if n >= THREADED_MIN_QUBITS else 1
        self.name = "numpy-complex128" if self.numpy else "qsim-complex64"
        self.state_bytes = (16 if self.numpy else 8) * 2.0**n

    def zero(self) -> State:
        psi: State = np.zeros(1 << self.n, dtype=np.complex128 if self.numpy else np.complex64)
        psi[0] = 1.0
        return psi

    def apply(self, psi: State, ops: Sequence[EngineOp]) -> State:
        """A new state: ``ops`` applied to ``psi`` (which is left unchanged)."""
        if not ops:
            return psi.copy()
        out: State
        if self.numpy:
            out = statevector.simulate(self.n, ops, initial=psi)  # type: ignore[arg-type]
        else:
            out = qsim.simulate(self.n, ops, threads=self.threads, initial=psi)
        return out

    def halves(self, psi: State, q: int) -> npt.NDArray[Any]:
        return psi.reshape(1 << (self.n - 1 - q), 2, 1 << q)

    def p_one(self, psi: State, q: int) -> float:
        """Probability of measuring 1 on ``q``: ``|half 1|² / |ψ|²``, squares summed in float64
        (numpy's pairwise sums: the same bits in every process)."""
        halves = self.halves(psi, q)
        real = np.float64 if self.numpy else np.float32
        parts = []
        for h in (halves[:, 0, :], halves[:, 1, :]):
            flat: npt.NDArray[np.floating[Any]] = np.ascontiguousarray(h).view(real)
            parts.append(float(np.sum(flat * flat, dtype=np.float64)))
        zero, one = parts
        total = zero + one
        return min(1.0, max(0.0, one / total)) if total > 0 else 0.0

    def collapse(self, psi: State, q: int, outcome: int, p: float, *, to_zero: bool) -> None:
        """In place: keep the ``outcome`` half, renormalise; ``to_zero`` moves it to ``|0⟩``."""
        v = self.halves(psi, q)
        v[:, 1 - outcome, :] = 0
        if to_zero and outcome == 1:
            v[:, 0, :] = v[:, 1, :]
            v[:, 1, :] = 0
        psi *= psi.dtype.type(1.0 / np.sqrt(p))


# --------------------------------------------------------------------------- groups


@dataclass(slots=True)
class _Group:
    pc: int
    state: State
    owned: bool
    record: int
    shots: npt.NDArray[np.int64]
    pending: list[EngineOp] = field(default_factory=list)


class _Runner:
    """Depth-first branching of one error pattern's shots (see the module docstring)."""

    def __init__(
        self,
        code: Code,
        engine: _Engine,
        rng: np.random.Generator,
        out: npt.NDArray[np.uint8],
        layout: _Layout,
        readout: tuple[float, float],
        check: Callable[[], None],
    ) -> None:
        self.code, self.engine, self.rng, self.out = code, engine, rng, out
        self.layout, self.check = layout, check
        self.p01, self.p10 = readout
        self.readout = self.p01 > 0 or self.p10 > 0

    def run(self, start: _Group, pattern: Pattern) -> None:
        stack, errors = [start], dict(pattern)
        while stack:
            group = stack.pop()
            stack.extend(reversed(self._advance(group, pattern, errors)))
            self.check()

    def _advance(self, g: _Group, pattern: Pattern, errors: dict[int, int]) -> list[_Group]:
        """Run ``g`` to its next split (returns the other branches) or to the end."""
        code, segments = self.code.steps, self.code.segments
        ops, g.pending = g.pending, []
        pc = g.pc
        while True:
            if pc >= len(code):
                self._finish(g, self.engine.apply(g.state, ops) if ops else g.state)
                return []
            step = code[pc]
            segment = segments.get(pc)
            if segment is not None and segment.fused is not None:
                ops.extend(segment.fused.ops(0, segment.local(pattern)))
                pc = segment.end
            elif isinstance(step, Step):
                ops.append(step.op)
                pauli = errors.get(step.loc) if errors else None
                if pauli is not None:
                    ops.append(_error_op(step.op[0], pauli))
                pc += 1
            elif isinstance(step, Branch):
                pc = pc + 1 if step.holds(g.record) else step.target
            elif isinstance(step, Jump):
                pc = step.target
            else:
                if ops:
                    g.state, g.owned, ops = self.engine.apply(g.state, ops), True, []
                g.pc = pc + 1
                rest = self._split(g, step)
                if rest is None:
                    pc = g.pc
                    continue
                return rest

    def _split(self, g: _Group, step: Measuring | Resetting) -> list[_Group] | None:
        """Draw the outcomes; ``g`` continues with the first branch, the others are returned
        (``None``: nothing split, ``g`` continues)."""
        q = step.qubit
        p1 = self.engine.p_one(g.state, q)
        p1 = 0.0 if p1 < EPS else (1.0 if p1 > 1 - EPS else p1)
        ones = self.rng.random(g.shots.size) < p1
        record_bit = isinstance(step, Measuring) and step.clbit >= 0
        flips = None
        if record_bit and self.readout:  # the recorded bit, misread or not, steers the ifs
            u = self.rng.random(g.shots.size)
            flips = np.where(ones, u < self.p10, u < self.p01)
        keys = ones.astype(np.int8) * 2 + (flips.astype(np.int8) if flips is not None else 0)
        present = np.flatnonzero(np.bincount(keys, minlength=4)).tolist()
        reset = isinstance(step, Resetting)
        branches: list[_Group] = []
        for i, key in enumerate(present):
            outcome, flipped = key >> 1, key & 1
            members = g.shots[keys == key]
            last = i == len(present) - 1
            p = p1 if outcome else 1.0 - p1
            if p not in (0.0, 1.0) or (reset and outcome == 1):
                state = g.state if last and g.owned else g.state.copy()
                self.engine.collapse(state, q, outcome, p, to_zero=reset)
                owned = True
            else:  # nothing to collapse
                state, owned = g.state, g.owned and last
            record = g.record
            if record_bit:
                assert isinstance(step, Measuring)
                bit = outcome ^ flipped
                record = (record & ~(1 << step.clbit)) | (bit << step.clbit)
            branches.append(_Group(g.pc, state, owned, record, members))
        first, rest = branches[0], branches[1:]
        if not rest and first.state is g.state:
            g.record = first.record
            return None
        g.state, g.owned, g.record, g.shots = first.state, first.owned, first.record, first.shots
        return [g, *rest]

    def _finish(self, g: _Group, psi: State) -> None:
        """Sample the group's final measurement of every qubit; write its rows."""
        layout, rows = self.layout, g.shots
        k = rows.size
        outcomes, _ = sampling.sample(sampling.Distribution(state=psi), k, self.rng)
        n = self.engine.n
        qubit_bits = ((outcomes[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(np.uint8)
        block = np.zeros((k, self.out.shape[1]), dtype=np.uint8)
        if layout.clbits:
            record = [(g.record >> j) & 1 for j in range(layout.clbits)]
            block[:, : layout.clbits] = np.array(record, dtype=np.uint8)
        out = block[:, layout.output : layout.output + layout.width]
        out[:, :n] = qubit_bits
        if self.readout:  # one final readout of every qubit (deferred measurements are part of it)
            read = apply_readout_bits(out.astype(bool), self.p01, self.p10, self.rng)
            out[:] = read.astype(np.uint8)
        for clbit, q in layout.deferred:
            block[:, clbit] = out[:, q]
        self.out[rows] = block


def _error_op(targets: tuple[int, ...], pauli: int) -> EngineOp:
    if len(targets) == 1:
        return targets, (), _PAULI[pauli]
    m = np.asarray(np.kron(_PAULI[pauli // 4], _PAULI[pauli % 4]), dtype=np.complex128)
    return targets, (), m


@dataclass(frozen=True, slots=True)
class _Layout:
    clbits: int
    deferred: tuple[tuple[int, int], ...]  # (clbit, qubit), program order
    output: int  # first column of output_all
    width: int  # output_all width


# --------------------------------------------------------------------------- public


def run_program(
    program: Program,
    *,
    shots: int,
    noise: NoiseModel | None,
    seed: int,
    threads: int = 0,
    memory_limit_bytes: int | None = None,
    check: Callable[[], None] | None = None,
) -> ShotsResult:
    """Run ``shots`` shots of ``program`` (the module docstring has the method).

    Args:
        program: A parsed program (:func:`ionstack.quantum.qasm3.parse_program`).
        shots: Number of shots (≥ 1). The ideal simulator samples too.
        noise: ``None``/ideal, or a depolarizing model (compiled to its native gates).
        seed: Seed of every random draw.
        threads: Engine threads (0: all cores).
        memory_limit_bytes: As :func:`ionstack.quantum.simulate.run` (``None``: ¾ of RAM).
        check: Called between units of work (groups, patterns); raise to cancel.

    Returns:
        The :class:`ShotsResult`.

    Raises:
        JobFailure: ``SimulationError`` when even the shot-by-shot path would not fit in
            memory; ``UnsupportedGate``/``CompilationError`` from the compiler.
        ValueError: ``shots`` < 1.
    """
    if isinstance(shots, bool) or shots < 1:
        raise ValueError(f"shots must be ≥ 1, got {shots!r}")
    check = check or _noop
    threads = threads or memory.cores()
    noisy = noise is not None and not noise.is_ideal
    check()
    if program.static_circuit() is not None:
        return _run_static(
            program,
            shots=shots,
            noise=noise,
            seed=seed,
            threads=threads,
            memory_limit_bytes=memory_limit_bytes,
            check=check,
        )
    if noisy:
        assert noise is not None
        program = compile_program(program, family=noise.native_2q or "ms", drop_final_z=True)
    device = noise if isinstance(noise, DeviceModel) and noisy else None
    code = flatten(program, fuse=noisy, device=device)
    n = program.active_qubits()
    engine = _Engine(n, threads)
    registers = output_registers(program)
    total = sum(w for _, w in registers)
    layout = _Layout(
        clbits=code.clbits,
        deferred=code.deferred,
        output=total - program.qubits,
        width=program.qubits,
    )
    limit = memory_limit_bytes if memory_limit_bytes is not None else memory.LazyLimit()
    readout = readout_errors(noise)
    per_shot, checkpoints, peak = _plan(
        code, engine, shots, total, limit, n, noisy, max(readout) > 0
    )
    memory.tune_allocator()
    out = np.zeros((shots, total), dtype=np.uint8)
    rng = sampling.derive_rng(seed, "dynamic", "outcomes")
    runner = _Runner(code, engine, rng, out, layout, readout, check)
    if noisy and code.noise is not None:  # a device model's locations
        probs = np.array([p for p, _, _ in code.noise], dtype=np.float64)
        kinds = np.array([k for _, k, _ in code.noise], dtype=np.int64)
        fixed = np.array([f for _, _, f in code.noise], dtype=np.int64)
        patterns, group = draw_patterns(
            probs, kinds, shots, sampling.derive_rng(seed, "dynamic", "patterns"), fixed
        )
    elif noisy:
        assert noise is not None
        probs = np.array([noise.error_probability(a) for a in code.arities], dtype=np.float64)
        kinds = np.array([3 if a == 1 else 15 for a in code.arities], dtype=np.int64)
        patterns, group = draw_patterns(
            probs, kinds, shots, sampling.derive_rng(seed, "dynamic", "patterns")
        )
    else:
        patterns, group = [()], np.zeros(shots, dtype=np.int64)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(patterns) + 1))
    with budget.reserve(peak, check=check):  # the host's, shared by its workers
        starts = _Checkpoints(code, engine, checkpoints, check)
        for i, pattern in enumerate(patterns):
            members = order[bounds[i] : bounds[i + 1]]
            pc, state, ops = starts.start(pattern)
            chunks = [members[j : j + 1] for j in range(members.size)] if per_shot else [members]
            for chunk in chunks:
                runner.run(_Group(pc, state, False, 0, chunk, list(ops)), pattern)
    return ShotsResult(
        registers=registers,
        bits=out,
        method="dynamic-trajectories" if noisy else "dynamic",
        engine=engine.name,
    )


class _Checkpoints:
    """Ideal states inside the leading gate segment (the part every shot shares), at block
    boundaries of its fused form: a pattern starts from the last one before its first error
    in the segment, with the rest of the segment (errors folded in) as pending ops; a pattern
    without errors there starts from the segment's end."""

    def __init__(self, code: Code, engine: _Engine, count: int, check: Callable[[], None]) -> None:
        self.zero = engine.zero()
        self.segment = code.segments.get(0)
        self.blocks: list[int] = []
        self.states: list[State] = []
        self.end_state = self.zero
        seg = self.segment
        if seg is None:
            return
        if seg.fused is None:  # a gate on ≥ 3 qubits (ideal only): no errors to start from
            self.end_state = engine.apply(self.zero, [s.op for s in _steps(code, seg)])
            return
        nblocks = len(seg.fused.blocks)
        stride = -(-nblocks // (count + 1)) if count > 0 else nblocks + 1
        psi, done = self.zero, 0
        for pos in [*range(stride, nblocks, stride), nblocks]:
            ops = seg.fused.ops(done, (), pos)
            psi = engine.apply(psi, ops) if ops else psi
            done = pos
            self.blocks.append(pos)
            self.states.append(psi)
            check()
        self.end_state = self.states.pop()
        self.blocks.pop()

    def start(self, pattern: Pattern) -> tuple[int, State, list[EngineOp]]:
        """``(pc, state, pending ops)`` for a pattern's first group."""
        seg = self.segment
        if seg is None:
            return 0, self.zero, []
        local = seg.local(pattern)
        if not local or seg.fused is None:
            return seg.end, self.end_state, []
        first = seg.fused.first_block(local)
        block, psi = 0, self.zero
        for pos, state in zip(self.blocks, self.states, strict=True):
            if pos <= first:
                block, psi = pos, state
        return seg.end, psi, seg.fused.ops(block, local)


def _steps(code: Code, seg: Segment) -> list[Step]:
    return [s for s in code.steps[seg.start : seg.end] if isinstance(s, Step)]


def _plan(
    code: Code,
    engine: _Engine,
    shots: int,
    total: int,
    limit: int,
    n: int,
    noisy: bool,
    readout: bool,
) -> tuple[bool, int, float]:
    """Checkpoints, the shot-by-shot fallback and the peak from the memory estimate; then the
    guard (the caller reserves the peak in the host's budget).

    Branching keeps the working state, a copy, the engine's temporaries, the pending
    siblings (at most one per split on the path, and never more than ``shots − 1``) and the
    checkpoints. When that exceeds the limit, shots run one at a time (a group of one never
    splits): the shared prefix and the working state only.
    """
    state = engine.state_bytes
    pending = min(shots - 1, code.splits * (3 if readout else 1))
    fixed = (
        memory.BASE_BYTES
        + memory.sampling_bytes(2.0**engine.n, shots, 1)
        + shots * (total + 40)
        + len(code.steps) * memory.GATE_BYTES
    )
    work = 3 * state
    tree = fixed + work + (pending + 2) * state
    lim: float
    if isinstance(limit, memory.LazyLimit):
        lim = float("inf") if tree < memory.SMALL_BYTES else float(memory.available_memory())
    else:
        lim = float(limit)
    checkpoints = 0
    if noisy:
        budget = min(float(CHECKPOINT_BYTES), lim - tree)
        checkpoints = max(0, min(MAX_CHECKPOINTS, int(budget // state))) if budget > 0 else 0
    peak = tree + checkpoints * state
    per_shot = peak > lim
    if per_shot:
        peak = fixed + work + 2 * state
    fp = memory.Footprint(
        method="dynamic", engine=engine.name, state=state, peak=peak, what="dynamic simulation"
    )
    memory.guard(fp, limit, n)
    return per_shot, checkpoints, peak

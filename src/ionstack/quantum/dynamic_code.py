"""A dynamic program flattened to straight-line steps with jumps (the simulator's input).

:func:`flatten` turns the nested :class:`~ionstack.quantum.program.Program` into a list of
steps — a gate (an engine op with its noise location), a measurement, a reset, a conditional
jump (``if``), a jump (the end of a ``then`` body) — and finds the *deferred* measurements:
top-level measurements that no later op depends on, whose bits are read from the final sample
instead of splitting the shots (:mod:`ionstack.quantum.dynamic`).

With a QPU's device model (``flatten(..., device=model)``, a native program), the gates are
emitted as the device runs them and the idle channels are emitted as identity steps with their
own noise locations (:class:`ionstack.quantum.dynamic_device.Timeline`); ``Code.noise`` then
holds each location's error probability, number of Paulis and fixed Pauli.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from ionstack.quantum import gates as G
from ionstack.quantum.circuit import Gate
from ionstack.quantum.device import DeviceModel, Location
from ionstack.quantum.dynamic_device import Timeline
from ionstack.quantum.engines import Op as EngineOp
from ionstack.quantum.engines.trajectories import Pattern
from ionstack.quantum.engines.trajectories import Program as Fused
from ionstack.quantum.program import (
    Combined,
    If,
    Measure,
    Op,
    Predicate,
    Program,
    Reset,
    conditions,
    walk,
)


@dataclass(frozen=True, slots=True)
class Step:
    """Apply a gate; ``loc`` numbers the gates in step order (noise locations)."""

    op: EngineOp
    loc: int


@dataclass(frozen=True, slots=True)
class Measuring:
    """Measure ``qubit`` into classical bit ``clbit`` of the flat record (−1: discarded)."""

    qubit: int
    clbit: int


@dataclass(frozen=True, slots=True)
class Resetting:
    qubit: int


@dataclass(slots=True)
class Branch:
    """Go on if ``test(record)`` (the ``if`` condition on the flat record), else jump to
    ``target``."""

    test: Callable[[int], bool]
    target: int = -1

    def holds(self, record: int) -> bool:
        return self.test(record)


def _test(p: Predicate, offsets: dict[str, tuple[int, int]]) -> Callable[[int], bool]:
    if isinstance(p, Combined):
        left, right = _test(p.left, offsets), _test(p.right, offsets)
        if p.op == "and":
            return lambda r: left(r) and right(r)
        return lambda r: left(r) or right(r)
    offset, width = offsets[p.register]
    value, equal = p.value, p.equal
    if p.bit is not None:
        shift = offset + p.bit
        return lambda r: (((r >> shift) & 1) == value) == equal
    mask = (1 << width) - 1
    return lambda r: (((r >> offset) & mask) == value) == equal


@dataclass(slots=True)
class Jump:
    target: int = -1


Instruction: TypeAlias = Step | Measuring | Resetting | Branch | Jump


@dataclass(frozen=True, slots=True)
class Segment:
    """A maximal run of gate steps ``[start, end)`` that groups enter only at its start (no
    jump lands inside), fused once into ≤ 2-qubit blocks (``fused``; ``None`` when a gate is
    wider) so a group applies it as a few block ops, its errors folded into the blocks
    (:class:`ionstack.quantum.engines.trajectories.Program`)."""

    start: int
    end: int
    loc0: int
    loc1: int
    fused: Fused | None

    def local(self, pattern: Pattern) -> Pattern:
        """The pattern's errors inside this segment, renumbered from its first gate."""
        return tuple((loc - self.loc0, p) for loc, p in pattern if self.loc0 <= loc < self.loc1)


@dataclass(slots=True)
class Code:
    """The flattened program.

    Attributes:
        steps: The instructions.
        clbits: Bits of the classical record (the program's registers, declaration order).
        deferred: ``(clbit, qubit)`` of the deferred measurements, program order.
        arities: Per noise location (gate step), its number of qubits.
        lead: Index of the first step that is not a gate (the shared prefix ends there).
        splits: Measurement and reset steps (each may split a group).
        segments: Start index → :class:`Segment`.
        noise: With a device model, per noise location ``(probability, kind, pauli)`` as
            :class:`~ionstack.quantum.device.Location` (``None``: the model's
            ``error_probability`` of each arity).
    """

    steps: list[Instruction] = field(default_factory=list)
    clbits: int = 0
    deferred: tuple[tuple[int, int], ...] = ()
    arities: list[int] = field(default_factory=list)
    lead: int = 0
    splits: int = 0
    segments: dict[int, Segment] = field(default_factory=dict)
    noise: list[tuple[float, int, int]] | None = None


def _qubits(op: Op) -> set[int]:
    out: set[int] = set()
    for inner in walk((op,)):
        if isinstance(inner, Gate):
            out.update(inner.qubits)
        elif isinstance(inner, Measure | Reset):
            out.add(inner.qubit)
    return out


def deferred_measures(ops: tuple[Op, ...]) -> set[int]:
    """Indices of the top-level measurements nothing later depends on: no later gate, reset
    or ``if`` body acts on the qubit (a later deferred measurement of it is fine), no later
    ``if`` reads the register, no later non-deferred measurement writes the same bit."""
    touched: set[int] = set()
    read: set[str] = set()
    written: set[tuple[str, int]] = set()
    out: set[int] = set()
    for i in range(len(ops) - 1, -1, -1):
        op = ops[i]
        if isinstance(op, Measure):
            key = (op.register or "", op.bit)
            if op.qubit not in touched and op.register not in read and key not in written:
                out.add(i)
            else:
                touched.add(op.qubit)
                written.add(key)
        elif isinstance(op, If):
            touched |= _qubits(op)
            for inner in walk((op,)):
                if isinstance(inner, If):
                    read.update(c.register for c in conditions(inner.condition))
                elif isinstance(inner, Measure):
                    written.add((inner.register or "", inner.bit))
        else:
            touched |= _qubits(op)
    return out


class _Flattener:
    def __init__(self, program: Program, device: DeviceModel | None) -> None:
        self.program = program
        self.offsets = program.offsets()
        self.code = Code(clbits=sum(w for _, w in program.registers))
        self.timeline = None if device is None else Timeline(device, program.active_qubits())
        if device is not None:
            self.code.noise = []

    def located(self, locs: list[Location]) -> None:
        """Emit a device model's locations (gates as the device runs them, idle channels)."""
        code = self.code
        assert code.noise is not None
        for loc in locs:
            code.steps.append(Step((loc.qubits, (), loc.matrix), len(code.arities)))
            code.arities.append(len(loc.qubits))
            code.noise.append((loc.prob, loc.kind, loc.pauli))

    def clbit(self, m: Measure) -> int:
        return -1 if m.register is None else self.offsets[m.register][0] + m.bit

    def emit(self, ops: tuple[Op, ...], deferred: set[int] | None) -> None:
        code = self.code
        for i, op in enumerate(ops):
            timeline = self.timeline
            if isinstance(op, Gate):
                if timeline is not None:
                    self.located(timeline.gate(op))
                    continue
                if op.name == "nop":
                    continue
                matrix = G.base_matrix(op, self.program.gateset)
                code.steps.append(Step((op.targets, op.controls, matrix), len(code.arities)))
                code.arities.append(len(op.qubits))
            elif isinstance(op, Measure):
                if deferred is not None and i in deferred:
                    if op.register is not None:
                        code.deferred = (*code.deferred, (self.clbit(op), op.qubit))
                    continue
                if timeline is not None:
                    self.located(timeline.measure(op.qubit))
                code.steps.append(Measuring(op.qubit, self.clbit(op)))
                code.splits += 1
            elif isinstance(op, Reset):
                if timeline is not None:
                    timeline.reset(op.qubit)
                code.steps.append(Resetting(op.qubit))
                code.splits += 1
            else:
                self.branch(op)

    def branch(self, op: If) -> None:
        code, timeline = self.code, self.timeline
        at_fork: list[bool] = []
        if timeline is not None:  # the time spent depends on the path: nothing pending
            shared, at_fork = timeline.fork()
            self.located(shared)
        branch = Branch(_test(op.condition, self.offsets))
        code.steps.append(branch)
        self.emit(op.then, None)
        paths = []
        if timeline is not None:
            own, started = timeline.end_path(at_fork)
            self.located(own)
            paths.append(started)
        if op.orelse:
            jump = Jump()
            code.steps.append(jump)
            branch.target = len(code.steps)
            self.emit(op.orelse, None)
            if timeline is not None:
                own, started = timeline.end_path(at_fork)
                self.located(own)
                paths.append(started)
            jump.target = len(code.steps)
        else:
            branch.target = len(code.steps)
            paths.append(at_fork)
        if timeline is not None:
            timeline.join(*paths)


def flatten(program: Program, *, fuse: bool = True, device: DeviceModel | None = None) -> Code:
    """The program as steps (see the module docstring); ``fuse=False`` leaves the segments
    unfused (few groups to run: the engine's own fusion is cheaper than building blocks).
    ``device``: a QPU's device model, for a program compiled to its native gates."""
    f = _Flattener(program, device)
    f.emit(program.ops, deferred_measures(program.ops))
    if f.timeline is not None:  # the trailing windows, up to the simultaneous final readout
        f.located(f.timeline.flush_all())
    code = f.code
    code.lead = next(
        (i for i, s in enumerate(code.steps) if not isinstance(s, Step)), len(code.steps)
    )
    code.segments = _segments(program.qubits, code.steps, fuse=fuse)
    return code


def _segments(n: int, steps: list[Instruction], *, fuse: bool) -> dict[int, Segment]:
    targets = {s.target for s in steps if isinstance(s, Branch | Jump)}
    out: dict[int, Segment] = {}
    pc = 0
    while pc < len(steps):
        first = steps[pc]
        if not isinstance(first, Step):
            pc += 1
            continue
        end = pc + 1
        while end < len(steps) and isinstance(steps[end], Step) and end not in targets:
            end += 1
        run = [s for s in steps[pc:end] if isinstance(s, Step)]
        fused = None
        if fuse and all(len(s.op[0]) + len(s.op[1]) <= 2 for s in run):
            gates = [
                (c + t, G.controlled(m, len(c)) if c else m) for t, c, m in (s.op for s in run)
            ]
            fused = Fused.from_gates(n, gates)
        out[pc] = Segment(pc, end, run[0].loc, run[-1].loc + 1, fused)
        pc = end
    return out

"""Dynamic programs compiled to IonQ native gates, and written as OpenQASM 3 (issue 15).

:func:`compile_program` compiles every maximal run of gates (at the top level and inside each
``if``/``else`` body) with :func:`ionstack.quantum.compile.compile_native`, keeping measure,
reset and ``if`` in place. Each run is exact up to a global phase, which no outcome can see:
branches of a dynamic program never interfere. ``drop_final_z`` drops only the final Z
rotations of the last top-level run when nothing but measurements follows it (as the noisy
circuit path does: they do not change outcomes).

:func:`compile_to_native_qasm3` writes the compiled program as OpenQASM 3 for
``output.compilation.compiled_circuits["ionq.qasm3.v1"]`` and ``GET /jobs/{id}/circuits/qasm3``:
IonQ's native gate names with parameters **in turns** (1 turn = 2π rad; semantics.md §1.2,
§5.9) — ``gpi(φ)``, ``gpi2(φ)``, ``ms(φ0, φ1, θ)``, ``zz(θ)`` — used as the standard library
extension IonQ's tools read (no ``gate`` definitions: their matrices are in semantics.md §1.2),
one qubit register ``q`` of the job's width and the program's ``bit`` registers (the implicit
final measurement of every qubit into ``output_all`` is a comment: the name is reserved, and the
text stays a valid ``ionq.qasm3.v1`` input).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ionstack.quantum.circuit import Circuit, Gate
from ionstack.quantum.compile import Family, _num, compile_native
from ionstack.quantum.program import Combined, If, Measure, Op, Predicate, Program, Reset


def _compile_ops(
    ops: Sequence[Op], program: Program, family: Family, *, top: bool, drop_final_z: bool
) -> tuple[Op, ...]:
    out: list[Op] = []
    run: list[Gate] = []

    def flush(final: bool) -> None:
        if not run:
            return
        circuit = Circuit(qubits=program.qubits, gateset=program.gateset, gates=tuple(run))
        native = compile_native(circuit, family=family, drop_final_z=final)
        out.extend(g for g in native.gates if g.name != "nop")
        run.clear()

    for i, op in enumerate(ops):
        if isinstance(op, Gate):
            run.append(op)
            continue
        final = top and drop_final_z and all(isinstance(o, Measure) for o in ops[i:])
        flush(final)
        if isinstance(op, If):
            out.append(
                If(
                    op.condition,
                    _compile_ops(op.then, program, family, top=False, drop_final_z=False),
                    _compile_ops(op.orelse, program, family, top=False, drop_final_z=False),
                )
            )
        else:
            out.append(op)
    flush(top and drop_final_z)
    return tuple(out)


def compile_program(program: Program, *, family: Family, drop_final_z: bool = False) -> Program:
    """The program with its gates compiled to native gates of ``family`` (``"ms"``: gpi, gpi2,
    ms; ``"zz"``: gpi, gpi2, zz); measure, reset and ``if`` kept in place.

    Raises:
        JobFailure: ``UnsupportedGate`` (native input of the other family), ``CompilationError``.
    """
    ops = _compile_ops(program.ops, program, family, top=True, drop_final_z=drop_final_z)
    return Program(
        qubits=program.qubits,
        registers=program.registers,
        ops=ops,
        gateset="native",
        declared_qubits=program.declared_qubits,
    )


def _gate_line(g: Gate, q: str) -> str:
    qs = ", ".join(f"{q}[{i}]" for i in g.targets)
    if g.name in ("gpi", "gpi2"):
        return f"{g.name}({_num(g.phase)}) {qs};"
    if g.name == "ms":
        p0, p1 = g.phases or (0.0, 0.0)
        return f"ms({_num(p0)}, {_num(p1)}, {_num(0.25 if g.angle is None else g.angle)}) {qs};"
    return f"zz({_num(g.angle)}) {qs};"


def _condition(c: Predicate) -> str:
    if isinstance(c, Combined):
        op = "&&" if c.op == "and" else "||"
        return f"({_condition(c.left)} {op} {_condition(c.right)})"
    target = c.register if c.bit is None else f"{c.register}[{c.bit}]"
    return f"{target} {'==' if c.equal else '!='} {c.value}"


def _lines(ops: Sequence[Op], q: str, indent: str) -> Iterator[str]:
    for op in ops:
        if isinstance(op, Gate):
            yield indent + _gate_line(op, q)
        elif isinstance(op, Measure):
            target = f"{op.register}[{op.bit}] = " if op.register is not None else ""
            yield f"{indent}{target}measure {q}[{op.qubit}];"
        elif isinstance(op, Reset):
            yield f"{indent}reset {q}[{op.qubit}];"
        else:
            cond = _condition(op.condition)
            cond = cond[1:-1] if isinstance(op.condition, Combined) else cond
            yield f"{indent}if ({cond}) {{"
            yield from _lines(op.then, q, indent + "  ")
            if op.orelse:
                yield f"{indent}}} else {{"
                yield from _lines(op.orelse, q, indent + "  ")
            yield f"{indent}}}"


def native_qasm3(program: Program) -> str:
    """OpenQASM 3 text of a native program (see the module docstring)."""
    if program.gateset != "native":
        raise ValueError("native_qasm3 needs a native program; call compile_program first")
    names = {name for name, _ in program.registers}
    q = next(n for n in ("q", "qubits", "_q", "__q") if n not in names)
    lines = [
        "OPENQASM 3.0;",
        "// IonQ native gates, parameters in turns: gpi(phase), gpi2(phase),"
        " ms(phase0, phase1, angle), zz(angle)",
        f"qubit[{program.qubits}] {q};",
        *(f"bit[{width}] {name};" for name, width in program.registers),
    ]
    lines.extend(_lines(program.ops, q, ""))
    lines.append("// output_all: every qubit is measured at the end (qubit i = bit i)")
    return "\n".join(lines) + "\n"


def compile_to_native_qasm3(program: Program, *, family: Family, drop_final_z: bool = False) -> str:
    """:func:`compile_program` then :func:`native_qasm3`."""
    return native_qasm3(compile_program(program, family=family, drop_final_z=drop_final_z))

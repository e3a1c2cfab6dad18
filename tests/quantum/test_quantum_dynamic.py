"""Dynamic programs (issue 15): exact physics of mid-circuit measurement, reset and
feed-forward, agreement with qiskit-aer on qiskit.qasm3.dumps output, static programs on the
circuit engine, noise, readout hook, memory fallback, reproducibility."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
from qhelpers import embed
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qasm3
from scipy import stats

from ionstack.errors import JobFailure
from ionstack.quantum import dynamic
from ionstack.quantum import gates as G
from ionstack.quantum.circuit import Gate
from ionstack.quantum.dynamic import ShotsResult, run_program
from ionstack.quantum.dynamic_code import deferred_measures, flatten
from ionstack.quantum.noise import NoiseModel, noise_model
from ionstack.quantum.program import Measure, Program, Reset
from ionstack.quantum.program_native import compile_program
from ionstack.quantum.qasm3 import parse_program
from ionstack.quantum.simulate import run

HEAD = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
ARIA = noise_model("aria-1")


def prog(body: str, *, qubits: int | None = None) -> Program:
    return parse_program(HEAD + body, qubits=qubits)


def within(count: int, shots: int, p: float, sigmas: float = 5.0) -> bool:
    """``count`` successes of ``shots`` within ``sigmas`` standard deviations of ``p``."""
    sd = math.sqrt(shots * p * (1 - p))
    return abs(count - shots * p) <= sigmas * max(sd, 0.5)


# --------------------------------------------------------------------------- exact physics

RESET_REUSE = """qubit[1] q;
bit[2] c;
h q[0];
c[0] = measure q[0];
reset q[0];
x q[0];
c[1] = measure q[0];
"""


@pytest.mark.parametrize("noise", [None, ARIA], ids=["ideal", "aria-1"])
def test_measure_reset_reuse(noise: NoiseModel | None) -> None:
    r = run_program(prog(RESET_REUSE), shots=2000, noise=noise, seed=3)
    c = r.by_register()["c"]
    assert r.registers == (("c", 2), ("output_all", 1))
    if noise is None:
        assert (c[:, 1] == 1).all()  # reset then x: always 1, whatever c[0] was
        assert (r.by_register()["output_all"][:, 0] == 1).all()
    else:
        assert (c[:, 1] == 1).mean() > 0.99
    assert within(int(c[:, 0].sum()), 2000, 0.5)


def test_reset_of_an_entangled_qubit_keeps_the_partner_collapsed() -> None:
    """reset q0 of a Bell pair: q0 → |0⟩, q1 collapsed to a random but definite bit."""
    p = prog("qubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nreset q[0];\nh q[1];\nh q[1];\n")
    r = run_program(p, shots=1000, noise=None, seed=1)
    out = r.values("output_all")
    assert set(out.tolist()) <= {0, 2}
    assert within(int((out == 2).sum()), 1000, 0.5)
    assert (r.by_register()["c"] == 0).all()  # never written


COLLAPSE = """qubit[2] q;
bit[2] c;
h q[0];
c[0] = measure q[0];
cx q[0], q[1];
c[1] = measure q[1];
"""


def test_collapse_after_mid_circuit_measure() -> None:
    r = run_program(prog(COLLAPSE), shots=2000, noise=None, seed=11)
    c = r.by_register()["c"]
    assert (c[:, 0] == c[:, 1]).all()
    assert within(int(c[:, 0].sum()), 2000, 0.5)
    # output_all agrees with both registers
    assert (r.values("output_all") == r.values("c")).all()


def test_collapse_also_when_the_last_measure_is_not_deferred() -> None:
    """A later ``if`` reading c forces c[1] to be measured mid-circuit: same physics."""
    p = prog(COLLAPSE + "if (c == 3) { x q[0]; }\n")
    r = run_program(p, shots=2000, noise=None, seed=12)
    c = r.by_register()["c"]
    assert (c[:, 0] == c[:, 1]).all()
    assert (r.by_register()["output_all"][:, 0] == 0).all()  # flipped back when c == 3


def test_two_named_registers() -> None:
    p = prog(
        "qubit[3] q;\nbit[1] first;\nbit[2] second;\nx q[2];\nh q[0];\n"
        "first[0] = measure q[0];\ncx q[0], q[1];\nsecond[1] = measure q[1];\n"
        "second[0] = measure q[2];\nx q[2];\n"
    )
    r = run_program(p, shots=1000, noise=None, seed=5)
    assert r.registers == (("first", 1), ("second", 2), ("output_all", 3))
    assert r.bits.shape == (1000, 6)
    regs = r.by_register()
    assert (regs["second"][:, 0] == 1).all()
    assert (regs["second"][:, 1] == regs["first"][:, 0]).all()
    assert (regs["output_all"][:, 2] == 0).all()  # x after the measure
    assert (r.values("second") == 1 + 2 * r.values("first")).all()


FEED_FORWARD = """qubit[2] q;
bit[2] c;
h q[0];
c[0] = measure q[0];
if (c[0]) {
  x q[1];
}
c[1] = measure q[1];
"""


@pytest.mark.parametrize("noise", [None, ARIA], ids=["ideal", "aria-1"])
def test_feed_forward(noise: NoiseModel | None) -> None:
    r = run_program(prog(FEED_FORWARD), shots=2000, noise=noise, seed=21)
    c = r.by_register()["c"]
    agree = (c[:, 0] == c[:, 1]).mean()
    assert agree == 1.0 if noise is None else agree > 0.98
    assert within(int(c[:, 0].sum()), 2000, 0.5)


def test_if_register_equals_with_else() -> None:
    """c = two random bits; if (c == 2) x q2 else (two x = identity); d == (c == 2)."""
    p = prog(
        "qubit[3] q;\nbit[2] c;\nbit[1] d;\nh q[0];\nh q[1];\nc[0] = measure q[0];\n"
        "c[1] = measure q[1];\nif (c == 2) { x q[2]; } else { x q[2]; x q[2]; }\n"
        "d[0] = measure q[2];\n"
    )
    r = run_program(p, shots=4000, noise=None, seed=8)
    c, d = r.values("c"), r.values("d")
    assert ((c == 2) == (d == 1)).all()
    for v in range(4):
        assert within(int((c == v).sum()), 4000, 0.25)


def test_negated_and_nested_conditions() -> None:
    p = prog(
        "qubit[3] q;\nbit[2] c;\nh q[0];\nh q[1];\nc = measure q[0:1];\n"
        "if (!c[0]) { if (c[1] == 1) { x q[2]; } }\nif (c != 0) { }\n"
    )
    r = run_program(p, shots=2000, noise=None, seed=9)
    c, out = r.values("c"), r.by_register()["output_all"]
    assert ((c == 2) == (out[:, 2] == 1)).all()


@pytest.mark.parametrize(("theta", "phi"), [(1.1, 0.4), (2.5, -1.3)])
def test_teleportation(theta: float, phi: float) -> None:
    """Teleport ry(θ)·rz(φ)|0⟩ from q0 to q2 with feed-forward: undoing the preparation on q2
    gives 0 on every shot; without undoing, P(1) = sin²(θ/2) within 5σ."""
    base = (
        f"qubit[3] q;\nbit[2] m;\nbit[1] r;\nry({theta}) q[0];\nrz({phi}) q[0];\n"
        "h q[1];\ncx q[1], q[2];\ncx q[0], q[1];\nh q[0];\nm[0] = measure q[0];\n"
        "m[1] = measure q[1];\nif (m[1]) { x q[2]; }\nif (m[0]) { z q[2]; }\n"
    )
    undone = run_program(
        prog(base + f"rz({-phi}) q[2];\nry({-theta}) q[2];\nr[0] = measure q[2];\n"),
        shots=2000,
        noise=None,
        seed=31,
    )
    assert (undone.by_register()["r"] == 0).all()
    for v in range(4):  # the two Bell-measurement bits are uniform
        assert within(int((undone.values("m") == v).sum()), 2000, 0.25)
    shots = 20000
    plain = run_program(prog(base + "r[0] = measure q[2];\n"), shots=shots, noise=None, seed=32)
    ones = int(plain.by_register()["r"].sum())
    assert within(ones, shots, math.sin(theta / 2) ** 2)


# --------------------------------------------------------------------------- against Aer


def _aer_counts(qc: QuantumCircuit, shots: int, seed: int) -> Counter[str]:
    from qiskit_aer import AerSimulator

    sim = AerSimulator(method="statevector", seed_simulator=seed)
    return Counter(sim.run(qc, shots=shots).result().get_counts())


def _our_counts(r: ShotsResult, names: list[str]) -> Counter[str]:
    """Qiskit's count keys: registers in reverse declaration order, each MSB first."""
    regs = r.by_register()
    keys = []
    for row in range(r.shots):
        keys.append(" ".join("".join(str(b) for b in regs[n][row][::-1]) for n in reversed(names)))
    return Counter(keys)


def _circuits() -> dict[str, QuantumCircuit]:
    out: dict[str, QuantumCircuit] = {}
    q, a, b = QuantumRegister(3, "q"), ClassicalRegister(2, "a"), ClassicalRegister(2, "b")
    qc = QuantumCircuit(q, a, b)
    qc.h(0)
    qc.ry(0.7, 1)
    qc.measure(0, a[0])
    qc.reset(0)
    qc.cx(1, 0)
    with qc.if_test((a[0], 1)) as else_:
        qc.x(2)
    with else_:
        qc.h(2)
        qc.rzx(0.4, 2, 1)
    qc.measure(1, a[1])
    with qc.if_test((a, 2)):
        qc.z(2)
        qc.h(1)
    qc.barrier()
    qc.cu(0.3, 0.2, 0.1, 0.4, 2, 0)
    qc.measure(2, b[1])
    with qc.if_test((b[1], 0)):
        with qc.if_test((a, 3)):
            qc.y(0)
    qc.h(2)
    qc.measure([0, 2], [b[0], a[0]])
    out["mixed"] = qc

    qr = QuantumRegister(4, "q")
    cr = ClassicalRegister(4, "c")
    qc = QuantumCircuit(qr, cr)  # repeated syndrome-style measure / reset / correct
    qc.ry(1.2, 0)
    qc.cx(0, 1)
    for k in range(3):
        qc.cx(0, 3)
        qc.cx(1, 3)
        qc.measure(3, cr[k])
        qc.reset(3)
        with qc.if_test((cr[k], 1)):
            qc.x(1)
        qc.rx(0.3, 0)
    qc.measure(1, cr[3])
    out["syndrome"] = qc

    from qiskit.circuit.classical import expr

    q, a, b = QuantumRegister(3, "q"), ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
    qc = QuantumCircuit(q, a, b)  # Qiskit expr conditions: &&, ||, ! and parentheses
    qc.h(0)
    qc.ry(1.1, 1)
    qc.measure(0, a[0])
    qc.measure(1, b[0])
    with qc.if_test(expr.logic_and(a[0], expr.logic_not(b[0]))):
        qc.x(2)
    qc.h(2)
    qc.measure(2, a[1])
    with qc.if_test(expr.logic_or(expr.equal(a, 2), b[0])):
        qc.ry(0.7, 0)
    with qc.if_test(expr.logic_not(expr.logic_or(a[1], b[0]))):
        qc.h(1)
    qc.measure([0, 1], [a[0], b[0]])
    out["expr"] = qc
    return out


@pytest.mark.parametrize("name", ["mixed", "syndrome", "expr"])
def test_qiskit_dumps_programs_match_aer(name: str) -> None:
    qc = _circuits()[name]
    p = parse_program(qasm3.dumps(qc))
    names = [c.name for c in qc.cregs]
    shots = 8000
    ours = _our_counts(run_program(p, shots=shots, noise=None, seed=77), names)
    aer = _aer_counts(qc, shots, seed=78)
    keys = sorted(set(ours) | set(aer))
    table = np.array([[ours[k] for k in keys], [aer[k] for k in keys]])
    table = table[:, table.sum(axis=0) > 0]
    p_value = stats.chi2_contingency(table)[1]
    tv = 0.5 * np.abs(table[0] / shots - table[1] / shots).sum()
    assert p_value > 1e-4, (p_value, tv, keys)
    assert tv < 0.05


# --------------------------------------------------------------------------- static programs


@pytest.mark.parametrize("noise", [None, ARIA], ids=["ideal", "aria-1"])
def test_static_program_equals_the_circuit_engine(noise: NoiseModel | None) -> None:
    p = prog(
        "qubit[3] q;\nbit[2] c;\nbit[1] d;\nh q[0];\ncx q[0], q[1];\nry(0.8) q[2];\n"
        "barrier q;\nd[0] = measure q[0];\nc[1] = measure q[2];\nc[0] = measure q[1];\n",
        qubits=4,
    )
    circuit = p.static_circuit()
    assert circuit is not None and circuit.qubits == 4
    r = run_program(p, shots=500, noise=noise, seed=99)
    ref = run(circuit, shots=500, noise=noise, seed=99)
    assert ref.samples is not None
    outcomes = np.array(ref.samples)
    assert (r.values("output_all") == outcomes).all()
    regs = r.by_register()
    assert (regs["d"][:, 0] == (outcomes & 1)).all()
    assert (regs["c"][:, 0] == (outcomes >> 1) & 1).all()
    assert (regs["c"][:, 1] == (outcomes >> 2) & 1).all()
    assert (regs["output_all"][:, 3] == 0).all()
    assert r.method == ref.method


def test_deferred_measurements_give_the_same_statistics_as_branching() -> None:
    """The same program with and without deferral (an empty ``if`` reading the register at
    the end forbids it): equal distributions."""
    body = (
        "qubit[3] q;\nbit[3] c;\nh q[0];\nry(1.0) q[1];\nc[0] = measure q[0];\n"
        "if (c[0]) { x q[2]; }\ncx q[1], q[2];\nc[1] = measure q[1];\nrx(0.5) q[0];\n"
        "c[2] = measure q[2];\n"
    )
    deferred, forced = prog(body), prog(body + "if (c == 7) { }\n")
    assert len(flatten(deferred).deferred) == 2 and flatten(forced).deferred == ()
    assert deferred_measures(deferred.ops) == {5, 7}
    a = run_program(deferred, shots=8000, noise=None, seed=1).values("c")
    b = run_program(forced, shots=8000, noise=None, seed=2).values("c")
    table = np.array([np.bincount(a, minlength=8), np.bincount(b, minlength=8)])
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table)[1] > 1e-4


# --------------------------------------------------------------------------- noise


def test_noisy_runs_are_dominated_by_ideal_outcomes_and_reproducible() -> None:
    p = prog(
        "qubit[4] q;\nbit[4] c;\nh q[0];\nc[0] = measure q[0];\nif (c[0]) { x q[1]; }\n"
        "cx q[1], q[2];\nc[1] = measure q[2];\nreset q[2];\ncx q[0], q[3];\n"
        "c[2] = measure q[3];\nc[3] = measure q[2];\n"
    )
    a = run_program(p, shots=3000, noise=ARIA, seed=123)
    b = run_program(p, shots=3000, noise=ARIA, seed=123)
    other = run_program(p, shots=3000, noise=ARIA, seed=124)
    assert a.bits.tobytes() == b.bits.tobytes()
    assert a.bits.tobytes() != other.bits.tobytes()
    assert a.method == "dynamic-trajectories"
    c = a.values("c")
    ideal = (c == 0) | (c == 0b0111)
    assert 0.93 < ideal.mean() < 1.0  # errors happen, but rarely
    harmony = run_program(p, shots=3000, noise=noise_model("harmony"), seed=123)
    assert ((harmony.values("c") == 0) | (harmony.values("c") == 7)).mean() < ideal.mean()


def test_noise_reaches_gates_inside_if_bodies() -> None:
    """All the work is in an ``if`` body: a strong model must show errors there."""
    strong = dataclasses.replace(ARIA, name="strong", p1q=0.3, p2q=0.3)
    body = "if (c[0]) { " + "cx q[1], q[2]; cx q[2], q[1]; " * 6 + "}\n"  # = identity
    p = prog("qubit[3] q;\nbit[1] c;\nx q[0];\nc[0] = measure q[0];\n" + body)
    r = run_program(p, shots=2000, noise=strong, seed=4)
    assert (r.values("output_all") != 1).mean() > 0.3
    skipped = prog("qubit[3] q;\nbit[1] c;\nc[0] = measure q[0];\n" + body)
    r0 = run_program(skipped, shots=2000, noise=strong, seed=4)
    assert (r0.values("output_all") == 0).all()  # the body never runs: no error from it


def _exact(program: Program, model: NoiseModel) -> dict[int, float]:
    """Exact law of (record, output_all) by density matrices, branch by branch: gates as
    ``UρU†`` then the depolarizing channel of semantics.md §4, measurement as projectors that
    split the branches, reset, ``if`` per branch. Independent of the simulator."""
    n, clbits = program.qubits, sum(w for _, w in program.registers)
    offsets = program.offsets()
    paulis = [G.I2, G.PAULI_X, G.PAULI_Y, G.PAULI_Z]

    def channel(rho: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
        if len(qubits) == 1:
            terms = [embed(n, qubits, p) for p in paulis[1:]]
            p = 3 * model.p1q / 4
        else:
            terms = [embed(n, qubits, np.kron(a, b)) for a in paulis for b in paulis][1:]
            p = 15 * model.p2q / 16
        return (1 - p) * rho + p / len(terms) * sum(t @ rho @ t.conj().T for t in terms)

    def proj(q: int, o: int) -> np.ndarray:
        return np.diag([1.0 if ((k >> q) & 1) == o else 0.0 for k in range(1 << n)])

    def holds(c: Any, rec: int) -> bool:
        off, width = offsets[c.register]
        v = (rec >> (off + c.bit)) & 1 if c.bit is not None else (rec >> off) % (1 << width)
        return (v == c.value) == c.equal

    def run_ops(ops: Any, branches: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        for op in ops:
            out: dict[int, np.ndarray] = {}
            if isinstance(op, Gate):
                u = embed(n, op.qubits, G.gate_matrix(op, program.gateset))
                out = {r: channel(u @ rho @ u.conj().T, op.qubits) for r, rho in branches.items()}
            elif isinstance(op, Measure):
                for r, rho in branches.items():
                    for o in (0, 1):
                        part = proj(op.qubit, o) @ rho @ proj(op.qubit, o)
                        bit = offsets[op.register][0] + op.bit if op.register else None
                        key = r if bit is None else (r & ~(1 << bit)) | (o << bit)
                        out[key] = out.get(key, 0) + part
            elif isinstance(op, Reset):
                x = embed(n, (op.qubit,), G.PAULI_X)
                p0, p1 = proj(op.qubit, 0), proj(op.qubit, 1)
                out = {r: p0 @ rho @ p0 + x @ p1 @ rho @ p1 @ x for r, rho in branches.items()}
            else:
                yes = {r: rho for r, rho in branches.items() if holds(op.condition, r)}
                no = {r: rho for r, rho in branches.items() if not holds(op.condition, r)}
                for part in (run_ops(op.then, yes), run_ops(op.orelse, no)):
                    for r, rho in part.items():
                        out[r] = out.get(r, 0) + rho
            branches = out
        return branches

    zero = np.zeros((1 << n, 1 << n), dtype=np.complex128)
    zero[0, 0] = 1
    law: dict[int, float] = {}
    for r, rho in run_ops(program.ops, {0: zero}).items():
        for k, p in enumerate(np.real(np.diag(rho))):
            if p > 1e-15:
                law[r | (k << clbits)] = law.get(r | (k << clbits), 0.0) + float(p)
    return law


def test_noisy_dynamic_law_equals_exact_density_matrices() -> None:
    """A long shared prefix (checkpoints, errors folded into fused blocks), mid-circuit
    measurement, reset and feed-forward under strong noise: the sampled law of every register
    and output_all equals the exact one (chi-square, 20,000 shots)."""
    strong = dataclasses.replace(ARIA, name="strong", p1q=0.06, p2q=0.12)
    body = "qubit[3] q;\nbit[2] c;\n" + "".join(
        f"ry({0.3 + 0.1 * k}) q[{k % 3}];\ncx q[{k % 3}], q[{(k + 1) % 3}];\n" for k in range(8)
    )
    body += (
        "c[0] = measure q[0];\nreset q[1];\nif (c[0]) { rx(0.9) q[1]; } else { h q[2]; }\n"
        "cx q[1], q[2];\nc[1] = measure q[2];\nif (c == 3) { x q[0]; }\n"
    )
    p = prog(body)
    native = compile_program(p, family="ms", drop_final_z=True)
    law = _exact(native, strong)
    assert abs(sum(law.values()) - 1) < 1e-9
    shots = 20000
    r = run_program(p, shots=shots, noise=strong, seed=17)
    keys = r.values("c") | (r.values("output_all") << 2)
    counts = Counter(keys.tolist())
    support = sorted(k for k in law if law[k] * shots > 5)
    observed = np.array(
        [counts.get(k, 0) for k in support] + [shots - sum(counts.get(k, 0) for k in support)]
    )
    expected = np.array(
        [law[k] * shots for k in support] + [shots - sum(law[k] * shots for k in support)]
    )
    assert stats.chisquare(observed, expected).pvalue > 1e-4


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Readout(NoiseModel):
    readout_error: float = 0.0


@pytest.mark.parametrize("program", ["static", "dynamic"])
def test_readout_error_hook(program: str) -> None:
    model = _Readout(name="ro", p1q=0.0, p2q=0.0, max_qubits=29, native_2q=None, readout_error=0.1)
    body = "qubit[1] q;\nbit[1] c;\nx q[0];\nc[0] = measure q[0];\n"
    if program == "dynamic":
        body += "reset q[0];\n"
    r = run_program(prog(body), shots=4000, noise=model, seed=6)
    assert within(int((r.by_register()["c"] == 0).sum()), 4000, 0.1)
    assert dynamic.readout_error(ARIA) == 0.0


# --------------------------------------------------------------------------- resources


def test_memory_fallback_runs_shot_by_shot_with_the_same_statistics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A limit below the branching estimate runs the shots one at a time (a group of one never
    splits); below even that, a clean SimulationError before allocating."""
    p = prog(FEED_FORWARD)
    peaks: list[float] = []
    plans: list[tuple[bool, int]] = []
    real_guard, real_plan = dynamic.memory.guard, dynamic._plan

    def guard(fp: Any, limit: int, n: int) -> None:
        peaks.append(fp.peak)
        real_guard(fp, limit, n)

    def plan(*args: Any) -> tuple[bool, int, float]:
        out = real_plan(*args)
        plans.append(out[:2])
        return out

    monkeypatch.setattr(dynamic.memory, "guard", guard)
    monkeypatch.setattr(dynamic, "_plan", plan)
    tree = run_program(p, shots=300, noise=None, seed=2, memory_limit_bytes=1 << 40)
    assert plans[-1] == (False, 0)
    shot = run_program(p, shots=300, noise=None, seed=2, memory_limit_bytes=int(peaks[-1]) - 1)
    assert plans[-1] == (True, 0) and peaks[-1] < peaks[0]
    c = shot.by_register()["c"]
    assert (c[:, 0] == c[:, 1]).all()
    assert within(int(c[:, 0].sum()), 300, 0.5)
    assert tree.bits.tobytes() != shot.bits.tobytes()  # other draws, same law
    with pytest.raises(JobFailure) as e:
        run_program(p, shots=300, noise=None, seed=2, memory_limit_bytes=int(peaks[-1]) - 1)
    assert e.value.code == "SimulationError"


def test_check_is_called_and_can_cancel() -> None:
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise JobFailure("SimulationTimeout", "stop")

    with pytest.raises(JobFailure):
        run_program(prog(FEED_FORWARD), shots=100, noise=ARIA, seed=1, check=check)


def test_idle_qubits_and_wide_programs() -> None:
    """Idle qubits from input.qubits read 0; a 12-qubit program runs on qsim."""
    p = prog(FEED_FORWARD, qubits=5)
    r = run_program(p, shots=200, noise=None, seed=1)
    assert r.registers[-1] == ("output_all", 5)
    assert (r.by_register()["output_all"][:, 2:] == 0).all()
    wide = prog(
        "qubit[12] q;\nbit[2] c;\nh q[0];\n"
        + "".join(f"cx q[{i}], q[{i + 1}];\n" for i in range(11))
        + "c[0] = measure q[5];\nif (c[0]) { x q[11]; }\nc[1] = measure q[11];\n"
    )
    w = run_program(wide, shots=500, noise=None, seed=3)
    assert w.engine == "qsim-complex64"
    assert (w.by_register()["c"][:, 1] == 0).all()  # GHZ: q11 == q5, flipped back
    out = w.values("output_all")
    assert set(out.tolist()) == {0, (1 << 11) - 1}


def test_output_all_is_reserved_and_always_last() -> None:
    with pytest.raises(JobFailure) as e:
        prog("qubit[1] q;\nbit[1] output_all;\nx q[0];\n")
    assert "bit register 'output_all' at line 4: the name is reserved" in e.value.message
    r = run_program(prog("qubit[2] q;\nbit[1] z;\nbit a;\nreset q;\n"), shots=3, noise=None, seed=1)
    assert r.registers == (("z", 1), ("a", 1), ("output_all", 2))


def test_shots_must_be_positive() -> None:
    with pytest.raises(ValueError):
        run_program(prog(FEED_FORWARD), shots=0, noise=None, seed=1)

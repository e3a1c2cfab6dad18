"""Dynamic programs under a QPU's device model (issue 17): each term against an independent
reference.

* asymmetric readout on |0⟩ and |1⟩ prepared mid-circuit (measured, then reset) against
  ``p01``/``p10``;
* a feed-forward steered by a misread bit against its exact law (the branch follows the
  recorded bit; reset still resets);
* the dephasing of |+⟩ across mid-circuit measurement windows against ``e^{−t/T2}``;
* a program with every term (over-rotation, depolarizing, idle windows, asymmetric readout,
  reset, feed-forward) against exact density matrices written here, branch by branch;
* a static program through the dynamic simulator against the ``ionq.circuit.v1`` path;
* the published simulator models unchanged (pinned digests).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
from qhelpers import embed
from scipy import stats

from ionstack.quantum import gates as G
from ionstack.quantum.circuit import Gate
from ionstack.quantum.device import Characterization, DeviceModel, device_model
from ionstack.quantum.dynamic import run_program
from ionstack.quantum.noise import noise_model
from ionstack.quantum.program import Condition, If, Measure, Op, Program, Reset
from ionstack.quantum.qasm3 import parse_program
from ionstack.quantum.simulate import run

INF = math.inf
HEAD = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def device(**kw: Any) -> DeviceModel:
    """A device model with only the given terms (noiseless otherwise)."""
    base: dict[str, Any] = {
        "name": "qpu.test",
        "p1q": 0.0,
        "p2q": 0.0,
        "max_qubits": 36,
        "native_2q": "ms",
        "characterization_id": "test",
        "pair_seed": 7,
    }
    return DeviceModel(**(base | kw))


def native(qubits: int, registers: tuple[tuple[str, int], ...], *ops: Op) -> Program:
    return Program(qubits=qubits, registers=registers, ops=tuple(ops), gateset="native")


def gpi(q: int, phase: float) -> Gate:
    return Gate("gpi", (q,), phase=phase)


def gpi2(q: int, phase: float) -> Gate:
    return Gate("gpi2", (q,), phase=phase)


def ms(a: int, b: int, p0: float = 0.0, p1: float = 0.0, angle: float = 0.25) -> Gate:
    return Gate("ms", (a, b), phases=(p0, p1), angle=angle)


def sigma(p: float, shots: int) -> float:
    return math.sqrt(p * (1 - p) / shots)


# --------------------------------------------------------------------------- readout


def test_asymmetric_readout_of_mid_circuit_measurements() -> None:
    """|0⟩ and |1⟩ prepared and measured mid-circuit (each followed by a reset): the recorded
    bits misread at ``p01`` and ``p10``; the reset qubit reads 0 at the end but for ``p01``."""
    p01, p10, shots = 0.03, 0.09, 20_000
    m = device(readout_p01=p01, readout_p10=p10)
    program = native(
        1,
        (("c", 2),),
        Measure(0, "c", 0),
        Reset(0),
        gpi(0, 0.0),
        Measure(0, "c", 1),
        Reset(0),
    )
    r = run_program(program, shots=shots, noise=m, seed=5)
    c = r.by_register()["c"]
    assert abs(c[:, 0].mean() - p01) < 5 * sigma(p01, shots)
    assert abs((1 - c[:, 1]).mean() - p10) < 5 * sigma(p10, shots)
    assert abs(r.by_register()["output_all"][:, 0].mean() - p01) < 5 * sigma(p01, shots)


def test_a_misread_bit_steers_the_feed_forward() -> None:
    """``x q0; c = measure q0; reset q0; if (c) x q1``: the branch follows the recorded bit
    (misread with ``p10``), the reset resets q0 whatever was recorded. Exact law of
    (c, output_all) by enumeration, chi-square on 40,000 shots."""
    p01, p10, shots = 0.05, 0.2, 40_000
    m = device(readout_p01=p01, readout_p10=p10)
    program = native(
        2,
        (("c", 1),),
        gpi(0, 0.0),
        Measure(0, "c", 0),
        Reset(0),
        If(Condition("c", 0, 1), (gpi(1, 0.0),), ()),
    )

    def read(true: int, seen: int) -> float:
        if true == 0:
            return p01 if seen else 1 - p01
        return p10 if seen == 0 else 1 - p10

    law: dict[int, float] = {}
    for c in (0, 1):
        q1 = c  # the if flips q1 on the recorded bit; q0 is 0 after the reset
        for o0 in (0, 1):
            for o1 in (0, 1):
                key = c | (o0 << 1) | (o1 << 2)
                law[key] = read(1, c) * read(0, o0) * read(q1, o1)
    r = run_program(program, shots=shots, noise=m, seed=8)
    keys = r.values("c") | (r.values("output_all") << 1)
    counts = Counter(keys.tolist())
    observed = np.array([counts.get(k, 0) for k in range(8)])
    expected = np.array([law[k] * shots for k in range(8)])
    assert stats.chisquare(observed, expected).pvalue > 1e-4
    # the steered cell itself: c misread as 0 → q1 left at 0
    steered = counts.get(0b000, 0) + counts.get(0b010, 0)
    p = p10 * (1 - p01)
    assert abs(steered / shots - p) < 5 * sigma(p, shots)


# --------------------------------------------------------------------------- idle


@pytest.mark.parametrize("rounds", [2, 6])
def test_plus_dephases_across_mid_circuit_measurement_windows(rounds: int) -> None:
    """|+⟩ on q0 waits while q1 is measured and reset ``rounds`` times (``time_readout`` +
    ``time_reset`` each): P(1) after the closing gpi2 = (1 − e^{−t/T2})/2."""
    t2, t_read, t_reset, shots = 4e-3, 5e-4, 2e-4, 20_000
    m = device(t1=INF, t2=t2, time_readout=t_read, time_reset=t_reset)
    body: list[Op] = [gpi2(0, 0.25)]  # Ry(π/2)|0⟩ = |+⟩ (gpi2(¼) is a π/2 about Y)
    for k in range(rounds):
        body += [gpi(1, 0.0), Measure(1, "c", k), Reset(1)]
    body += [gpi2(0, 0.75)]  # back: |+⟩ → |0⟩
    r = run_program(native(2, (("c", rounds),), *body), shots=shots, noise=m, seed=3)
    t = rounds * (t_read + t_reset)  # q1's gate takes no time here (time_1q = 0)
    p = (1 - math.exp(-t / t2)) / 2
    ones = float(r.by_register()["output_all"][:, 0].mean())
    assert abs(ones - p) < 5 * sigma(p, shots), (ones, p)
    assert (r.by_register()["c"] == 1).all()  # q1 itself: prepared 1, read back 1


@pytest.mark.parametrize("orelse", [False, True], ids=["if", "if-else"])
def test_an_idle_window_before_an_if_counts_on_every_path(orelse: bool) -> None:
    """|+⟩ on q0 waits while q1 (random) is measured, then an ``if`` on that bit acts on q1
    only (``time_1q`` for q0 on the path that runs it): on each path P(1) of q0 after the
    closing gpi2 is (1 − e^{−t/T2})/2 with that path's t."""
    t2, t_read, t_1q, shots = 2e-3, 1e-3, 5e-4, 40_000
    m = device(t1=INF, t2=t2, time_readout=t_read, time_1q=t_1q)
    body: Op = If(Condition("c", 0, 1), (gpi(1, 0.0),), (gpi(1, 0.5),) if orelse else ())
    program = native(
        2,
        (("c", 1),),
        gpi2(0, 0.25),
        gpi2(1, 0.0),
        Measure(1, "c", 0),
        body,
        gpi2(0, 0.75),
    )
    r = run_program(program, shots=shots, noise=m, seed=4)
    c = r.by_register()["c"][:, 0]
    q0 = r.by_register()["output_all"][:, 0]
    for bit in (0, 1):
        t = t_1q + t_read + (t_1q if bit == 1 or orelse else 0.0)  # gpi2 q1, measure, body
        p = (1 - math.exp(-t / t2)) / 2
        taken = q0[c == bit]
        assert abs(taken.mean() - p) < 5 * sigma(p, taken.size), (bit, taken.mean(), p)


# --------------------------------------------------------------------------- exact law


def _pauli_probs(t: float, m: DeviceModel) -> tuple[float, float, float, float]:
    """The Pauli channel whose transfer diagonal is (e^{−t/T2}, e^{−t/T2}, e^{−t/T1})."""
    e1 = math.exp(-t / m.t1)
    e2 = math.exp(-t / m.t2)
    px = py = (1 - e1) / 4
    pz = (1 + e1 - 2 * e2) / 4
    return 1 - px - py - pz, px, py, pz


def _exact(program: Program, m: DeviceModel) -> dict[int, float]:
    """Exact law of (record, output_all) under ``m``, by density matrices branch by branch:
    gates as the device runs them (2q angle × (1 + sign·δ)) then depolarizing, every other
    started qubit idling for the operation's duration (the T1/T2 Pauli channel, applied at
    once), mid-circuit measurement as projectors with the recorded bit misread, reset, ``if``
    on the recorded bits, asymmetric readout of the final state. For programs whose ``if``
    bodies touch started qubits only and reset nothing (checked)."""
    n, clbits = program.qubits, sum(w for _, w in program.registers)
    offsets = program.offsets()
    paulis = [G.I2, G.PAULI_X, G.PAULI_Y, G.PAULI_Z]
    started: set[int] = set()

    def conj(rho: np.ndarray, u: np.ndarray) -> np.ndarray:
        return u @ rho @ u.conj().T

    def depolarize(rho: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
        if len(qubits) == 1:
            terms = [embed(n, qubits, p) for p in paulis[1:]]
            p = 3 * m.p1q / 4
        else:
            terms = [embed(n, qubits, np.kron(a, b)) for a in paulis for b in paulis][1:]
            p = 15 * m.p2q / 16
        return (1 - p) * rho + p / len(terms) * sum(conj(rho, t) for t in terms)

    def idle(rho: np.ndarray, busy: tuple[int, ...], t: float) -> np.ndarray:
        for q in sorted(started - set(busy)):
            probs = _pauli_probs(t, m)
            rho = sum(p * conj(rho, embed(n, (q,), s)) for p, s in zip(probs, paulis, strict=True))
        return rho

    def proj(q: int, o: int) -> np.ndarray:
        return np.diag([1.0 if ((k >> q) & 1) == o else 0.0 for k in range(1 << n)])

    def misread(o: int, r: int) -> float:
        flip = m.readout_p01 if o == 0 else m.readout_p10
        return flip if r != o else 1 - flip

    def run_ops(ops: Any, branches: dict[int, np.ndarray], top: bool) -> dict[int, np.ndarray]:
        for op in ops:
            out: dict[int, np.ndarray] = {}
            if isinstance(op, Gate):
                assert top or started >= set(op.qubits), "the reference needs started qubits"
                g = op
                if len(op.qubits) == 2:
                    sign = m.pair_sign(*op.qubits)
                    g = dataclasses.replace(op, angle=op.angle * (1 + sign * m.overrotation))
                u = embed(n, op.qubits, G.base_matrix(g, "native"))
                duration = m.time_1q if len(op.qubits) == 1 else m.time_2q
                for r, rho in branches.items():
                    out[r] = idle(depolarize(conj(rho, u), op.qubits), op.qubits, duration)
                started.update(op.qubits)
            elif isinstance(op, Measure):
                bit = offsets[op.register][0] + op.bit
                for r, rho in branches.items():
                    for o in (0, 1):
                        part = proj(op.qubit, o) @ rho @ proj(op.qubit, o)
                        for seen in (0, 1):
                            key = (r & ~(1 << bit)) | (seen << bit)
                            w = misread(o, seen) * idle(part, (op.qubit,), m.time_readout)
                            out[key] = out.get(key, 0) + w
            elif isinstance(op, Reset):
                assert top, "the reference resets at the top level only"
                x = embed(n, (op.qubit,), G.PAULI_X)
                p0, p1 = proj(op.qubit, 0), proj(op.qubit, 1)
                started.discard(op.qubit)
                for r, rho in branches.items():
                    reset = p0 @ rho @ p0 + x @ p1 @ rho @ p1 @ x
                    out[r] = idle(reset, (op.qubit,), m.time_reset)
            else:
                c = op.condition
                yes = {
                    r: rho
                    for r, rho in branches.items()
                    if (r >> offsets[c.register][0] + c.bit) & 1 == c.value
                }
                no = {r: rho for r, rho in branches.items() if r not in yes}
                for part in (run_ops(op.then, yes, False), run_ops(op.orelse, no, False)):
                    for r, rho in part.items():
                        out[r] = out.get(r, 0) + rho
            branches = out
        return branches

    zero = np.zeros((1 << n, 1 << n), dtype=np.complex128)
    zero[0, 0] = 1
    confusion = np.array(
        [[1 - m.readout_p01, m.readout_p10], [m.readout_p01, 1 - m.readout_p10]]
    )  # [seen, true]
    law: dict[int, float] = {}
    for r, rho in run_ops(program.ops, {0: zero}, True).items():
        probs = np.real(np.diag(rho)).reshape((2,) * n)  # axis 0 = qubit n−1
        for axis in range(n):
            probs = np.moveaxis(np.tensordot(confusion, probs, axes=([1], [axis])), 0, axis)
        for k, p in enumerate(probs.reshape(-1)):
            if p > 1e-15:
                law[r | (k << clbits)] = law.get(r | (k << clbits), 0.0) + float(p)
    return law


STRONG = device(
    p1q=0.02,
    p2q=0.04,
    overrotation=0.3,
    readout_p01=0.04,
    readout_p10=0.12,
    t1=6e-3,
    t2=3e-3,
    time_1q=1e-4,
    time_2q=4e-4,
    time_readout=6e-4,
    time_reset=2e-4,
)

EVERYTHING = native(
    3,
    (("c", 2),),
    gpi2(0, 0.1),
    gpi2(1, 0.3),
    ms(0, 1),
    gpi(2, 0.2),
    ms(1, 2, 0.25, 0.0),
    ms(1, 2, 0.25, 0.0),
    Measure(0, "c", 0),
    If(Condition("c", 0, 1), (gpi(2, 0.0), ms(1, 2, 0.0, 0.5)), (gpi2(1, 0.5),)),
    Reset(0),
    gpi2(0, 0.0),
    ms(0, 2),
    Measure(1, "c", 1),
    If(Condition("c", 1, 1), (gpi2(0, 0.25),), ()),
)


def _chi2(
    program: Program, model: DeviceModel, shots: int, seed: int, law: dict[int, float]
) -> float:
    """p-value of ``program`` sampled under ``model`` against ``law``."""
    assert abs(sum(law.values()) - 1) < 1e-9
    clbits = sum(w for _, w in program.registers)
    r = run_program(program, shots=shots, noise=model, seed=seed)
    keys = r.values("c") | (r.values("output_all") << clbits)
    counts = Counter(keys.tolist())
    support = sorted(k for k in law if law[k] * shots > 5)
    observed = np.array(
        [counts.get(k, 0) for k in support] + [shots - sum(counts.get(k, 0) for k in support)]
    )
    expected = np.array(
        [law[k] * shots for k in support] + [shots - sum(law[k] * shots for k in support)]
    )
    return float(stats.chisquare(observed, expected).pvalue)


def test_every_term_on_a_dynamic_program_equals_exact_density_matrices() -> None:
    """Over-rotation (also inside an ``if`` body), depolarizing, idle windows of gates,
    measurements and resets, asymmetric readout of mid-circuit and final bits, feed-forward on
    recorded bits: the sampled law equals the exact one (chi-square, 20,000 shots)."""
    assert {STRONG.pair_sign(0, 1), STRONG.pair_sign(1, 2), STRONG.pair_sign(0, 2)} == {1, -1}
    assert _chi2(EVERYTHING, STRONG, 20_000, 11, _exact(EVERYTHING, STRONG)) > 1e-4


@pytest.mark.parametrize(
    "term",
    [
        {"overrotation": 0.0},
        {"readout_p01": 0.12, "readout_p10": 0.04},
        {"t1": INF, "t2": INF},
    ],
    ids=["no-overrotation", "swapped-readout", "no-idle"],
)
def test_the_exact_reference_tells_each_term(term: dict[str, float]) -> None:
    """The comparison above has the power to see each term: the simulator's law under
    ``STRONG`` is far from the exact law of the model without it (or with it swapped)."""
    other = dataclasses.replace(STRONG, **term)
    law, wrong = _exact(EVERYTHING, STRONG), _exact(EVERYTHING, other)
    tv = sum(abs(law.get(k, 0) - wrong.get(k, 0)) for k in law.keys() | wrong.keys()) / 2
    assert tv > 0.02
    assert _chi2(EVERYTHING, STRONG, 20_000, 11, wrong) < 1e-6


# --------------------------------------------------------------------------- static programs


def test_static_program_through_the_dynamic_simulator_matches_the_circuit_job() -> None:
    """A static program and the same program made dynamic (a reset of fresh qubits first,
    which changes nothing physically) under the same device model: the dynamic simulator's
    distribution equals the circuit path's (two-sample chi-square), and the static program
    gives the circuit job's samples exactly."""
    char = Characterization(
        id="static-check",
        fidelity_1q=0.995,
        fidelity_2q=0.96,
        fidelity_spam=0.95,
        t1=0.02,
        t2=0.01,
        time_1q=1e-4,
        time_2q=6e-4,
        time_readout=3e-4,
        time_reset=2e-5,
    )
    m = device_model("qpu.test", char, max_qubits=36, native_2q="ms", coherent_fraction=0.8)
    gates = "h q[0];\ncx q[0], q[1];\nry(0.7) q[2];\ncx q[1], q[2];\ncx q[2], q[0];\n"
    measure = "c = measure q;\n"
    static = parse_program(HEAD + "qubit[3] q;\nbit[3] c;\n" + gates + measure)
    circuit = static.static_circuit()
    assert circuit is not None
    shots = 20_000
    ref = run(circuit, shots=shots, noise=m, seed=41)
    same = run_program(static, shots=shots, noise=m, seed=41)
    assert ref.samples is not None
    assert (same.values("output_all") == np.asarray(ref.samples)).all()
    assert (same.values("c") == np.asarray(ref.samples)).all()
    dyn = parse_program(
        HEAD + "qubit[3] q;\nbit[3] c;\nreset q[0];\nreset q[1];\nreset q[2];\n" + gates + measure
    )
    assert dyn.static_circuit() is None
    r = run_program(dyn, shots=shots, noise=m, seed=42)
    assert r.method == "dynamic-trajectories"
    table = np.array(
        [np.bincount(ref.samples, minlength=8), np.bincount(r.values("output_all"), minlength=8)]
    )
    assert stats.chi2_contingency(table)[1] > 1e-4
    assert (r.values("c") == r.values("output_all")).all()  # one final readout


def test_static_program_width_gets_the_readout_of_every_declared_qubit() -> None:
    """As a circuit job of the same width: an idle declared qubit is read too (p01)."""
    m = device(readout_p01=0.1, readout_p10=0.1)
    p = parse_program(HEAD + "qubit[1] q;\nbit[1] c;\nx q[0];\nc[0] = measure q[0];\n", qubits=2)
    r = run_program(p, shots=20_000, noise=m, seed=2)
    out = r.by_register()["output_all"]
    assert abs(out[:, 1].mean() - 0.1) < 5 * sigma(0.1, 20_000)
    assert abs((1 - out[:, 0]).mean() - 0.1) < 5 * sigma(0.1, 20_000)  # read once, not twice


# --------------------------------------------------------------------------- published models

GOLDEN_DYNAMIC = (
    "qubit[4] q;\nbit[4] c;\nh q[0];\nc[0] = measure q[0];\n"
    "if (c[0]) { x q[1]; } else { ry(0.7) q[2]; }\n"
    "cx q[1], q[2];\nc[1] = measure q[2];\nreset q[2];\ncx q[0], q[3];\n"
    "c[2] = measure q[3];\nc[3] = measure q[2];\n"
)
GOLDEN_STATIC = "qubit[3] q;\nbit[3] c;\nh q[0];\ncx q[0], q[1];\nry(0.8) q[2];\nc = measure q;\n"


@pytest.mark.parametrize(
    ("model", "body", "digest"),
    [
        ("aria-1", GOLDEN_DYNAMIC, "fcdf93a6c0fec740"),
        ("aria-1", GOLDEN_STATIC, "0aef1e01bc33d089"),
        ("forte-1", GOLDEN_DYNAMIC, "ad3889103f24d600"),
        ("forte-1", GOLDEN_STATIC, "a217f3b81d763e72"),
        ("harmony", GOLDEN_DYNAMIC, "3286b29719bfecd6"),
        ("harmony", GOLDEN_STATIC, "2c9b45e884e4e24f"),
    ],
)
def test_published_models_on_the_simulator_are_unchanged(
    model: str, body: str, digest: str
) -> None:
    """Pinned before the device model reached dynamic programs (same program, shots, seed)."""
    r = run_program(parse_program(HEAD + body), shots=3000, noise=noise_model(model), seed=2024)
    assert hashlib.sha256(r.bits.tobytes()).hexdigest()[:16] == digest

"""The device model of emulated QPUs (issue 17), each term against an independent calculation.

* readout: per-bit flip rates on |0…0⟩ and |1…1⟩ against the SPAM fidelity and its split;
* idle: ⟨X⟩ of |+⟩ after a known delay against ``e^{−t/T2}``;
* 1q and 2q gates: the process fidelity of the emulated gate channel, built here from its
  Kraus operators (Choi matrix), against the characterization's fidelity (read as a process
  fidelity, or as an average one under the ``average`` convention); the gate terms of a
  characterization holding Forte's DRB figures against IonQ's published ``forte-1`` model;
* systematic error: debiasing (variants on other physical pairs) brings a linear observable
  closer to ideal than the raw run;
* reproducibility, and the published simulator models unchanged (pinned digests).
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from tests.quantum.qhelpers import native, qis

from ionstack.quantum import gates as G
from ionstack.quantum import sampling
from ionstack.quantum.debias import run_debiased
from ionstack.quantum.device import (
    Characterization,
    DeviceModel,
    apply_readout,
    apply_readout_bits,
    device_model,
    locations,
)
from ionstack.quantum.noise import noise_model
from ionstack.quantum.simulate import run

PAULIS = [
    np.eye(2, dtype=complex),
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]], dtype=complex),
    np.array([[1, 0], [0, -1]], dtype=complex),
]
INF = math.inf


def model(
    *,
    f1q: float = 1.0,
    f2q: float = 1.0,
    fspam: float = 1.0,
    t1: float = INF,
    t2: float = INF,
    time_1q: float = 0.0,
    time_2q: float = 0.0,
    family: str = "zz",
    convention: str = "process",
    coherent_fraction: float = 0.25,
    bright_share: float = 0.75,
    char_id: str = "test-characterization",
) -> DeviceModel:
    char = Characterization(
        id=char_id,
        fidelity_1q=f1q,
        fidelity_2q=f2q,
        fidelity_spam=fspam,
        t1=t1,
        t2=t2,
        time_1q=time_1q,
        time_2q=time_2q,
    )
    return device_model(
        "qpu.test",
        char,
        max_qubits=36,
        native_2q="zz" if family == "zz" else "ms",
        fidelity_convention="average" if convention == "average" else "process",
        coherent_fraction=coherent_fraction,
        readout_bright_share=bright_share,
    )


def bit_rates(samples: list[int], n: int) -> np.ndarray:
    """Per shot and qubit, the measured bit (shots × n)."""
    arr = np.asarray(samples, dtype=np.int64)
    return (arr[:, None] >> np.arange(n)) & 1


# --------------------------------------------------------------------------- readout


@pytest.mark.parametrize("method", ["trajectories", "density_matrix"])
def test_readout_error_rates_match_the_spam_fidelity(method: str) -> None:
    fspam, share, n, shots = 0.99, 0.75, 4, 20_000
    m = model(fspam=fspam, bright_share=share)
    spam_error = 2 * (1 - fspam)  # (p01 + p10) / 2 = 1 − F_spam
    expected = {0: (1 - share) * spam_error, 1: share * spam_error}  # P(misread | prepared)
    zeros = native([{"gate": "gpi", "target": q, "phase": 0} for q in range(n)] * 2, n)
    ones = native([{"gate": "gpi", "target": q, "phase": 0} for q in range(n)], n)
    measured = {}
    for prepared, circuit in ((0, zeros), (1, ones)):
        r = run(circuit, shots=shots, noise=m, seed=11, method=method)  # type: ignore[arg-type]
        assert r.samples is not None
        bits = bit_rates(r.samples, n)
        rate = float(np.mean(bits != prepared))
        p = expected[prepared]
        sigma = math.sqrt(p * (1 - p) / (shots * n))
        assert abs(rate - p) < 5 * sigma, (prepared, rate, p, sigma)
        measured[prepared] = rate
    # the SPAM fidelity itself, as a characterization would estimate it
    estimate = 1 - (measured[0] + measured[1]) / 2
    sigma = math.sqrt(sum(p * (1 - p) for p in expected.values()) / (shots * n)) / 2
    assert abs(estimate - fspam) < 5 * sigma


def test_readout_hook_on_bits_and_integers_is_the_same_draw() -> None:
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    samples = np.arange(64, dtype=np.int64) % 16
    ints = apply_readout(samples, 4, 0.1, 0.3, rng_a)
    bits = apply_readout_bits(bit_rates(samples.tolist(), 4).astype(bool), 0.1, 0.3, rng_b)
    assert ints.tolist() == sampling.bits_to_ints(bits)


# --------------------------------------------------------------------------- idle


@pytest.mark.parametrize("method", ["trajectories", "density_matrix"])
def test_idle_decay_of_plus_matches_t2(method: str) -> None:
    t1, t2, delay, shots = 100.0, 1.0, 0.5, 20_000
    m = model(t1=t1, t2=t2)
    # Ry(π/2) |0⟩ = |+⟩, a delay, Ry(−π/2): P(1) = (1 − ⟨X⟩)/2 with ⟨X⟩ = e^{−t/T2}
    circuit = native(
        [
            {"gate": "gpi2", "target": 0, "phase": 0.25},
            {"gate": "nop", "time": delay * 1e6},
            {"gate": "gpi2", "target": 0, "phase": 0.75},
        ],
        1,
    )
    r = run(circuit, shots=shots, noise=m, seed=3, method=method)  # type: ignore[arg-type]
    assert r.samples is not None
    p1 = float(np.mean(np.asarray(r.samples) == 1))
    expected = (1 - math.exp(-delay / t2)) / 2
    sigma = math.sqrt(expected * (1 - expected) / shots)
    assert abs(p1 - expected) < 5 * sigma, (p1, expected)


def test_idle_time_comes_from_the_other_qubits_gates() -> None:
    """Gates run one at a time: qubit 0 waits while qubit 1's gates run."""
    m = model(t1=100.0, t2=1.0, time_1q=0.1)
    gates = [{"gate": "gpi2", "target": 0, "phase": 0.25}]
    gates += [{"gate": "gpi", "target": 1, "phase": 0}] * 4  # 0.4 s on qubit 1
    gates += [{"gate": "gpi2", "target": 0, "phase": 0.75}]
    locs = locations(m, native(gates, 2))
    idle_z = [loc for loc in locs if loc.kind == 1 and loc.qubits == (0,)]
    assert len(idle_z) == 1
    b = idle_z[0].prob
    a = next(loc.prob for loc in locs if loc.kind == 3 and loc.qubits == (0,) and loc.prob) / 3
    # ⟨X⟩ factor of the twirled channel: (1 − 4a)(1 − 2b) = e^{−t/T2}
    assert (1 - 4 * a) * (1 - 2 * b) == pytest.approx(math.exp(-0.4 / 1.0), rel=1e-12)
    assert 1 - 4 * a == pytest.approx(math.exp(-0.4 / 100.0), rel=1e-12)


# --------------------------------------------------------------------------- 2q gate


def process_fidelity(kraus: list[np.ndarray], ideal: np.ndarray) -> float:
    """⟨Φ_U|(E⊗I)(Φ)|Φ_U⟩ from the Choi matrix of E, with Φ the maximally entangled state."""
    d = ideal.shape[0]
    phi = np.eye(d, dtype=complex).reshape(d * d) / math.sqrt(d)
    choi = sum(
        np.outer(np.kron(k, np.eye(d)) @ phi, (np.kron(k, np.eye(d)) @ phi).conj()) for k in kraus
    )
    target = np.kron(ideal, np.eye(d)) @ phi
    return float(np.real(target.conj() @ choi @ target))


@pytest.mark.parametrize(
    ("family", "gate"),
    [
        ("zz", {"gate": "zz", "targets": [0, 1], "angle": 0.25}),
        ("ms", {"gate": "ms", "targets": [0, 1], "phases": [0.0, 0.25]}),
        ("ms", {"gate": "ms", "targets": [0, 1], "phases": [0.1, 0.7]}),
    ],
)
@pytest.mark.parametrize("f2q", [0.9954, 0.996, 0.98])
@pytest.mark.parametrize("convention", ["process", "average"])
def test_a_2q_gate_has_the_characterized_fidelity(
    family: str, gate: dict, f2q: float, convention: str
) -> None:
    m = model(f2q=f2q, family=family, coherent_fraction=0.25, convention=convention)
    circuit = native([gate], 2)
    (loc,) = locations(m, circuit)
    assert loc.kind == 15
    ideal = G.base_matrix(circuit.gates[0], "native")
    kraus = [math.sqrt(1 - loc.prob) * loc.matrix]
    kraus += [
        math.sqrt(loc.prob / 15) * np.kron(PAULIS[i], PAULIS[j]) @ loc.matrix
        for i in range(4)
        for j in range(4)
        if (i, j) != (0, 0)
    ]
    f_pro = process_fidelity(kraus, ideal)
    f_avg = (4 * f_pro + 1) / 5  # d = 4: F_avg = (d·F_pro + 1)/(d + 1)
    assert (f_pro if convention == "process" else f_avg) == pytest.approx(f2q, abs=1e-12)
    # and the systematic share is the over-rotation alone
    f_coherent = process_fidelity([loc.matrix], ideal)
    e2 = (1 - f_pro) if convention == "process" else 1.25 * (1 - f2q)
    assert 1 - f_coherent == pytest.approx(0.25 * e2, rel=1e-9)


@pytest.mark.parametrize("convention", ["process", "average"])
def test_a_1q_gate_has_the_characterized_fidelity(convention: str) -> None:
    m = model(f1q=0.9995, convention=convention)
    circuit = native([{"gate": "gpi2", "target": 0, "phase": 0.3}], 1)
    (loc,) = locations(m, circuit)
    kraus = [math.sqrt(1 - loc.prob) * loc.matrix]
    kraus += [math.sqrt(loc.prob / 3) * p @ loc.matrix for p in PAULIS[1:]]
    f_pro = process_fidelity(kraus, loc.matrix)
    f_avg = (2 * f_pro + 1) / 3  # d = 2
    assert (f_pro if convention == "process" else f_avg) == pytest.approx(0.9995, abs=1e-12)


def test_forte_drb_figures_give_ionq_published_forte_1_gate_channels() -> None:
    """IonQ's ``forte-1`` simulator model (semantics.md §4, published) was made from Forte's DRB
    error rates (arXiv:2308.05071: 2.0e-4 and 46.4e-4); a characterization holding those figures
    gives the same depolarizing rates once the systematic share is zero."""
    m = model(f1q=1 - 2.0e-4, f2q=1 - 46.4e-4, coherent_fraction=0.0)
    published = noise_model("forte-1")
    assert m.p1q == pytest.approx(published.p1q, rel=1e-9)
    assert m.p2q == pytest.approx(published.p2q, rel=1e-9)


def test_over_rotation_signs_are_static_per_pair_and_vary_across_pairs() -> None:
    m = model(f2q=0.99)
    signs = {(a, b): m.pair_sign(a, b) for a in range(10) for b in range(a + 1, 10)}
    assert set(signs.values()) == {-1, 1}
    assert all(m.pair_sign(b, a) == s for (a, b), s in signs.items())
    other = model(f2q=0.99, char_id="another day")
    assert any(other.pair_sign(a, b) != s for (a, b), s in signs.items())


# --------------------------------------------------------------------------- debiasing


def test_debiasing_averages_the_systematic_error_away() -> None:
    """⟨X₀⟩ after ZZ(θ) on |++⟩ is cos 2πθ: linear in the over-rotation at θ = ⅛."""
    m = model(f2q=0.98, coherent_fraction=1.0)
    theta, shots = 0.125, 10_000
    circuit = native(
        [
            {"gate": "gpi2", "target": 0, "phase": 0.25},
            {"gate": "gpi2", "target": 1, "phase": 0.25},
            {"gate": "zz", "targets": [0, 1], "angle": theta},
            {"gate": "gpi2", "target": 0, "phase": 0.75},
        ],
        2,
    )
    ideal = math.cos(2 * math.pi * theta)

    def x0(samples: list[int]) -> float:
        bits = np.asarray(samples) & 1
        return float(1 - 2 * np.mean(bits))

    raw = run(circuit, shots=shots, noise=m, seed=21)
    assert raw.samples is not None
    variants = run_debiased(circuit, shots=shots, noise=m, seed=21, backend_qubits=36)
    debiased = x0([s for v in variants for s in (v.result.samples or [])])
    raw_error = abs(x0(raw.samples) - ideal)
    shot_sigma = 1 / math.sqrt(shots)
    assert raw_error > 10 * shot_sigma  # the systematic error is visible raw
    assert abs(debiased - ideal) < raw_error / 2


# --------------------------------------------------------------------------- reproducibility

_SCRIPT = """
import hashlib, json, sys
from ionstack.quantum.device import Characterization, device_model
from ionstack.quantum.debias import run_debiased
from ionstack.quantum.circuit import parse_circuit
from ionstack.quantum.simulate import run
char = Characterization(id="c", fidelity_1q=0.9998, fidelity_2q=0.9954, fidelity_spam=0.9962,
                        t1=100.0, t2=1.0, time_1q=135e-6, time_2q=600e-6)
m = device_model("qpu.forte-1", char, max_qubits=36, native_2q="zz")
gates = [{"gate": "h", "target": 0}] + [
    {"gate": "cnot", "control": i, "target": i + 1} for i in range(4)]
c = parse_circuit(gates, gateset="qis", qubits=5)
out = []
for method in ("trajectories", "density_matrix", "stabilizer"):
    out.append(run(c, shots=500, noise=m, seed=9, method=method).samples)
out.append([v.result.samples for v in run_debiased(c, shots=500, noise=m, seed=9,
                                                   backend_qubits=36)])
print(hashlib.sha256(json.dumps(out).encode()).hexdigest())
"""


def test_seeded_runs_are_byte_reproducible_across_processes() -> None:
    digests = {
        subprocess.run(
            [sys.executable, "-c", _SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(h), **_env()},
        ).stdout.strip()
        for h in (1, 2)
    }
    assert len(digests) == 1


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}


def test_a_different_characterization_gives_different_results() -> None:
    c = qis([{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}], 2)
    a = run(c, shots=2000, noise=model(f2q=0.98, fspam=0.99, char_id="a"), seed=1)
    b = run(c, shots=2000, noise=model(f2q=0.98, fspam=0.99, char_id="a"), seed=1)
    other = run(c, shots=2000, noise=model(f2q=0.97, fspam=0.99, char_id="a"), seed=1)
    assert a.samples == b.samples
    assert a.samples != other.samples


# --------------------------------------------------------------------------- published models

#: sha256 of the samples of the published simulator models on a fixed circuit, computed with
#: the code before the device model existed (commit 1acbc49): they must not move.
PUBLISHED_DIGESTS = {
    ("aria-1", "trajectories"): "da2fd137388f57f468735c9f52b4858d756cc5849e7902ddca806e674bea9fae",
    (
        "aria-1",
        "density_matrix",
    ): "48480bbc7ab9c01293148a2e99d90d497e574d7e29d250ed5c1176dc79ec67d6",
    ("aria-1", "stabilizer"): "fb51528e623cb5a577e92cc05437aec2253f4723d08daad83a541daf2dd1e0bf",
    ("forte-1", "trajectories"): "677af64ab9c7ab31b11ce4716b977dca47beb06e7db26b55ce587440507f1d40",
    (
        "forte-1",
        "density_matrix",
    ): "20b0895a39e0356009b47bd45974c1855a57a222be4b890a207ed0506c28c65f",
    ("forte-1", "stabilizer"): "9fadad174b79c3d80e2f1b78bd0ed8ad40c44a9507a0e855caaa565eefabb244",
}


@pytest.mark.parametrize(("name", "method"), sorted(PUBLISHED_DIGESTS))
def test_published_simulator_models_are_unchanged(name: str, method: str) -> None:
    gates = [{"gate": "h", "target": 0}] + [
        {"gate": "cnot", "control": i, "target": i + 1} for i in range(4)
    ]
    c = qis(gates, 5)
    r = run(c, shots=3000, noise=noise_model(name), seed=1234, method=method)  # type: ignore[arg-type]
    digest = hashlib.sha256(json.dumps(r.samples).encode()).hexdigest()
    assert digest == PUBLISHED_DIGESTS[(name, method)]


def test_trajectories_and_density_matrix_agree_under_the_device_model() -> None:
    """The same channels on both paths (the density matrix is exact): every outcome's
    frequency within 5σ."""
    m = model(
        f1q=0.99, f2q=0.95, fspam=0.98, t1=10.0, t2=0.5, time_1q=0.01, time_2q=0.03, family="ms"
    )
    gates = [{"gate": "h", "target": 0}]
    gates += [{"gate": "cnot", "control": i, "target": i + 1} for i in range(2)]
    gates += [{"gate": "rx", "target": q, "rotation": 0.7} for q in range(3)]
    c = qis(gates, 3)
    shots = 40_000
    a = run(c, shots=shots, noise=m, seed=5, method="trajectories").histogram or {}
    b = run(c, shots=shots, noise=m, seed=6, method="density_matrix").histogram or {}
    for k in range(8):
        pa, pb = a.get(k, 0) / shots, b.get(k, 0) / shots
        sigma = math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / shots) + 1e-9
        assert abs(pa - pb) < 5 * sigma, (k, pa, pb)


def test_compacted_runs_keep_the_physical_pairs_and_read_every_declared_qubit() -> None:
    """A circuit on qubits 2 and 3 of 4 runs compacted (issue 16) but on physical pair {2, 3};
    the idle declared qubits are still measured, with readout error."""
    m = model(f2q=0.98, coherent_fraction=1.0)
    gates = [
        {"gate": "gpi2", "target": 2, "phase": 0.25},
        {"gate": "gpi2", "target": 3, "phase": 0.25},
        {"gate": "zz", "targets": [2, 3], "angle": 0.125},
        {"gate": "gpi2", "target": 2, "phase": 0.75},
    ]
    narrow_gates = [
        {**g, "target": g["target"] - 2} if "target" in g else {**g, "targets": [0, 1]}
        for g in gates
    ]
    wide = run(native(gates, 4), shots=3000, noise=m, seed=4)
    on_23 = run(native(narrow_gates, 2), shots=3000, noise=m.placed((2, 3)), seed=4)
    assert wide.samples is not None and on_23.samples is not None
    assert [s >> 2 for s in wide.samples] == on_23.samples
    other = next(
        (a, b)
        for a in range(36)
        for b in range(a + 1, 36)
        if m.pair_sign(a, b) != m.pair_sign(2, 3)
    )
    elsewhere = run(native(narrow_gates, 2), shots=3000, noise=m.placed(other), seed=4)
    assert elsewhere.samples != on_23.samples
    # readout error on declared qubits no gate touches
    fspam, n, shots = 0.95, 3, 20_000
    noisy = model(fspam=fspam)
    r = run(native([{"gate": "gpi", "target": 0, "phase": 0}], n), shots=shots, noise=noisy, seed=8)
    assert r.samples is not None
    idle_bits = bit_rates(r.samples, n)[:, 1:]
    p01 = 0.25 * 2 * (1 - fspam)
    sigma = math.sqrt(p01 * (1 - p01) / idle_bits.size)
    assert abs(float(np.mean(idle_bits)) - p01) < 5 * sigma

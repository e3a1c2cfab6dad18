"""qiskit-ionq, unchanged, against ionstack (clients.md §1).

Configuration exactly as the README shows: ``IonQProvider(token=KEY, url=BASE)`` plus env
``IONQ_API_URL`` (qiskit-ionq sizes its backends with unauthenticated
``GET {IONQ_API_URL}/backends/{name}`` lookups that ignore ``url=``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest
import qiskit_ionq.helpers
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.providers.jobstatus import JobStatus
from qiskit.quantum_info import Statevector
from qiskit_ionq import ErrorMitigation, GPI2Gate, GPIGate, IonQProvider, MSGate, ZZGate
from qiskit_ionq.exceptions import IonQJobError, IonQJobStateError

from conftest import Server, hold_worker, wait_terminal

POLL = 0.1  # seconds between qiskit's status polls (default 5)
TIMEOUT = 120


@pytest.fixture
def provider(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[IonQProvider]:
    # qiskit-ionq reads a .env file found by walking up from its install directory, and its
    # values win over the environment: keep a developer's .env (a real IonQ key) out of tests.
    monkeypatch.setattr(qiskit_ionq.helpers, "dotenv_values", lambda *a, **k: {})
    monkeypatch.setenv("IONQ_API_URL", server.url)
    yield IonQProvider(token=server.key, url=server.url)


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def ghz(n: int = 3) -> QuantumCircuit:
    qc = QuantumCircuit(n, n, name=f"ghz{n}")
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure(range(n), range(n))
    return qc


def approx(probabilities: dict[str, float], expected: dict[str, float]) -> bool:
    keys = set(probabilities) | set(expected)
    return all(
        math.isclose(probabilities.get(k, 0.0), expected.get(k, 0.0), abs_tol=1e-9) for k in keys
    )


# --- backends ----------------------------------------------------------------------------------


def test_backends_are_sized_from_unauthenticated_lookups(provider: IonQProvider) -> None:
    names = {b.name for b in provider.backends()}
    assert {"ionq_simulator", "ionq_qpu"} <= names
    # num_qubits comes from GET /backends/{name} without a key; any failure would give 4.
    assert provider.get_backend("simulator").num_qubits == 29
    assert provider.get_backend("qpu.aria-1").num_qubits == 25
    assert provider.get_backend("qpu.forte-1").num_qubits == 36


def test_qpu_status_and_calibration(provider: IonQProvider) -> None:
    aria = provider.get_backend("qpu.aria-1")
    assert aria.status() is True
    calibration = aria.calibration()
    assert calibration is not None
    assert calibration.backend == "qpu.aria-1"
    assert calibration.qubits == 25
    assert calibration.date.tzinfo is not None
    assert 0.9 < calibration.median_spam_fidelity <= 1
    assert {"readout", "reset"} <= set(calibration.timing)
    assert calibration.connectivity and all(len(pair) == 2 for pair in calibration.connectivity)
    simulator = provider.get_backend("simulator")
    assert simulator.status() is True and simulator.calibration() is None


# --- ideal simulator ---------------------------------------------------------------------------


def test_bell_ideal_probabilities_are_exact(provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    job = backend.run(bell(), shots=1000, sampler_seed=5)
    result = job.result(wait=POLL, timeout=TIMEOUT)
    assert job.status() is JobStatus.DONE
    assert approx(result.get_probabilities(), {"00": 0.5, "11": 0.5})
    counts = result.get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 1000
    assert 400 <= counts["00"] <= 600  # sampled client-side from exact 0.5/0.5 with a seed


def test_compiled_circuit_artifacts(provider: IonQProvider) -> None:
    job = provider.get_backend("simulator").run(bell(), shots=100)
    job.result(wait=POLL, timeout=TIMEOUT)
    native = job.compiled_circuit("native")  # output.compilation.compiled_circuits → artifact
    assert isinstance(native, dict) and native["qubits"] == 2
    assert {g["gate"] for g in native["circuit"]} <= {"gpi", "gpi2", "ms"}
    program = job.compiled_circuit("qasm3")
    assert isinstance(program, str) and program.startswith("OPENQASM 3")
    dynamic = provider.get_backend("simulator").run(reuse(), shots=10)
    dynamic.result(wait=POLL, timeout=TIMEOUT)
    assert "measure" in dynamic.compiled_circuit("qasm3")
    with pytest.raises(IonQJobError):  # a flat native gate list cannot hold reset
        dynamic.compiled_circuit("native")


def test_ghz_ideal_and_partial_measurement(provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    assert approx(
        backend.run(ghz(4), shots=500).result(wait=POLL, timeout=TIMEOUT).get_probabilities(),
        {"0000": 0.5, "1111": 0.5},
    )
    # Classical bits are mapped from metadata.qiskit_header, which must come back byte-exact.
    qc = QuantumCircuit(3, 1, name="x-on-2")
    qc.x(2)
    qc.measure(2, 0)
    result = backend.run(qc, shots=100).result(wait=POLL, timeout=TIMEOUT)
    assert approx(result.get_probabilities(), {"1": 1.0})


def test_native_gates_match_their_matrices(provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator", gateset="native")
    ms = QuantumCircuit(2, 2, name="ms")
    ms.append(MSGate(0, 0, 0.25), [0, 1])
    zz = QuantumCircuit(2, 2, name="zz")
    zz.append(GPI2Gate(0), [0])
    zz.append(GPI2Gate(0.25), [1])
    zz.append(ZZGate(0.125), [0, 1])
    zz.append(GPI2Gate(0.5), [0])
    zz.append(GPIGate(0.1), [1])
    for qc in (ms, zz):
        expected = Statevector(qc.remove_final_measurements(inplace=False)).probabilities_dict()
        qc.measure([0, 1], [0, 1])
        got = backend.run(qc, shots=1000).result(wait=POLL, timeout=TIMEOUT).get_probabilities()
        assert approx(got, {k: v for k, v in expected.items() if v > 1e-12}), (qc.name, got)


def test_batch_of_circuits(provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    job = backend.run([bell(), ghz(3)], shots=1000)
    result = job.result(wait=POLL, timeout=TIMEOUT)
    assert approx(result.get_probabilities(0), {"00": 0.5, "11": 0.5})
    assert approx(result.get_probabilities(1), {"000": 0.5, "111": 0.5})
    assert set(result.get_counts(0)) == {"00", "11"}
    assert set(result.get_counts(1)) == {"000", "111"}
    detailed = job.status(detailed=True)
    assert detailed["total"] == 2 and detailed["completed"] == 2


def test_retrieve_job_from_a_fresh_provider(server: Server, provider: IonQProvider) -> None:
    job_id = provider.get_backend("simulator").run(bell(), shots=200).job_id()
    fresh = IonQProvider(token=server.key, url=server.url).get_backend("simulator")
    again = fresh.retrieve_job(job_id)
    result = again.result(wait=POLL, timeout=TIMEOUT)
    assert again.job_id() == job_id
    assert approx(result.get_probabilities(), {"00": 0.5, "11": 0.5})
    assert sum(result.get_counts().values()) == 200


# --- noisy simulator ---------------------------------------------------------------------------


def test_noisy_ghz_is_seeded_and_shows_errors(provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    # The noise seed is the backend option sampler_seed (run(sampler_seed=) only reaches
    # metadata: a qiskit-ionq quirk, clients.md §1.3).
    backend.set_options(noise_model="aria-1", sampler_seed=11)
    runs = [backend.run(ghz(3), shots=2000, memory=True) for _ in range(2)]
    results = [job.result(wait=POLL, timeout=TIMEOUT) for job in runs]
    probabilities = [r.get_probabilities() for r in results]
    assert probabilities[0] == probabilities[1]  # same seed, same outcome
    p = probabilities[0]
    good = p.get("000", 0) + p.get("111", 0)
    assert 0.8 < good < 1.0, p  # mostly GHZ, with some error outcomes
    assert abs(p.get("000", 0) - p.get("111", 0)) < 0.15
    memory = results[0].get_memory()  # per-shot outcomes from /results/shots
    assert len(memory) == 2000 and set(memory) <= set(p)


# --- dynamic circuits (ionq.qasm3.v1, issue 15) ------------------------------------------------


def reuse() -> QuantumCircuit:
    """Measure q0, reset it, flip it, measure again: c[1] is always 1 (qubit reuse)."""
    qc = QuantumCircuit(1, 2, name="reuse")
    qc.h(0)
    qc.measure(0, 0)
    qc.reset(0)
    qc.x(0)
    qc.measure(0, 1)
    return qc


def feed_forward() -> QuantumCircuit:
    """c0 = measure(h q0); if c0: x q1; c1 = measure q1 → c1 == c0 every shot (two registers)."""
    q = QuantumRegister(2, "q")
    first, second = ClassicalRegister(1, "first"), ClassicalRegister(1, "second")
    qc = QuantumCircuit(q, first, second, name="feed-forward")
    qc.h(0)
    qc.measure(0, first[0])
    with qc.if_test((first, 1)):
        qc.x(1)
    qc.measure(1, second[0])
    return qc


def teleport(theta: float) -> QuantumCircuit:
    """Teleport ry(theta)|0⟩ from q0 to q2 with feed-forward corrections; measure q2."""
    q = QuantumRegister(3, "q")
    m0, m1, out = (
        ClassicalRegister(1, "m0"),
        ClassicalRegister(1, "m1"),
        ClassicalRegister(1, "out"),
    )
    qc = QuantumCircuit(q, m0, m1, out, name="teleport")
    qc.ry(theta, 0)
    qc.h(1)
    qc.cx(1, 2)
    qc.cx(0, 1)
    qc.h(0)
    qc.measure(0, m0[0])
    qc.measure(1, m1[0])
    with qc.if_test((m1, 1)):
        qc.x(2)
    with qc.if_test((m0, 1)):
        qc.z(2)
    qc.measure(2, out[0])
    return qc


def test_dynamic_circuits_are_sent_as_qasm3_and_answered(
    provider: IonQProvider, api: httpx.Client
) -> None:
    backend = provider.get_backend("simulator")
    job = backend.run(reuse(), shots=400)
    counts = job.result(wait=POLL, timeout=TIMEOUT).get_counts()
    assert api.get(f"/jobs/{job.job_id()}").json()["type"] == "ionq.qasm3.v1"
    assert sum(counts.values()) == 400
    assert {k[0] for k in counts} == {"1"}  # clbit 1 (leftmost) is always 1
    assert set(counts) == {"10", "11"}  # clbit 0: the first measurement of h|0⟩

    counts = backend.run(feed_forward(), shots=400).result(wait=POLL, timeout=TIMEOUT).get_counts()
    assert set(counts) == {"0 0", "1 1"}, counts  # registers "second first": always equal


def test_teleportation_statistics(provider: IonQProvider) -> None:
    theta = 1.1
    shots = 2000
    counts = (
        provider.get_backend("simulator")
        .run(teleport(theta), shots=shots)
        .result(wait=POLL, timeout=TIMEOUT)
        .get_counts()
    )
    ones = sum(n for key, n in counts.items() if key.split(" ")[0] == "1")  # register "out"
    p = math.sin(theta / 2) ** 2
    sigma = math.sqrt(shots * p * (1 - p))
    assert abs(ones - shots * p) < 5 * sigma, (ones, shots * p)


def test_dynamic_circuit_under_aria_noise_is_seeded(provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    backend.set_options(noise_model="aria-1", sampler_seed=3)
    runs = [backend.run(feed_forward(), shots=1000) for _ in range(2)]
    counts = [job.result(wait=POLL, timeout=TIMEOUT).get_counts() for job in runs]
    assert counts[0] == counts[1]  # same seed, same shots
    agree = counts[0].get("0 0", 0) + counts[0].get("1 1", 0)
    assert agree >= 900, counts[0]  # dominated by the ideal outcomes


# --- QPU emulation with debiasing --------------------------------------------------------------


def test_aria_debiased_run_and_sharpened_results(provider: IonQProvider, api: httpx.Client) -> None:
    backend = provider.get_backend("qpu.aria-1")
    job = backend.run(bell(), shots=600, error_mitigation=ErrorMitigation.DEBIASING)
    averaged = job.result(wait=POLL, timeout=TIMEOUT).get_probabilities()
    sharpened = job.result(sharpen=True, wait=POLL, timeout=TIMEOUT).get_probabilities()
    assert 0.8 < averaged.get("00", 0) + averaged.get("11", 0) <= 1.0, averaged
    assert set(sharpened) <= {"00", "11"} and math.isclose(sum(sharpened.values()), 1.0)
    stored = api.get(f"/jobs/{job.job_id()}").json()
    assert stored["settings"]["error_mitigation"]["debiasing"] is True
    assert stored["output"]["error_mitigation"]["debiasing"]["variants"]


# --- cancel and dry run ------------------------------------------------------------------------


def test_cancel_a_queued_job(provider: IonQProvider, api: httpx.Client) -> None:
    holder = hold_worker(api)
    try:
        job = provider.get_backend("simulator").run(bell(), shots=100)
        job.cancel()
        with pytest.warns(UserWarning, match="cancelled"):
            assert job.status() is JobStatus.CANCELLED
        with pytest.raises(IonQJobStateError):
            job.result(wait=POLL, timeout=TIMEOUT)
    finally:
        api.put(f"/jobs/{holder}/status/cancel")
    assert api.get(f"/jobs/{job.job_id()}").json()["status"] == "canceled"


def test_cancel_of_a_finished_job_is_a_no_op(provider: IonQProvider, api: httpx.Client) -> None:
    backend = provider.get_backend("simulator")
    job = backend.run(bell(), shots=100)
    job.result(wait=POLL, timeout=TIMEOUT)
    backend.cancel_job(job.job_id())  # qiskit-ionq documents this as a no-op
    assert api.get(f"/jobs/{job.job_id()}").json()["status"] == "completed"
    assert job.status() is JobStatus.DONE


def test_dry_run(provider: IonQProvider, api: httpx.Client) -> None:
    job = provider.get_backend("simulator").run(bell(), shots=100, dry_run=True)
    stored = wait_terminal(api, job.job_id())
    assert stored["dry_run"] is True and stored["results"] is None
    assert job.status() is JobStatus.DONE and job.dry_run is True
    with pytest.raises(IonQJobError, match="dry_run"):
        job.result(wait=POLL, timeout=TIMEOUT)


# --- not yet served (issue 6) ------------------------------------------------------------------


def test_cost_estimate(provider: IonQProvider) -> None:
    client = provider.get_backend("qpu.aria-1").client
    estimate = client.estimate_job(
        backend="qpu.aria-1", oneq_gates=10, twoq_gates=4, qubits=2, shots=100
    )
    assert estimate.backend == "qpu.aria-1" and estimate.shots == 100
    assert estimate.cost is not None and estimate.cost > 0
    assert estimate.cost_unit and estimate.estimated_at is not None


def test_session(provider: IonQProvider) -> None:
    from qiskit_ionq import Session

    backend = provider.get_backend("qpu.aria-1")
    with Session(backend=backend, max_jobs=2) as session:
        job = backend.run(bell(), shots=100)
        assert job.result(wait=POLL, timeout=TIMEOUT).get_counts()
        # qiskit-ionq reads "state" and "usage_time" (clients.md §1.2; spec: "status").
        assert session.status() in ("created", "started")
        assert session.usage() is not None
    assert session.details()["id"] == session.session_id

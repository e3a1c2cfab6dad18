"""qBraid's IonQ provider (``qbraid.runtime.ionq``), unchanged, against ionstack (clients.md §5b).

Configuration exactly as the README shows: ``IonQProvider(api_key=KEY)`` then
``provider.session.base_url = URL`` before the first ``get_device(s)`` (qBraid hard-codes
``https://api.ionq.co/v0.4`` and reads no variable for it).

qbraid needs pydantic 2 and the ``ionq`` SDK pydantic 1, so this file runs in its own venv,
``.venv-clients/qbraid`` (``requirements-qbraid.txt``, ``scripts/install-clients``); from
``.venv-clients`` the whole suite runs it there through ``test_qbraid_venv.py``.

Programs are OpenQASM 2 and 3 strings, which qbraid converts client-side to IonQ's QIS circuit
JSON. qiskit is not installed in this venv: with qiskit-ionq installed too, qbraid transpiles
qiskit circuits with a ``qiskit_ionq.IonQProvider(token=...)`` of its own, which knows only IonQ's
URL (or ``IONQ_API_URL``).

qBraid 0.13.0 behaviour against v0.4 that no server can change, tested as it is:
- ``result()`` reads ``failure.error``; v0.4 has ``failure.message``, so a failed job raises
  ``IonQJobError("Job failed with code InvalidInput: None")``.
- Counts are not sampled: they are ``shots`` × the probabilities, rounded (``distribute_counts``).
- A batch is one ``ionq.multi-circuit.v1`` job; every circuit's bitstrings get the widest
  circuit's width (``stats.qubits`` of the parent), so a Bell pair beside a 3-qubit GHZ reads
  ``000``/``011``; ``Result.data.get_probabilities()`` of a batch raises (``get_counts()`` works).
- ``result()`` of a dry run GETs ``/results/probabilities``, which a dry run does not have: 404.
- ``result()`` polls every 5 s with no timeout; ``wait_for_final_state(poll_interval=)`` first
  (a public method) keeps these tests quick, and ``result()`` then finds the job terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qbraid.runtime import DeviceStatus, JobStatus
from qbraid.runtime.ionq import IonQDevice, IonQJob, IonQProvider
from qbraid.runtime.ionq.job import IonQJobError
from qbraid_core.exceptions import RequestsApiError

from conftest import REPO, Server, hold_worker, wait_terminal

POLL = 0.1  # seconds between qBraid's status polls (default 5)
TIMEOUT = 120
WAITING = (JobStatus.INITIALIZING, JobStatus.QUEUED)  # submitted, ready

pytestmark = pytest.mark.filterwarnings(
    # qbraid drops measurements when it converts OpenQASM to IonQ JSON (IonQ measures all qubits).
    "ignore:Circuit contains measurement gates:UserWarning"
)

BELL_QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q -> c;
"""

BELL_QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""

GHZ3_QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[3] c;
h q[0];
cx q[0], q[1];
cx q[1], q[2];
c = measure q;
"""


@pytest.fixture
def provider(server: Server) -> Iterator[IonQProvider]:
    provider = IonQProvider(api_key=server.key)
    provider.session.base_url = server.url
    yield provider


@pytest.fixture
def simulator(provider: IonQProvider) -> IonQDevice:
    return provider.get_device("simulator")


def finished(job: IonQJob) -> IonQJob:
    job.wait_for_final_state(timeout=TIMEOUT, poll_interval=POLL)
    return job


def assert_bell(counts: dict[str, int], shots: int) -> None:
    assert set(counts) == {"00", "11"}, counts
    assert sum(counts.values()) == shots
    # 0.5/0.5 within 6 binomial standard deviations (qBraid rounds exact 0.5 to shots/2 today).
    sigma = (shots * 0.25) ** 0.5
    assert abs(counts["00"] - shots / 2) <= 6 * sigma, counts


# --- devices -----------------------------------------------------------------------------------


def test_devices_statuses_and_profiles(provider: IonQProvider) -> None:
    devices = {device.id: device for device in provider.get_devices()}
    assert {"simulator", "qpu.aria-1", "qpu.forte-1"} <= set(devices)
    # status() raises on any status outside IonQ's eight: every backend must map.
    statuses = {name: device.status() for name, device in devices.items()}
    assert statuses["simulator"] is DeviceStatus.ONLINE
    assert statuses["qpu.aria-1"] is DeviceStatus.ONLINE
    assert all(isinstance(status, DeviceStatus) for status in statuses.values())

    simulator = provider.get_device("simulator")
    assert simulator.num_qubits == 29 and simulator.simulator
    # noise_models of the backend entry (not in the v0.4 Backend schema) become the profile's.
    assert {"ideal", "aria-1", "forte-1"} <= set(simulator.profile.noise_models)
    assert simulator.avg_queue_time() >= 0
    assert simulator.metadata()["status"] == "ONLINE"

    aria = provider.get_device("qpu.aria-1")
    assert aria.num_qubits == 25 and not aria.simulator
    # Fetched with the key from /backends/qpu.aria-1/characterizations/{characterization_id}.
    characterization = aria.profile.characterization
    assert characterization["backend"] == "qpu.aria-1" and characterization["qubits"] == 25
    assert characterization["connectivity"] and characterization["fidelity"]


def test_readme_snippet_works_as_written(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Pointing IonQ clients at ionstack") :]
    section = section[: section.index("\n## ", 1)]
    snippets = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "qbraid" in b]
    assert len(snippets) == 1, "no qBraid python block under 'Pointing IonQ clients at ionstack'"
    assert "http://127.0.0.1:8000" in snippets[0]
    monkeypatch.setenv("IONQ_API_KEY", server.key)
    names: dict[str, Any] = {}
    exec(snippets[0].replace("http://127.0.0.1:8000", server.root), names)
    job = finished(names["provider"].get_device("simulator").run(BELL_QASM2, shots=100))
    assert_bell(job.result().data.get_counts(), 100)


# --- ideal simulator ---------------------------------------------------------------------------


def test_bell_openqasm2_counts(simulator: IonQDevice, api: httpx.Client) -> None:
    job = simulator.run(BELL_QASM2, shots=1000, name="qbraid-bell")
    # submitted → INITIALIZING, ready → QUEUED, started → RUNNING (qBraid's mapping).
    assert job.status() in (*WAITING, JobStatus.RUNNING, JobStatus.COMPLETED)
    result = job.result()  # as a user would: qBraid's own 5 s polling, no timeout
    assert result.success and result.job_id == job.id and result.device_id == "simulator"
    assert_bell(result.data.get_counts(), 1000)
    assert result.data.get_probabilities() == {"00": 0.5, "11": 0.5}
    assert job.status() is JobStatus.COMPLETED
    assert job.metadata()["status"] is JobStatus.COMPLETED

    stored = api.get(f"/jobs/{job.id}", params={"include": "input"}).json()
    assert stored["type"] == "ionq.circuit.v1" and stored["name"] == "qbraid-bell"
    assert stored["input"]["qubits"] == 2 and stored["input"]["gateset"] == "qis"
    assert stored["stats"]["qubits"] == 2  # sizes qBraid's bitstrings


def test_bell_openqasm3_and_a_job_reopened_by_id(
    simulator: IonQDevice, provider: IonQProvider, server: Server
) -> None:
    job = finished(simulator.run(BELL_QASM3, shots=1000))
    assert_bell(job.result().data.get_counts(), 1000)

    fresh = IonQProvider(api_key=server.key)
    fresh.session.base_url = server.url
    again = IonQJob(job.id, session=fresh.session)
    assert again.status() is JobStatus.COMPLETED
    assert_bell(again.result().data.get_counts(), 1000)


def test_batch_is_one_multi_circuit_job(simulator: IonQDevice, api: httpx.Client) -> None:
    job = finished(simulator.run([BELL_QASM2, GHZ3_QASM3], shots=500, name="qbraid-batch"))
    assert isinstance(job, IonQJob)
    result = job.result()
    bell, ghz = result.data.get_counts()
    # The parent's width (3) applies to every circuit: the Bell pair is qubits 0 and 1 of 3.
    assert bell == {"000": 250, "011": 250}
    assert ghz == {"000": 250, "111": 250}
    with pytest.raises(ValueError, match="must be a dictionary"):  # qBraid: one dict only
        result.data.get_probabilities()

    stored = api.get(f"/jobs/{job.id}", params={"include": "input"}).json()
    assert stored["type"] == "ionq.multi-circuit.v1" and stored["stats"]["qubits"] == 3
    assert [c["name"] for c in stored["input"]["circuits"]] == ["Circuit 0", "Circuit 1"]
    assert len(stored["child_job_ids"]) == 2


# --- noisy simulator and QPU emulation ---------------------------------------------------------


def test_noisy_simulator_is_seeded_and_shows_errors(simulator: IonQDevice) -> None:
    assert "aria-1" in simulator.profile.noise_models
    noise = {"model": "aria-1", "seed": 7}
    runs = [finished(simulator.run(GHZ3_QASM3, shots=2000, noise=noise)) for _ in range(2)]
    counts = [job.result().data.get_counts() for job in runs]
    assert counts[0] == counts[1]  # same seed, same outcome
    c = counts[0]
    assert sum(c.values()) == 2000 and all(len(key) == 3 for key in c)
    good = c.get("000", 0) + c.get("111", 0)
    assert 0.8 * 2000 < good < 2000, c  # mostly GHZ, with some error outcomes


def test_aria_emulation_with_debiasing_and_cost(provider: IonQProvider, api: httpx.Client) -> None:
    aria = provider.get_device("qpu.aria-1")
    job = finished(aria.run(BELL_QASM2, shots=600, error_mitigation={"debiasing": True}))
    counts = job.result().data.get_counts()
    assert sum(counts.values()) == 600 and set(counts) <= {"00", "01", "10", "11"}
    assert counts.get("00", 0) + counts.get("11", 0) > 0.8 * 600, counts
    stored = api.get(f"/jobs/{job.id}").json()
    assert stored["backend"] == "qpu.aria-1"
    assert stored["settings"]["error_mitigation"]["debiasing"] is True
    cost = job.cost()
    assert cost["dry_run"] is False
    assert cost["cost"]["value"] > 0 and cost["cost"]["unit"]


# --- failures, cancel and dry run --------------------------------------------------------------


def test_failed_job_reads_failure_error(simulator: IonQDevice, api: httpx.Client) -> None:
    # submit() takes IonQ's JSON as is (run() only takes programs); qubit 5 of 2 fails the job.
    job = finished(simulator.submit({"qubits": 2, "circuit": [{"gate": "x", "target": 5}]}, 10))
    assert job.status() is JobStatus.FAILED
    assert api.get(f"/jobs/{job.id}").json()["failure"]["code"] == "InvalidInput"
    # qBraid reads failure.error (v0.4: failure.message), so the message is lost client-side.
    with pytest.raises(IonQJobError, match="code InvalidInput: None"):
        job.result()


def test_cancel_a_queued_job(simulator: IonQDevice, api: httpx.Client) -> None:
    holder = hold_worker(api)
    try:
        job = simulator.run(BELL_QASM2, shots=100)
        assert job.status() in WAITING
        job.cancel()
        assert job.status() is JobStatus.CANCELLED
        assert job.is_terminal_state()
        with pytest.raises(IonQJobError):  # result() of a canceled job
            job.result()
    finally:
        api.put(f"/jobs/{holder}/status/cancel")
    assert api.get(f"/jobs/{job.id}").json()["status"] == "canceled"


def test_dry_run(simulator: IonQDevice, api: httpx.Client) -> None:
    job = finished(simulator.run(BELL_QASM2, shots=100, dry_run=True))
    stored = wait_terminal(api, job.id)
    assert stored["dry_run"] is True and stored["results"] is None
    assert job.status() is JobStatus.COMPLETED
    with pytest.raises(RequestsApiError, match="not found"):  # qBraid asks for its results
        job.result()

"""IonQ's newer ``ionq`` SDK (0.0.0a15, alpha), unchanged, against ionstack (clients.md §5).

Configuration exactly as the README shows: ``ionq.Client(api_key=KEY, base_url=BASE)``, or the
environment variables ``IONQ_API_KEY`` and ``IONQ_BASE_URL``. The SDK polls every second and
reads histograms (counts / shots) when a job advertises them, probabilities otherwise.

Not coverable with this SDK: a noise seed or debiasing settings through ``Backend.run`` (only
the lower-level ``client.jobs.create_job`` takes them), sharpening, dry runs and cost estimates
(no such options). Client bugs against a spec-conformant v0.4 server, pinned below:
- ``client.backends.get_backends()`` parses ``last_updated`` as ``int`` (``ionq/schemas/
  backend.py:22``) but v0.4 sends an ISO string → ``pydantic.ValidationError``.
- ``cancel_many_jobs`` / ``delete_many_jobs`` parse the spec's bulk answer ``{"ids","status"}``
  as ``JobUpdate``, whose ``id: str`` is required (``ionq/schemas/job.py:373``) →
  ``pydantic.ValidationError`` *after* the server has done the work.
- Ideal counts are ``int(p * shots)`` (``ionq/jobs/circuit.py:59``): a probability of
  0.4999999999999999 gives 499 of 1000, so counts may fall short of ``shots``.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import ionq
import pydantic
import pytest
import requests
from ionq.schemas.job import JobRequest, NoiseOptions

from conftest import Server, hold_worker

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
GHZ = [*BELL, {"gate": "cnot", "control": 1, "target": 2}]


@pytest.fixture
def client(server: Server) -> ionq.Client:
    return ionq.Client(api_key=server.key, base_url=server.url)


def approx(got: dict[str, float], expected: dict[str, float]) -> bool:
    keys = set(got) | set(expected)
    return all(math.isclose(got.get(k, 0.0), expected.get(k, 0.0), abs_tol=1e-9) for k in keys)


def test_bell_ideal(client: ionq.Client) -> None:
    backend = ionq.Backend("simulator", client=client)
    job = backend.run(ionq.Circuit([{"circuit": BELL}], qubits=2), name="sdk-bell", shots=1000)
    (result,) = job.results()
    assert approx(result.probabilities, {"0": 0.5, "3": 0.5})
    # int(probability x shots), client-side (module docstring).
    assert set(result.counts) == {"0", "3"} and all(499 <= c <= 500 for c in result.counts.values())
    assert result.top_candidates(2) in (["0", "3"], ["3", "0"])


def test_from_environment(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONQ_API_KEY", server.key)
    monkeypatch.setenv("IONQ_BASE_URL", server.url)
    job = ionq.Backend("simulator").run(ionq.Circuit([{"circuit": GHZ}], qubits=3), shots=100)
    (result,) = job.results()
    assert approx(result.probabilities, {"0": 0.5, "7": 0.5})


def test_native_gates(client: ionq.Client) -> None:
    circuit = [
        {"gate": "gpi", "target": 0, "phase": 0},  # |0> -> |1> on qubit 0
        {"gate": "ms", "targets": [0, 1], "phases": [0, 0], "angle": 0.25},
    ]
    backend = ionq.Backend("simulator", client=client)
    job = backend.run(ionq.Circuit([{"circuit": circuit}], gateset="native", qubits=2), shots=100)
    (result,) = job.results()
    assert approx(result.probabilities, {"1": 0.5, "2": 0.5})


def test_multi_circuit(client: ionq.Client) -> None:
    backend = ionq.Backend("simulator", client=client)
    workload = ionq.Circuit(
        [{"circuit": BELL}, {"circuit": [{"gate": "x", "target": 0}]}], qubits=2
    )
    bell, flip = backend.run(workload, shots=100).results()
    assert approx(bell.probabilities, {"0": 0.5, "3": 0.5})
    assert approx(flip.probabilities, {"1": 1.0})


def test_noisy_run_from_histogram_and_seeded(client: ionq.Client) -> None:
    backend = ionq.Backend("simulator", client=client)
    job = backend.run(ionq.Circuit([{"circuit": GHZ}], qubits=3), shots=2000, noise="aria-1")
    (result,) = job.results()
    # A sampled job advertises results.histogram: counts, which the SDK divides by shots.
    assert sum(result.counts.values()) == 2000
    good = result.probabilities.get("0", 0) + result.probabilities.get("7", 0)
    assert 0.8 < good < 1.0, result.probabilities
    # A seed needs the lower-level request (Backend.run takes only the model's name).
    seeded = []
    for _ in range(2):
        request: JobRequest[Any] = JobRequest(
            backend="simulator",
            type="ionq.circuit.v1",
            shots=2000,
            noise=NoiseOptions(model="forte-1", seed=9),
            input={"gateset": "qis", "qubits": 3, "circuit": GHZ},
        )
        created = client.jobs.create_job(request)
        (outcome,) = backend.get_circuit_job(created.id).results()
        seeded.append(outcome.counts)
    assert seeded[0] == seeded[1]


def test_aria_emulation_is_debiased_by_default(client: ionq.Client, api: httpx.Client) -> None:
    backend = ionq.Backend("qpu.aria-1", client=client)
    job = backend.run(ionq.Circuit([{"circuit": BELL}], qubits=2), shots=600)
    (result,) = job.results()
    assert sum(result.counts.values()) == 600
    assert 0.8 < result.probabilities.get("0", 0) + result.probabilities.get("3", 0) <= 1.0
    stored = api.get(f"/jobs/{job.id}").json()
    assert stored["settings"]["error_mitigation"]["debiasing"] is True  # ≥ 500 shots


def test_retrieve_from_a_fresh_client(server: Server, client: ionq.Client) -> None:
    job = ionq.Backend("simulator", client=client).run(
        ionq.Circuit([{"circuit": BELL}], qubits=2), shots=300
    )
    fresh = ionq.Backend("simulator", client=ionq.Client(api_key=server.key, base_url=server.url))
    again = fresh.get_circuit_job(job.id)
    (result,) = again.results()
    assert again.id == job.id and again.details.shots == 300
    assert approx(result.probabilities, {"0": 0.5, "3": 0.5})


def test_listing(client: ionq.Client) -> None:
    backend = ionq.Backend("simulator", client=client)
    made = [backend.run(ionq.Circuit([{"circuit": BELL}], qubits=2), shots=10).id for _ in range(2)]
    newest = client.jobs.get_jobs(limit=2)
    assert {j.id for j in newest} == set(made)  # newest first
    picked = client.jobs.get_jobs(id=made)  # ?id=a&id=b (spec: ids)
    assert {j.id for j in picked} == set(made)


def test_cancel_and_delete(client: ionq.Client, api: httpx.Client) -> None:
    holder = hold_worker(api)
    try:
        backend = ionq.Backend("simulator", client=client)
        ids = [
            backend.run(ionq.Circuit([{"circuit": BELL}], qubits=2), shots=10).id for _ in range(3)
        ]
        assert client.jobs.cancel_job(ids[0]).status.value == "canceled"
        with pytest.raises(pydantic.ValidationError, match="id"):  # SDK bug, docstring
            client.jobs.cancel_many_jobs(ids[1:])
        assert all(client.jobs.get_job(i).status.value == "canceled" for i in ids)
    finally:
        api.put(f"/jobs/{holder}/status/cancel")
    assert client.jobs.delete_job(ids[0], force=True).status.value == "deleted"
    with pytest.raises(pydantic.ValidationError, match="id"):  # SDK bug, docstring
        client.jobs.delete_many_jobs(ids[1:], force=True)
    for job_id in ids:
        with pytest.raises(requests.HTTPError, match="404"):
            client.jobs.get_job(job_id)


def test_backend_listing_hits_the_sdk_int_timestamp_bug(client: ionq.Client) -> None:
    # ionq 0.0.0a15 types Backend.last_updated as int; v0.4 (and ionstack) send ISO strings.
    with pytest.raises(pydantic.ValidationError, match="last_updated"):
        client.backends.get_backends()
    raw = client.request("/backends", "GET")  # the SDK's own transport reads the list fine
    assert {"simulator", "qpu.aria-1"} <= {b["backend"] for b in raw}


def test_v03_characterization_paths(client: ionq.Client) -> None:
    """The SDK's v0.3-style characterization calls, served by ionstack beside v0.4's."""
    current = client.backends.get_current_characterization("qpu.aria-1")
    assert current.backend == "qpu.aria-1" and current.qubits == 25
    assert 0.9 < current.fidelity.spam.mean <= 1 and current.timing.t1 > 0
    assert len(current.connectivity) == 25 * 24 // 2
    listed = client.backends.get_characterizations("qpu.aria-1", limit=3)
    assert len(listed) == 3 and listed[0].id == current.id
    assert listed[0].date > listed[1].date > listed[2].date  # newest first, epoch seconds
    same = client.backends.get_characterization(listed[1].id)
    assert same.id == listed[1].id and same.date == listed[1].date
    v04 = client.request(f"/backends/qpu.aria-1/characterizations/{current.id}", "GET")
    assert v04["fidelity"]["spam"]["median"] == current.fidelity.spam.mean
    with pytest.raises(requests.HTTPError, match="404"):
        client.backends.get_current_characterization("qpu.nonexistent")


def test_session(client: ionq.Client) -> None:
    backend = ionq.Backend("qpu.aria-1", client=client)
    with ionq.Session(backend, max_jobs=2) as session:
        job = backend.run(ionq.Circuit([{"circuit": BELL}], qubits=2), shots=100)
        (result,) = job.results()
        assert sum(result.counts.values()) == 100
        assert session.details()["id"] == session.session_id

"""cirq-ionq, unchanged, against ionstack (clients.md §2).

Configuration exactly as the README shows: ``cirq_ionq.Service(remote_host=ROOT, api_key=KEY)``.
cirq-ionq keeps only ``scheme://host:port`` of ``remote_host`` and appends ``/v0.4`` itself.

Known cirq-ionq 1.7.0 bugs that no server can work around (clients.md §2.7), tested around:
- ``Job.results()`` on a job fetched while ``canceled`` evaluates ``'error' in job['failure']``
  with the spec's ``"failure": null`` → ``TypeError`` (``cirq_ionq/job.py:251``).
- ``list_jobs()`` stops paging only when ``next`` is *absent*; the spec (and ionq-core) need
  ``"next": null`` on the last page, so cirq re-reads the first page until it has ``limit``
  jobs, and loops forever when there are none (``cirq_ionq/ionq_client.py:454-488``). Only
  list with ``limit`` ≤ the number of jobs that exist.
"""

from __future__ import annotations

import datetime
import math

import cirq
import cirq_ionq
import httpx
import numpy as np
import pytest
from cirq_ionq.ionq_exceptions import IonQNotFoundException

from conftest import Server, hold_worker, wait_terminal

POLL = 0.1  # seconds between cirq's status polls (default 1)

q0, q1, q2 = cirq.LineQubit.range(3)


@pytest.fixture
def service(server: Server) -> cirq_ionq.Service:
    return cirq_ionq.Service(remote_host=server.root, api_key=server.key)


def bell() -> cirq.Circuit:
    return cirq.Circuit(cirq.H(q0), cirq.CNOT(q0, q1), cirq.measure(q0, q1, key="x"))


def ghz() -> cirq.Circuit:
    return cirq.Circuit(
        cirq.H(q0), cirq.CNOT(q0, q1), cirq.CNOT(q1, q2), cirq.measure(q0, q1, q2, key="x")
    )


def approx(got: dict[int, float], expected: dict[int, float]) -> bool:
    keys = set(got) | set(expected)
    return all(math.isclose(got.get(k, 0.0), expected.get(k, 0.0), abs_tol=1e-9) for k in keys)


def test_run_bell_on_the_ideal_simulator(service: cirq_ionq.Service) -> None:
    result = service.run(bell(), repetitions=1000, target="simulator", seed=7)
    bits = result.measurements["x"]
    assert bits.shape == (1000, 2)
    assert np.all(bits[:, 0] == bits[:, 1])  # only 00 and 11
    assert 400 <= int(bits[:, 0].sum()) <= 600  # sampled client-side from exact 0.5/0.5


def test_ideal_probabilities_are_exact(service: cirq_ionq.Service) -> None:
    job = service.create_job(ghz(), repetitions=500, target="simulator", name="ghz")
    result = job.results(polling_seconds=POLL)
    assert job.status() == "completed" and job.name() == "ghz"
    assert job.num_qubits() == 3 and job.repetitions() == 500
    assert approx(result.probabilities(), {0b000: 0.5, 0b111: 0.5})
    # Measurement keys travel in metadata (with \x1e/\x1f separators) and must come back exact.
    assert job.measurement_dict() == {"x": [0, 1, 2]}
    assert approx(result.probabilities("x"), {0b000: 0.5, 0b111: 0.5})


def test_sampler(service: cirq_ionq.Service) -> None:
    sampler = service.sampler(target="simulator", seed=3)
    a, b = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.X(a), cirq.measure(a, key="a"), cirq.measure(b, key="b"))
    result = sampler.run(circuit, repetitions=50)
    assert result.measurements["a"].tolist() == [[1]] * 50
    assert result.measurements["b"].tolist() == [[0]] * 50


def test_native_gates_match_their_unitaries(service: cirq_ionq.Service) -> None:
    circuits = [
        cirq.Circuit(cirq_ionq.MSGate(phi0=0, phi1=0, theta=0.25).on(q0, q1)),
        cirq.Circuit(
            cirq_ionq.GPI2Gate(phi=0).on(q0),
            cirq_ionq.GPI2Gate(phi=0.25).on(q1),
            cirq_ionq.ZZGate(theta=0.125).on(q0, q1),  # sent as {"gate":"zz","phase":θ}
            cirq_ionq.GPI2Gate(phi=0.5).on(q0),
            cirq_ionq.GPIGate(phi=0.1).on(q1),
        ),
    ]
    for circuit in circuits:
        state = cirq.final_state_vector(circuit, qubit_order=[q0, q1], dtype=np.complex128)
        expected = {i: float(abs(a) ** 2) for i, a in enumerate(state) if abs(a) ** 2 > 1e-12}
        circuit.append(cirq.measure(q0, q1, key="x"))
        job = service.create_job(circuit, repetitions=1000, target="simulator")
        got = job.results(polling_seconds=POLL).probabilities()
        assert approx(got, expected), (circuit, got, expected)


def test_run_batch(server: Server, service: cirq_ionq.Service) -> None:
    results = service.run_batch([bell(), ghz()], repetitions=1000, target="simulator", seed=5)
    assert len(results) == 2
    first, second = (r.measurements["x"] for r in results)
    assert first.shape == (1000, 2) and np.all(first[:, 0] == first[:, 1])
    assert second.shape == (1000, 3) and np.all(second.min(axis=1) == second.max(axis=1))
    # The batch's parent job, read back from a fresh service, gives both circuits in order.
    job = service.create_batch_job([bell(), ghz()], repetitions=100, target="simulator")
    again = cirq_ionq.Service(remote_host=server.root, api_key=server.key)
    parts = again.get_job(job.job_id()).results(polling_seconds=POLL)
    assert approx(parts[0].probabilities(), {0b00: 0.5, 0b11: 0.5})
    assert approx(parts[1].probabilities(), {0b000: 0.5, 0b111: 0.5})


def test_get_job_from_a_fresh_service(server: Server, service: cirq_ionq.Service) -> None:
    job_id = service.create_job(bell(), repetitions=100, target="simulator").job_id()
    # Path in remote_host is dropped by cirq-ionq; environment variables work too.
    fresh = cirq_ionq.Service(remote_host=f"{server.url}/ignored", api_key=server.key)
    job = fresh.get_job(job_id)
    assert job.job_id() == job_id and job.target() == "simulator"
    assert approx(job.results(polling_seconds=POLL).probabilities(), {0b00: 0.5, 0b11: 0.5})


def test_service_from_environment(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONQ_REMOTE_HOST", server.root)
    monkeypatch.setenv("IONQ_API_KEY", server.key)
    job = cirq_ionq.Service().create_job(bell(), repetitions=10, target="simulator")
    assert job.results(polling_seconds=POLL).repetitions() == 10


def test_list_jobs(service: cirq_ionq.Service) -> None:
    made = [service.create_job(bell(), repetitions=10, target="simulator") for _ in range(3)]
    # limit <= jobs that exist: see the module docstring for cirq's pagination bug.
    listed = service.list_jobs(limit=3)  # newest first (same-millisecond ids in any order)
    assert {j.job_id() for j in listed} == {j.job_id() for j in made}
    for job in made:
        job.results(polling_seconds=POLL)
    completed = service.list_jobs(status="completed", limit=3)
    assert len(completed) == 3 and all(j.status() == "completed" for j in completed)


def test_noisy_ghz_is_seeded_and_shows_errors(service: cirq_ionq.Service) -> None:
    noise = {"model": "aria-1", "seed": 5}
    jobs = [
        service.create_job(ghz(), repetitions=2000, target="simulator", noise=noise)
        for _ in range(2)
    ]
    first, second = (job.results(polling_seconds=POLL).probabilities() for job in jobs)
    assert first == second  # same noise seed, same outcome
    good = first.get(0b000, 0) + first.get(0b111, 0)
    assert 0.8 < good < 1.0, first  # mostly GHZ, with some error outcomes
    assert math.isclose(sum(first.values()), 1.0, abs_tol=1e-9)


def test_aria_debiased_counts_and_sharpening(service: cirq_ionq.Service) -> None:
    job = service.create_job(
        bell(), repetitions=600, target="qpu.aria-1", error_mitigation={"debiasing": True}
    )
    averaged = job.results(polling_seconds=POLL, sharpen=False)
    sharpened = job.results(polling_seconds=POLL, sharpen=True)
    # QPU results are counts: round(repetitions * p).
    counts = averaged.counts()
    assert 0.8 * 600 < counts.get(0b00, 0) + counts.get(0b11, 0) <= 600 + 2, counts
    assert set(sharpened.counts()) <= {0b00, 0b11}
    assert sum(sharpened.counts().values()) == pytest.approx(600, abs=2)
    assert isinstance(averaged.to_cirq_result(), cirq.Result)


def test_cancel_and_delete(service: cirq_ionq.Service, api: httpx.Client) -> None:
    holder = hold_worker(api)
    try:
        job = service.create_job(bell(), repetitions=100, target="simulator")
        job.cancel()
        assert job.status() == "canceled"
        with pytest.raises(RuntimeError, match="canceled"):
            job.results(polling_seconds=POLL)
        fetched = service.get_job(job.job_id())
        assert fetched.status() == "canceled"
        # cirq-ionq bug (module docstring): 'error' in None with the spec's "failure": null.
        with pytest.raises(TypeError, match="NoneType"):
            fetched.results(polling_seconds=POLL)
    finally:
        api.put(f"/jobs/{holder}/status/cancel")
    job.delete()
    assert job.status() == "deleted"
    with pytest.raises(IonQNotFoundException):
        service.get_job(job.job_id())


def test_dry_run(service: cirq_ionq.Service, api: httpx.Client) -> None:
    job = service.create_job(bell(), repetitions=100, target="qpu.aria-1", dry_run=True)
    stored = wait_terminal(api, job.job_id())
    assert stored["dry_run"] is True and stored["results"] is None
    assert job.status() == "completed"
    with pytest.raises(IonQNotFoundException):  # a dry run has no results
        job.results(polling_seconds=POLL)


def test_unknown_target_is_a_clean_client_error(service: cirq_ionq.Service) -> None:
    # A bare "qpu" reaches the server verbatim: a 400, never a retried 5xx.
    with pytest.raises(cirq_ionq.IonQException, match="400"):
        service.create_job(bell(), repetitions=10, target="qpu")


def test_calibrations(service: cirq_ionq.Service) -> None:
    """cirq's legacy calibration calls, served from the characterizations of qpu.aria-1."""
    current = service.get_current_calibration()
    assert current.target() == "qpu.aria-1" and current.num_qubits() == 25
    assert len(current.connectivity()) == 25 * 24  # both directions of every pair
    assert 0.9 < current.fidelities()["spam"]["mean"] <= 1
    now = datetime.datetime.now(datetime.UTC)
    assert now - current.calibration_time(datetime.UTC) < datetime.timedelta(days=2)
    week = service.list_calibrations(start=now - datetime.timedelta(days=7), end=now)
    assert 6 <= len(week) <= 8  # daily characterizations
    times = [c.calibration_time(datetime.UTC) for c in week]
    assert times == sorted(times, reverse=True) and times[0] == current.calibration_time(
        datetime.UTC
    )

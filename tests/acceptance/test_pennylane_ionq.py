"""pennylane-ionq, unchanged, against ionstack (clients.md §3).

Configuration exactly as the README shows: the class attribute
``pennylane_ionq.api_client.APIClient.BASE_URL`` (no option or environment variable exists).
The plugin posts JSON without a Content-Type and polls ``GET /jobs/{id}`` about 100 times a
second. It has no cancel, listing, backend or session calls, and it never leaves its polling
loop for a canceled job (it only checks completed/failed), so cancel is not coverable here.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pennylane as qml
import pennylane_ionq.api_client
import pytest
from pennylane_ionq.ops import GPI, GPI2, MS

from conftest import Server, find_job, wait_terminal


@pytest.fixture(autouse=True)
def base_url(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(pennylane_ionq.api_client.APIClient, "BASE_URL", server.url)
    yield


def bell_probs(device: qml.devices.Device) -> np.ndarray:
    @qml.qnode(device)
    def circuit() -> object:
        qml.Hadamard(wires=0)
        qml.CNOT(wires=[0, 1])
        return qml.probs(wires=[0, 1])

    return np.asarray(circuit())


def test_bell_probabilities_are_exact(server: Server) -> None:
    device = qml.device("ionq.simulator", wires=2, shots=1000, api_key=server.key)
    # qml.probs is the server's probability vector, not a client-side sample.
    np.testing.assert_allclose(bell_probs(device), [0.5, 0, 0, 0.5], atol=1e-9)


def test_ghz_expectations_and_samples(server: Server) -> None:
    device = qml.device("ionq.simulator", wires=3, shots=1000, api_key=server.key)

    @qml.qnode(device)
    def ghz() -> object:
        qml.Hadamard(wires=0)
        qml.CNOT(wires=[0, 1])
        qml.CNOT(wires=[1, 2])
        return qml.probs(wires=[0, 1, 2]), qml.expval(qml.PauliZ(0) @ qml.PauliZ(2))

    probs, zz = ghz()
    np.testing.assert_allclose(probs, [0.5, 0, 0, 0, 0, 0, 0, 0.5], atol=1e-9)
    assert float(zz) == pytest.approx(1.0)  # perfectly correlated in every sample

    @qml.qnode(device)
    def sampled() -> object:
        qml.PauliX(wires=1)
        qml.RY(np.pi / 2, wires=2)
        return qml.sample(wires=[0, 1, 2])

    samples = np.asarray(sampled())
    assert samples.shape == (1000, 3)
    assert np.all(samples[:, 0] == 0) and np.all(samples[:, 1] == 1)
    assert 350 < int(samples[:, 2].sum()) < 650  # RY(π/2): 0.5/0.5


def test_wires_beyond_the_circuit_and_rotations(server: Server) -> None:
    device = qml.device("ionq.simulator", wires=4, shots=100, api_key=server.key)

    @qml.qnode(device)
    def circuit(theta: float) -> object:
        qml.RX(theta, wires=2)
        return qml.probs(wires=[2])

    theta = 1.1
    np.testing.assert_allclose(
        circuit(theta), [np.cos(theta / 2) ** 2, np.sin(theta / 2) ** 2], atol=1e-9
    )


def test_native_gates(server: Server) -> None:
    device = qml.device("ionq.simulator", wires=2, gateset="native", shots=1000, api_key=server.key)

    @qml.qnode(device)
    def circuit() -> object:
        GPI(0.0, wires=0)  # |0> -> |1>
        MS(0.0, 0.0, 0.25, wires=[0, 1])  # fully entangling: |10> -> (|10> - i|01>)/√2
        return qml.probs(wires=[0, 1])

    np.testing.assert_allclose(circuit(), [0, 0.5, 0.5, 0], atol=1e-9)

    @qml.qnode(device)
    def half() -> object:
        GPI2(0.25, wires=1)
        return qml.probs(wires=[1])

    np.testing.assert_allclose(half(), [0.5, 0.5], atol=1e-9)


def test_batch_execute_is_one_multi_circuit_job(server: Server, api: httpx.Client) -> None:
    device = qml.device(
        "ionq.simulator", wires=2, shots=500, job_name="pl-batch", api_key=server.key
    )
    bell = qml.tape.QuantumScript(
        [qml.Hadamard(0), qml.CNOT([0, 1])], [qml.probs(wires=[0, 1])], shots=500
    )
    flip = qml.tape.QuantumScript([qml.PauliX(1)], [qml.probs(wires=[0, 1])], shots=500)
    first, second = qml.execute([bell, flip], device)
    np.testing.assert_allclose(first, [0.5, 0, 0, 0.5], atol=1e-9)
    np.testing.assert_allclose(second, [0, 1, 0, 0], atol=1e-9)
    parent = find_job(api, "pl-batch")
    assert parent["type"] == "ionq.multi-circuit.v1"
    assert len(api.get(f"/jobs/{parent['id']}").json()["child_job_ids"]) == 2


def test_noisy_ghz_is_seeded_and_shows_errors(server: Server) -> None:
    def run() -> np.ndarray:
        device = qml.device(
            "ionq.simulator",
            wires=3,
            shots=2000,
            noise_model="aria-1",
            noise_seed=7,
            api_key=server.key,
        )

        @qml.qnode(device)
        def ghz() -> object:
            qml.Hadamard(wires=0)
            qml.CNOT(wires=[0, 1])
            qml.CNOT(wires=[1, 2])
            return qml.probs(wires=[0, 1, 2])

        return np.asarray(ghz())

    first, second = run(), run()
    np.testing.assert_array_equal(first, second)  # same noise seed, same outcome
    good = first[0] + first[7]
    assert 0.8 < good < 1.0, first  # mostly GHZ, with some error outcomes


def test_aria_debiased_and_sharpened(server: Server, api: httpx.Client) -> None:
    def run(sharpen: bool) -> np.ndarray:
        device = qml.device(
            "ionq.qpu",
            backend="aria-1",
            wires=2,
            shots=600,
            job_name=f"pl-aria-{sharpen}",
            error_mitigation={"debiasing": True},
            sharpen=sharpen,
            api_key=server.key,
        )
        return bell_probs(device)

    averaged, sharpened = run(False), run(True)
    assert 0.8 < averaged[0] + averaged[3] <= 1.0 + 1e-9, averaged
    np.testing.assert_allclose(sharpened[1] + sharpened[2], 0, atol=1e-12)
    np.testing.assert_allclose(sharpened.sum(), 1.0)
    stored = find_job(api, "pl-aria-True")
    assert stored["backend"] == "qpu.aria-1"
    assert stored["settings"]["error_mitigation"]["debiasing"] is True


def test_retrieve_by_id_with_the_plugin_api_client(server: Server, api: httpx.Client) -> None:
    device = qml.device(
        "ionq.simulator", wires=2, shots=100, job_name="pl-retrieve", api_key=server.key
    )
    bell_probs(device)
    job_id = find_job(api, "pl-retrieve")["id"]
    job = pennylane_ionq.api_client.Job(api_key=server.key)
    job.manager.get(resource_id=job_id)
    assert job.id.value == job_id and job.is_complete
    probabilities = {int(k): v for k, v in job.data.value.items()}
    assert probabilities == pytest.approx({0: 0.5, 3: 0.5})


def test_dry_run(server: Server, api: httpx.Client) -> None:
    device = qml.device(
        "ionq.qpu",
        backend="aria-1",
        wires=2,
        shots=100,
        dry_run=True,
        job_name="pl-dry",
        api_key=server.key,
    )
    bell = qml.tape.QuantumScript(
        [qml.Hadamard(0), qml.CNOT([0, 1])], [qml.probs(wires=[0, 1])], shots=100
    )
    flip = qml.tape.QuantumScript([qml.PauliX(1)], [qml.probs(wires=[0, 1])], shots=100)
    assert [list(r) for r in qml.execute([bell, flip], device)] == [[], []]
    stored = wait_terminal(api, find_job(api, "pl-dry")["id"])
    assert stored["dry_run"] is True and stored["status"] == "completed"
    assert stored["results"] is None

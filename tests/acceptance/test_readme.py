"""The README's client snippet, run as written (only host and port replaced), then used."""

from __future__ import annotations

import re
from typing import Any

import cirq
import pennylane as qml
import pennylane_ionq.api_client
import pytest
import qiskit_ionq.helpers
from ionq_core import wait_for_job
from ionq_core.api.default import create_job, get_job_probabilities
from ionq_core.models import CircuitJobCreationPayload
from qiskit import QuantumCircuit

from conftest import REPO, Server

README_HOST = "http://127.0.0.1:8000"


def readme_snippet() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Pointing IonQ clients at ionstack") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block under 'Pointing IonQ clients at ionstack'"
    return match.group(1)


def test_readme_snippet_works_as_written(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONQ_API_KEY", server.key)
    monkeypatch.setenv("IONQ_API_URL", "unset")  # undone after the test (the snippet sets it)
    monkeypatch.setattr(pennylane_ionq.api_client.APIClient, "BASE_URL", "unset")
    monkeypatch.setattr(qiskit_ionq.helpers, "dotenv_values", lambda *a, **k: {})  # no .env
    snippet = readme_snippet()
    assert README_HOST in snippet
    names: dict[str, Any] = {}
    with pytest.warns(UserWarning, match="HTTPS"):  # ionq-core on plain http
        exec(snippet.replace(README_HOST, server.root), names)

    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    backend = names["provider"].get_backend("simulator")
    assert backend.num_qubits == 29
    counts = backend.run(bell, shots=100).result(wait=0.1).get_counts()
    assert set(counts) == {"00", "11"}

    q = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.H(q[0]), cirq.CNOT(*q), cirq.measure(*q, key="x"))
    job = names["service"].create_job(circuit, repetitions=100, target="simulator")
    assert set(job.results(polling_seconds=0.1).probabilities()) == {0, 3}

    @qml.qnode(qml.device("ionq.simulator", wires=2, shots=100))
    def probs() -> Any:
        qml.Hadamard(0)
        qml.CNOT([0, 1])
        return qml.probs(wires=[0, 1])

    assert list(probs()) == pytest.approx([0.5, 0, 0, 0.5])

    client = names["client"]
    body = {
        "backend": "simulator",
        "type": "ionq.circuit.v1",
        "shots": 100,
        "input": {"gateset": "qis", "qubits": 1, "circuit": [{"gate": "x", "target": 0}]},
    }
    created = create_job.sync(client=client, body=CircuitJobCreationPayload.from_dict(body))
    wait_for_job(client, created.id, poll_interval=0.05)
    got = get_job_probabilities.sync(created.id, client=client)
    assert got.additional_properties == pytest.approx({"1": 1.0})

    sdk = names["sdk"]
    import ionq

    job = ionq.Backend("simulator", client=sdk).run(
        ionq.Circuit([{"circuit": [{"gate": "x", "target": 0}]}], qubits=1), shots=10
    )
    assert job.results()[0].probabilities == pytest.approx({"1": 1.0})

"""Emulated QPUs run under their characterization's device model; the simulator's noise models
stay IonQ's published ones (issue 17). A real server and worker, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support import spec
from support.server import submit, wait_for_job

SERVER_WORKERS = 1

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]


def _job(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 1000,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
    }
    body.update(changes)
    return body


@pytest.mark.parametrize("backend", ["qpu.aria-1", "qpu.forte-1"])
def test_an_emulated_qpu_job_runs_under_its_current_characterization(
    client: httpx.Client, backend: str
) -> None:
    off = {"error_mitigation": {"debiasing": False}}
    job = wait_for_job(client, submit(client, _job(backend=backend, settings=off)))
    assert job["status"] == "completed", job
    spec.validate(job, spec.response_schema("/jobs/{UUID}"))
    used = job["output"]["noise_model"]
    current = client.get(f"/backends/{backend}").json()["characterization_id"]
    assert used["kind"] == "device" and used["backend"] == backend
    assert used["characterization_id"] == current
    char = client.get(f"/backends/{backend}/characterizations/{current}").json()
    spam = char["fidelity"]["spam"]["median"]
    assert used["readout_p01"] + used["readout_p10"] == pytest.approx(2 * (1 - spam))
    assert used["readout_p10"] > used["readout_p01"]
    hist = client.get(f"/jobs/{job['id']}/results/histogram").json()
    assert sum(hist.values()) == 1000
    # readout and gate errors put some shots outside the Bell outcomes
    assert set(hist) > {"0", "3"}


def test_a_debiased_qpu_job_reports_its_device_model(client: httpx.Client) -> None:
    job = wait_for_job(client, submit(client, _job(backend="qpu.forte-1")))
    assert job["status"] == "completed", job
    assert job["output"]["noise_model"]["kind"] == "device"
    assert len(job["output"]["error_mitigation"]["debiasing"]["variants"]) == 10


def test_the_simulator_keeps_the_published_noise_models(client: httpx.Client) -> None:
    body = _job(noise={"model": "forte-1", "seed": 77})
    job = wait_for_job(client, submit(client, body))
    assert job["status"] == "completed", job
    assert job["output"]["noise_model"] == {"kind": "published", "model": "forte-1"}
    ideal = wait_for_job(client, submit(client, _job()))
    assert "noise_model" not in ideal["output"]


#: mid-circuit measurement, reset and feed-forward (issue 15)
DYNAMIC = """OPENQASM 3.0;
include "stdgates.inc";
bit[2] c;
qubit[2] q;
h q[0];
c[0] = measure q[0];
reset q[0];
if (c[0]) {
  x q[1];
}
c[1] = measure q[1];
"""


def test_a_qasm3_job_on_an_emulated_qpu_reports_the_same_device_model(
    client: httpx.Client,
) -> None:
    """A dynamic program on a QPU runs under the device model a circuit job there gets
    (output.noise_model), through the dynamic simulator."""
    off = {"error_mitigation": {"debiasing": False}}
    body = {
        "type": "ionq.qasm3.v1",
        "backend": "qpu.aria-1",
        "shots": 500,
        "input": {"qubits": 2, "data": DYNAMIC},
        "settings": off,
    }
    program = wait_for_job(client, submit(client, body))
    assert program["status"] == "completed", program
    circuit = wait_for_job(client, submit(client, _job(backend="qpu.aria-1", settings=off)))
    assert circuit["status"] == "completed", circuit
    used = program["output"]["noise_model"]
    assert used["kind"] == "device" and used["backend"] == "qpu.aria-1"
    assert used == circuit["output"]["noise_model"]
    assert program["output"]["simulation"]["method"] == "dynamic-trajectories"

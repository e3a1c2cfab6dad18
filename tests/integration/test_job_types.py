"""quantum-function (hamiltonian-energy) and qctrl.qaoa.v1 (maxcut) end to end over HTTP.

A real server with one worker process. Energies are checked against a dense-matrix expectation
on Qiskit's state vector of the same circuit; cuts against brute force.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Statevector

from support import spec
from support.server import Server, submit, wait_for_job, wait_for_status

SERVER_WORKERS = 1
SECRET = "qctrl-" + uuid.uuid4().hex

PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1, -1]),
}
TERMS = [("ZZI", 0.5), ("IXX", -0.8), ("YIY", 0.3), ("IIZ", 0.25), ("III", -1.0)]


def _ansatz() -> tuple[QuantumCircuit, list[float]]:
    theta = ParameterVector("θ", 4)
    qc = QuantumCircuit(3)
    qc.h([0, 1, 2])
    qc.cx(0, 1)
    qc.ry(theta[0], 1)
    qc.cx(1, 2)
    qc.ry(theta[1], 2)
    qc.rzz(theta[2], 0, 2)
    qc.rx(theta[3], 0)
    qc.measure_all()
    return qc, [0.3, -1.2, 0.8, 2.1]


def _reference() -> tuple[float, np.ndarray]:
    qc, params = _ansatz()
    psi = np.asarray(
        Statevector(qc.remove_final_measurements(inplace=False).assign_parameters(params)).data
    )
    h = np.zeros((8, 8), dtype=complex)
    for pauli, c in TERMS:
        m = np.eye(1)
        for letter in pauli:
            m = np.kron(m, PAULI[letter])
        h += c * m
    return float(np.real(psi.conj() @ h @ psi)), np.abs(psi) ** 2


def energy_job(**changes: Any) -> dict[str, Any]:
    qc, params = _ansatz()
    body: dict[str, Any] = {
        "type": "quantum-function",
        "backend": "simulator",
        "shots": 1000,
        "input": {
            "data": {
                "type": "hamiltonian-energy",
                "data": {
                    "hamiltonian": [{"pauli_string": p, "coefficient": c} for p, c in TERMS],
                    "ansatz": {"format": "qasm", "data": qasm3.dumps(qc), "num_qubits": 3},
                },
            },
            "params": params,
        },
    }
    body.update(changes)
    return body


EDGES = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 4), (3, 4), (0, 4)]


def maxcut_job(**changes: Any) -> dict[str, Any]:
    nbrs: list[list[dict[str, int]]] = [[] for _ in range(5)]
    for a, b in EDGES:
        nbrs[a].append({"id": b})
        nbrs[b].append({"id": a})
    body: dict[str, Any] = {
        "type": "qctrl.qaoa.v1",
        "backend": "simulator",
        "shots": 500,
        "input": {
            "problem_type": "maxcut",
            "problem": {
                "directed": False,
                "multigraph": False,
                "graph": [],
                "nodes": [{"id": i} for i in range(5)],
                "adjacency": nbrs,
            },
        },
        "external_settings": {"api_credentials": SECRET, "external_organization": "lab"},
    }
    body.update(changes)
    return body


def brute_force(edges: list[tuple[int, int]], n: int) -> int:
    return max(
        sum(1 for a, b in edges if bits[a] != bits[b])
        for bits in itertools.product((0, 1), repeat=n)
    )


def as_base_job(job: dict[str, Any]) -> None:
    """The v0.4 spec's GET /jobs/{id} schema describes circuit jobs only; function jobs follow
    IonQ's newer QuantumFunctionJob/QaoaJob, which is BaseJob plus child_job_ids."""
    assert "child_job_ids" in job
    spec.validate({k: v for k, v in job.items() if k != "child_job_ids"}, spec.schema("BaseJob"))


# --------------------------------------------------------------------------- quantum-function


def test_hamiltonian_energy_ideal_equals_dense_matrix(client: httpx.Client) -> None:
    want, probs = _reference()
    job = wait_for_job(client, submit(client, energy_job()))
    assert job["status"] == "completed", job
    as_base_job(job)
    assert job["type"] == "quantum-function"
    assert job["results"]["value"] == pytest.approx(want, abs=1e-9)
    assert job["results"]["variance"] == 0.0
    assert job["output"]["value"] == job["results"]["value"]
    assert job["output"]["measurement_bases"] == 3  # Z, then {IXX, …} and {YIY}
    assert job["stats"]["circuits"] == 3
    assert job["settings"] == {"error_mitigation": {"debiasing": False}}
    got = client.get(job["results"]["probabilities"]["url"].removeprefix("/v0.4")).json()
    assert set(got) <= {str(k) for k in range(8)}
    for k, p in enumerate(probs):
        assert got.get(str(k), 0.0) == pytest.approx(p, abs=1e-9)
    assert client.get(f"/jobs/{job['id']}/circuits/native").status_code == 404


def test_hamiltonian_energy_noisy_is_seeded_and_close(client: httpx.Client) -> None:
    want, _ = _reference()
    body = energy_job(shots=4000, noise={"model": "aria-1", "seed": 77})
    first = wait_for_job(client, submit(client, body))
    second = wait_for_job(client, submit(client, body))
    assert first["status"] == "completed", first
    assert first["results"]["value"] == second["results"]["value"]
    assert first["results"]["variance"] > 0
    assert abs(first["results"]["value"] - want) < 0.3  # aria-1 noise on 3 qubits, 4000 shots
    hist = client.get(f"/jobs/{first['id']}/results/histogram").json()
    assert sum(hist.values()) == 4000


def test_bad_ansatz_gate_makes_a_failed_job(client: httpx.Client) -> None:
    body = energy_job()
    body["input"]["data"]["data"]["ansatz"]["data"] = "OPENQASM 3.0;\nqubit[3] q;\nfoo q[0];"
    body["input"]["params"] = []
    job = wait_for_job(client, submit(client, body))
    assert job["status"] == "failed"
    assert job["failure"]["code"] == "PreflightError"


def _bad(**edit: Any) -> dict[str, Any]:
    body = energy_job()
    data = body["input"]["data"]["data"]
    if "pauli" in edit:
        data["hamiltonian"][1]["pauli_string"] = edit["pauli"]
    if "params" in edit:
        body["input"]["params"] = edit["params"]
    return body


def _graph(problem: Any) -> dict[str, Any]:
    body = maxcut_job()
    body["input"]["problem"] = problem
    return body


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (_bad(pauli="IXQ"), "input.data.data.hamiltonian.1.pauli_string"),
        (_bad(pauli="IXXX"), "input.data.data.hamiltonian.1.pauli_string"),
        (_bad(params=[0.1, 0.2]), "input.params"),
        (
            _graph({"nodes": [{"id": 0}], "adjacency": [[{"id": 3}]]}),
            "input.problem.adjacency.0.0.id",
        ),
        (_graph([1, 2]), "input.problem"),
        (maxcut_job(external_settings=None), "external_settings"),
        (
            maxcut_job(external_settings={"external_organization": "lab"}),
            "external_settings.api_credentials",
        ),
        (energy_job(external_settings={"api_credentials": SECRET}), "external_settings"),
        (
            energy_job(settings={"error_mitigation": {"debiasing": True}}),
            "settings.error_mitigation.debiasing",
        ),
        (maxcut_job(input={"problem_type": "tsp", "problem": {}}), "input.problem_type"),
    ],
)
def test_bad_function_input_is_a_400_with_the_spec_body(
    client: httpx.Client, body: dict[str, Any], key: str
) -> None:
    response = client.post("/jobs", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["statusCode"] == 400 and error["error"] == "Bad Request"
    assert error["validation"] == {"source": "payload", "keys": [key]}
    assert SECRET not in response.text


# --------------------------------------------------------------------------- maxcut


def test_maxcut_finds_the_brute_force_cut(client: httpx.Client, server: Server) -> None:
    job = wait_for_job(client, submit(client, maxcut_job()))
    assert job["status"] == "completed", job
    as_base_job(job)
    out = job["output"]
    bits = out["solution_bitstring"][::-1]  # node 0 is the rightmost character
    true_value = sum(1 for a, b in EDGES if bits[a] != bits[b])
    assert out["cut_value"] == true_value == brute_force(EDGES, 5)
    assert job["results"]["qaoa_results"] == {
        "optimal_cost": -true_value,
        "optimal_bitstring": out["solution_bitstring"],
        "processing_status": "complete",
    }
    sides = out["partition"]
    assert sorted(sides[0] + sides[1]) == [0, 1, 2, 3, 4]
    assert all(bits[i] == "0" for i in sides[0]) and all(bits[i] == "1" for i in sides[1])
    probs = client.get(f"/jobs/{job['id']}/results/probabilities").json()
    assert all(0 <= int(k) < 32 for k in probs)
    assert sum(probs.values()) == pytest.approx(1.0)
    # the optimized distribution favours good cuts (uniform: 3.5 edges on average)
    expected = sum(
        p * sum(1 for a, b in EDGES if (int(k) >> a & 1) != (int(k) >> b & 1))
        for k, p in probs.items()
    )
    assert expected == pytest.approx(out["expected_cut"], abs=1e-9) and expected > 3.5
    # the credentials were accepted, never stored in clear nor echoed
    assert job["settings"] == {
        "error_mitigation": {"debiasing": False},
        "external_settings": {"external_organization": "lab"},
    }
    texts = [
        json.dumps(job),
        client.get("/jobs", params={"limit": 25}).text,
        client.get(f"/jobs/{job['id']}/cost").text,
        server.log_path.read_text(),
    ]
    assert all(SECRET not in t for t in texts)


def test_function_jobs_use_sessions_cost_and_listing(client: httpx.Client) -> None:
    session = client.post("/sessions", json={"backend": "qpu.aria-1"})
    assert session.status_code == 201, session.text
    sid = session.json()["id"]
    body = maxcut_job(backend="qpu.aria-1", shots=100, session_id=sid)
    job_id = submit(client, body)
    energy_id = submit(client, energy_job(backend="qpu.aria-1", shots=100, session_id=sid))
    job = wait_for_job(client, job_id, timeout=300)
    energy = wait_for_job(client, energy_id, timeout=300)
    assert job["status"] == energy["status"] == "completed", (job, energy)
    assert set(job["results"]) == {"probabilities", "histogram", "shots", "qaoa_results"}
    assert job["output"]["cut_value"] == brute_force(EDGES, 5)
    listed = client.get(f"/sessions/{sid}/jobs").json()
    assert {j["id"] for j in listed["jobs"]} >= {job_id, energy_id}
    cost = client.get(f"/jobs/{job_id}/cost").json()
    assert cost["cost"]["value"] == cost["estimated_cost"]["value"] > 0
    typed = client.get("/jobs", params={"ids": [job_id, energy_id]}).json()["jobs"]
    assert {j["type"] for j in typed} == {"qctrl.qaoa.v1", "quantum-function"}


def test_dry_run_is_priced_and_not_run(client: httpx.Client) -> None:
    job_id = submit(client, maxcut_job(dry_run=True, backend="qpu.forte-1", shots=100))
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "completed" and job["results"] is None
    assert job["stats"]["gate_counts"]["2q"] > 0
    assert client.get(f"/jobs/{job_id}/cost").json()["estimated_cost"]["value"] > 0


def test_cancel_stops_a_running_maxcut(client: httpx.Client) -> None:
    n = 18
    edges = [(a, b) for a in range(n) for b in range(a + 1, n) if (a * 7 + b * 3) % 4 == 0]
    nbrs: list[list[dict[str, int]]] = [[] for _ in range(n)]
    for a, b in edges:
        nbrs[a].append({"id": b})
        nbrs[b].append({"id": a})
    big = maxcut_job(shots=100, noise={"model": "forte-1", "seed": 3})
    big["input"]["problem"] = {"nodes": [{"id": i} for i in range(n)], "adjacency": nbrs}
    job_id = submit(client, big)
    wait_for_status(client, job_id, ("started",), timeout=120)
    assert client.put(f"/jobs/{job_id}/status/cancel").json()["status"] == "canceled"
    job = wait_for_status(client, job_id, ("canceled",))
    assert job["results"] is None
    # the worker is free again
    after = wait_for_job(client, submit(client, energy_job()))
    assert after["status"] == "completed"


# --------------------------------------------------------------------------- README examples


def readme_body(job_type: str) -> dict[str, Any]:
    """The JSON of the README's curl example for ``job_type``, as a shell would pass it."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for body in re.findall(r"-d '(\{.*?\})'", text, flags=re.S):
        parsed: dict[str, Any] = json.loads(body)
        if parsed["type"] == job_type:
            return parsed
    raise AssertionError(f"no README example of {job_type}")


def test_readme_examples_give_what_the_readme_says(client: httpx.Client) -> None:
    energy = wait_for_job(client, submit(client, readme_body("quantum-function")))
    assert energy["results"]["value"] == pytest.approx(1.0 - 0.5 * np.sin(0.4), abs=1e-9)
    assert str(energy["results"]["value"]).startswith("0.8052908")
    cut = wait_for_job(client, submit(client, readme_body("qctrl.qaoa.v1")))
    assert cut["output"]["cut_value"] == 4.0
    assert cut["output"]["solution_bitstring"] in ("1010", "0101")
    assert sorted(cut["output"]["partition"]) == [[0, 2], [1, 3]]


def test_job_limits_apply_to_function_jobs(client: httpx.Client) -> None:
    wide = maxcut_job(noise={"model": "aria-1"})
    wide["input"]["problem"] = {
        "nodes": [{"id": i} for i in range(30)],
        "adjacency": [[] for _ in range(30)],
    }
    job = client.get(f"/jobs/{submit(client, wide)}").json()
    assert job["status"] == "failed" and job["failure"]["code"] == "NotEnoughQubits"
    many = energy_job(backend="qpu.aria-1", shots=20_000)
    job = client.get(f"/jobs/{submit(client, many)}").json()
    assert job["status"] == "failed" and job["failure"]["code"] == "TooManyShots"

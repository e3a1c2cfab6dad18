"""Jobs run end to end: a real server, a real worker process, real results over HTTP."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from support import spec
from support.server import Server, submit, wait_for_job

SERVER_WORKERS = 1

BELL_CIRCUIT = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]


def _job(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 1000,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL_CIRCUIT},
    }
    body.update(changes)
    return body


def test_bell_ideal_gives_exact_probabilities(client: httpx.Client) -> None:
    job = wait_for_job(client, submit(client, _job()))
    spec.validate(job, spec.response_schema("/jobs/{UUID}"))
    assert job["status"] == "completed", job
    assert job["results"] == {
        "probabilities": {"url": f"/v0.4/jobs/{job['id']}/results/probabilities"}
    }
    assert job["started_at"] and job["completed_at"]
    assert job["predicted_execution_duration_ms"] is None
    assert isinstance(job["execution_duration_ms"], int)
    assert job["stats"]["billed_quantum_compute_time_us"] > 0
    probabilities = client.get(f"/jobs/{job['id']}/results/probabilities").json()
    assert probabilities.keys() == {"0", "3"}
    assert probabilities["0"] == pytest.approx(0.5, abs=1e-6)
    assert probabilities["3"] == pytest.approx(0.5, abs=1e-6)
    # the ideal simulator returns probabilities, not shots
    assert client.get(f"/jobs/{job['id']}/results/histogram").status_code == 404


def test_little_endian_keys(client: httpx.Client) -> None:
    body = _job(input={"gateset": "qis", "qubits": 3, "circuit": [{"gate": "x", "target": 1}]})
    job = wait_for_job(client, submit(client, body))
    assert client.get(f"/jobs/{job['id']}/results/probabilities").json() == {"2": 1.0}


def test_noisy_job_histogram_shots_and_reproducibility(client: httpx.Client) -> None:
    body = _job(shots=2000, noise={"model": "aria-1", "seed": 1234})
    first = wait_for_job(client, submit(client, body))
    second = wait_for_job(client, submit(client, body))
    assert first["status"] == second["status"] == "completed"
    assert set(first["results"]) == {"probabilities", "histogram", "shots"}
    hist = client.get(f"/jobs/{first['id']}/results/histogram").json()
    assert sum(hist.values()) == 2000
    assert all(isinstance(v, int) for v in hist.values())
    shots = client.get(f"/jobs/{first['id']}/results/shots").json()
    assert len(shots) == 2000 and all(isinstance(s, str) for s in shots)
    assert {s: shots.count(s) for s in set(shots)} == hist
    probabilities = client.get(f"/jobs/{first['id']}/results/probabilities").json()
    assert probabilities == {k: v / 2000 for k, v in hist.items()}
    # Bell under aria-1 noise: mostly 0 and 3, and some errors
    assert hist.get("0", 0) + hist.get("3", 0) > 1800
    # the same seed gives byte-identical results
    assert client.get(f"/jobs/{second['id']}/results/shots").json() == shots
    assert first["noise"] == {"model": "aria-1", "seed": 1234}


def test_multi_circuit_results_keyed_by_child_in_circuit_order(client: httpx.Client) -> None:
    circuits = [
        {"circuit": [{"gate": "x", "target": 0}]},
        {"circuit": BELL_CIRCUIT},
        {"circuit": [{"gate": "x", "target": 1}]},
    ]
    body = _job(
        type="ionq.multi-circuit.v1", input={"gateset": "qis", "qubits": 2, "circuits": circuits}
    )
    parent = wait_for_job(client, submit(client, body))
    assert parent["status"] == "completed"
    kids = parent["child_job_ids"]
    results = client.get(f"/jobs/{parent['id']}/results/probabilities").json()
    assert list(results) == kids
    assert results[kids[0]] == {"1": 1.0}
    assert results[kids[2]] == {"2": 1.0}
    assert results[kids[1]]["0"] == pytest.approx(0.5)
    aggregated = client.get(f"/jobs/{parent['id']}/results/probabilities/aggregated").json()
    assert aggregated == results
    for kid in kids:
        child = client.get(f"/jobs/{kid}").json()
        assert child["status"] == "completed" and child["parent_job_id"] == parent["id"]
    assert parent["stats"]["billed_quantum_compute_time_us"] > 0


def test_emulated_qpu_with_debiasing_and_sharpening(client: httpx.Client) -> None:
    body = _job(
        backend="qpu.aria-1",
        shots=1000,
        input={
            "gateset": "qis",
            "qubits": 3,
            "circuit": [*BELL_CIRCUIT, {"gate": "cnot", "control": 1, "target": 2}],
        },
    )
    job = wait_for_job(client, submit(client, body))
    assert job["status"] == "completed", job
    assert job["settings"]["error_mitigation"] == {"debiasing": True}
    variants = job["output"]["error_mitigation"]["debiasing"]["variants"]
    assert len(variants) == 10  # min(25, 1000 // 100)
    assert sum(v["shots"] for v in variants) == 1000
    hist = client.get(f"/jobs/{job['id']}/results/histogram").json()
    assert sum(hist.values()) == 1000
    for variant in variants:
        assert len(variant["qubit_map"]) == 3
        assert len(set(variant["qubit_map"])) == 3
        assert all(0 <= q < 25 for q in variant["qubit_map"])
        url = variant["results"]["histogram"]["url"].removeprefix("/v0.4")
        own = client.get(url).json()
        assert sum(own.values()) == variant["shots"]
    average = client.get(f"/jobs/{job['id']}/results/probabilities").json()
    assert average == pytest.approx({k: v / 1000 for k, v in hist.items()})
    sharpened = client.get(
        f"/jobs/{job['id']}/results/probabilities", params={"sharpen": "true"}
    ).json()
    # each variant votes for its most frequent outcome: only GHZ outcomes win
    assert set(sharpened) <= {"0", "7"}
    assert math.isclose(sum(sharpened.values()), 1.0)
    missing = client.get(f"/jobs/{job['id']}/variants/{job['id']}/results/probabilities")
    assert missing.status_code == 404


FORTE = 36
GHZ_36 = [{"gate": "h", "target": 0}] + [
    {"gate": "cnot", "control": i, "target": i + 1} for i in range(FORTE - 1)
]


@pytest.mark.parametrize("debiasing", [False, True])
def test_ghz_36_on_forte_concentrates_on_the_two_ghz_outcomes(
    client: httpx.Client, debiasing: bool
) -> None:
    body = _job(
        backend="qpu.forte-1",
        shots=1000,
        settings={"error_mitigation": {"debiasing": debiasing}},
        input={"gateset": "qis", "qubits": FORTE, "circuit": GHZ_36},
    )
    job = wait_for_job(client, submit(client, body))
    assert job["status"] == "completed", job
    assert job["output"]["simulation"] == {"method": "stabilizer", "simulated_qubits": FORTE}
    hist = client.get(f"/jobs/{job['id']}/results/histogram").json()
    ghz = hist.get("0", 0) + hist.get(str((1 << FORTE) - 1), 0)
    # under forte-1's device model (issue 17) readout error on 36 bits keeps ≈ 87 % of GHZ
    # shots (p01 0.19 %, p10 0.57 %) and the 35 2q gates ≈ 85 %: ≈ 75 % expected
    assert sum(hist.values()) == 1000 and 600 < ghz < 1000


def test_36_qubit_low_entanglement_circuit_runs_as_a_matrix_product_state(
    client: httpx.Client,
) -> None:
    circuit = (
        [{"gate": "ry", "target": q, "rotation": 0.3 + 0.07 * q} for q in range(FORTE)]
        + [{"gate": "cnot", "control": q, "target": q + 1} for q in range(FORTE - 1)]
        + [{"gate": "t", "target": q} for q in range(FORTE)]
    )
    body = _job(
        shots=500,
        noise={"model": "forte-1", "seed": 5},
        input={"gateset": "qis", "qubits": FORTE, "circuit": circuit},
    )
    job = wait_for_job(client, submit(client, body))
    assert job["status"] == "completed", job
    assert job["output"]["simulation"] == {
        "method": "mps",
        "simulated_qubits": FORTE,
        "max_bond_dimension": 2,
        "discarded_weight": 0.0,
    }
    shots = client.get(f"/jobs/{job['id']}/results/shots").json()
    assert len(shots) == 500 and max(int(s) for s in shots) < 1 << FORTE


def test_a_36_qubit_circuit_beyond_every_method_fails_cleanly(client: httpx.Client) -> None:
    circuit: list[dict[str, Any]] = []
    for layer in range(40):
        circuit += [{"gate": "rx", "target": q, "rotation": 0.1 * layer + q} for q in range(FORTE)]
        circuit += [
            {"gate": "cnot", "control": q, "target": q + 1} for q in range(layer % 2, FORTE - 1, 2)
        ]
    body = _job(
        backend="qpu.forte-1", input={"gateset": "qis", "qubits": FORTE, "circuit": circuit}
    )
    job = wait_for_job(client, submit(client, body))
    assert job["status"] == "failed"
    assert job["failure"]["code"] == "SimulationError"
    assert "too entangled to simulate" in job["failure"]["message"]


def test_a_circuit_declared_wider_simulates_the_qubits_it_uses(client: httpx.Client) -> None:
    # qBraid declares the device's width: a Bell pair on 25 declared qubits of qpu.aria-1
    body = _job(
        backend="qpu.aria-1", input={"gateset": "qis", "qubits": 25, "circuit": BELL_CIRCUIT}
    )
    job = wait_for_job(client, submit(client, body))
    assert job["status"] == "completed", job
    assert job["output"]["simulation"]["simulated_qubits"] == 2
    hist = client.get(f"/jobs/{job['id']}/results/histogram").json()
    # every declared qubit is read, with aria-1's readout error (issue 17): the 23 idle bits
    # read 1 in ≈ 23 × 0.2 % ≈ 4.5 % of shots
    bell = sum(c for k, c in hist.items() if int(k) in (0, 3))
    idle_flips = sum(c for k, c in hist.items() if int(k) >> 2)
    assert bell > 850 and idle_flips < 100


def test_cancel_of_a_completed_job_is_a_no_op(client: httpx.Client) -> None:
    job = wait_for_job(client, submit(client, _job()))
    assert client.put(f"/jobs/{job['id']}/status/cancel").status_code == 200
    again = client.get(f"/jobs/{job['id']}").json()
    assert again["status"] == "completed"
    assert client.get(f"/jobs/{job['id']}/results/probabilities").status_code == 200


def test_delete_of_a_completed_job(client: httpx.Client) -> None:
    job = wait_for_job(client, submit(client, _job()))
    assert client.delete(f"/jobs/{job['id']}").status_code == 200
    assert client.get(f"/jobs/{job['id']}/results/probabilities").status_code == 404


def test_listing_completed_jobs(client: httpx.Client) -> None:
    job = wait_for_job(client, submit(client, _job()))
    listed = client.get("/jobs", params={"status": "completed"}).json()
    spec.validate(listed, spec.response_schema("/jobs"))
    assert job["id"] in {j["id"] for j in listed["jobs"]}


def test_server_stays_healthy_after_many_jobs(client: httpx.Client, server: Server) -> None:
    ids = [submit(client, _job(shots=10, noise={"model": "forte-1", "seed": 7})) for _ in range(20)]
    for job_id in ids:
        assert wait_for_job(client, job_id)["status"] == "completed"
    assert httpx.get(f"{server.root}/health").status_code == 200

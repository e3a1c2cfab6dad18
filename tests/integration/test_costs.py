"""Estimates, job costs, budgets and rate cards over real HTTP, with a real worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from support import spec
from support.server import Server, cli, cli_json, submit, wait_for_job

SERVER_WORKERS = 1

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
ARIA_MINIMUM = 12.4166

#: GetJobEstimateResponse of the newer IonQ spec (ionq-openapi-v0.4-2026-09, which ionq-core
#: 0.2.0 is generated from): its required keys and shapes, as ionq-core's parser reads them.
NEWER_ESTIMATE: dict[str, Any] = {
    "type": "object",
    "required": [
        "estimate_context",
        "estimated_at",
        "estimated_unit",
        "rate_card",
        "estimated_total_cost",
        "estimated_execution_time",
        "current_predicted_queue_time",
    ],
    "properties": {
        "estimate_context": {
            "type": "object",
            "required": ["backend", "organization", "project"],
            "additionalProperties": False,
            "properties": {
                "backend": {"type": "string"},
                "type": {"type": "string"},
                "qubits": {"type": "integer", "minimum": 1},
                "shots": {"type": "integer", "minimum": 1, "maximum": 1000000},
                "1q_gates": {"type": "integer", "minimum": 0},
                "2q_gates": {"type": "integer", "minimum": 0},
                "error_mitigation": {"type": "boolean"},
                "organization": {"type": ["string", "null"]},
                "project": {"type": ["string", "null"]},
            },
        },
        "estimated_at": {"type": "string"},
        "estimated_unit": {"type": "string"},
        "rate_card": {
            "type": "object",
            "required": ["rates", "id"],
            "properties": {
                "id": {"type": "string"},
                "rates": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["sku", "unit"],
                        "additionalProperties": False,
                        "properties": {
                            "sku": {"type": "string"},
                            "unit": {"enum": ["compute_second", "gates"]},
                            "unit_cost": {"type": "number"},
                            "cost_1q_gate": {"type": "number"},
                            "cost_2q_gate": {"type": "number"},
                            "job_cost_minimum": {"type": "number"},
                        },
                    },
                },
            },
        },
        "estimated_total_cost": {"type": "number"},
        "estimated_execution_time": {"type": "integer"},
        "estimated_quantum_compute_time_us": {"type": "integer"},
        "current_predicted_queue_time": {"type": "integer"},
    },
}


def _job(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 100,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
    }
    body.update(changes)
    return body


def _estimate(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/jobs/estimate", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    spec.validate(body, spec.response_schema("/jobs/estimate"))
    jsonschema.validate(body, NEWER_ESTIMATE)
    return body


def test_estimate_as_qiskit_asks_for_it(client: httpx.Client) -> None:
    body = _estimate(
        client,
        type="ionq.circuit.v1",
        backend="qpu.aria-1",
        **{"1q_gates": 10, "2q_gates": 4},
        qubits=2,
        shots=100,
        error_mitigation="false",
        session="false",
    )
    whoami = client.get("/whoami").json()
    assert body["input_values"] == {
        "backend": "qpu.aria-1",
        "type": "ionq.circuit.v1",
        "qubits": 2,
        "shots": 100,
        "1q_gates": 10,
        "2q_gates": 4,
        "error_mitigation": False,
    }
    # 100 × (10 × 0.00022 + 4 × 0.000975) = $0.61 < the $12.4166 minimum
    assert body["estimated_cost"] == body["estimated_total_cost"] == ARIA_MINIMUM
    assert body["cost_unit"] == body["estimated_unit"] == "usd"
    assert body["rate_information"]["job_cost_minimum"] == ARIA_MINIMUM
    assert body["rate_information"]["cost_1q_gate"] == 0.00022
    assert body["rate_information"]["cost_2q_gate"] == 0.000975
    # 100 shots × (20 reset + 10 × 135 + 4 × 600 + 300 readout) µs = 407 ms
    assert body["estimated_execution_time"] == 407
    assert isinstance(body["current_predicted_queue_time"], int)
    assert body["estimated_at"].endswith("Z")
    assert body["estimate_context"]["project"] == whoami["project_id"]
    assert body["estimate_context"]["organization"] == body["rate_information"]["organization"]
    assert body["rate_card"]["rates"] == [
        {
            "sku": "qpu.aria-1.gates",
            "unit": "gates",
            "cost_1q_gate": 0.00022,
            "cost_2q_gate": 0.000975,
            "job_cost_minimum": ARIA_MINIMUM,
        }
    ]


def test_estimate_defaults_and_gate_pricing(client: httpx.Client) -> None:
    defaults = _estimate(client, backend="simulator")
    assert defaults["input_values"] == {
        "backend": "simulator",
        "type": "ionq.circuit.v1",
        "qubits": 25,
        "shots": 1000,
        "1q_gates": 0,
        "2q_gates": 0,
        "error_mitigation": False,
    }
    assert defaults["estimated_cost"] == 0.0
    big = _estimate(
        client, backend="qpu.forte-1", shots=10_000, **{"1q_gates": 100, "2q_gates": 50}
    )
    # 10,000 × (100 × 0.0001645 + 50 × 0.001121) = $725.00
    assert big["estimated_cost"] == pytest.approx(725.0)
    em = _estimate(client, backend="qpu.aria-1", error_mitigation="true")
    assert em["estimated_cost"] == 97.5 and em["rate_information"]["job_cost_minimum"] == 97.5


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({}, "backend"),
        ({"backend": "qpu.nowhere"}, "backend"),
        ({"backend": "qpu.aria-2"}, "backend"),
        ({"backend": "qpu.aria-1", "shots": 0}, "shots"),
        ({"backend": "qpu.aria-1", "shots": 2_000_000}, "shots"),
        ({"backend": "qpu.aria-1", "shots": "many"}, "shots"),
        ({"backend": "qpu.aria-1", "1q_gates": -1}, "1q_gates"),
        ({"backend": "qpu.aria-1", "2q_gates": 1.5}, "2q_gates"),
        ({"backend": "qpu.aria-1", "qubits": 26}, "qubits"),
        ({"backend": "qpu.aria-1", "qubits": 0}, "qubits"),
        ({"backend": "qpu.aria-1", "error_mitigation": "maybe"}, "error_mitigation"),
        ({"backend": "qpu.aria-1", "type": "ionq.bogus.v9"}, "type"),
    ],
)
def test_bad_estimate_queries(client: httpx.Client, params: dict[str, Any], key: str) -> None:
    response = client.get("/jobs/estimate", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["validation"] == {"source": "query", "keys": [key]}


def test_estimate_needs_a_key(anonymous: httpx.Client) -> None:
    assert anonymous.get("/jobs/estimate", params={"backend": "simulator"}).status_code == 401


def _cost(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/jobs/{job_id}/cost")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    spec.validate(body, spec.response_schema("/jobs/{UUID}/cost"))
    return body


def test_job_cost_estimated_then_charged(client: httpx.Client) -> None:
    simulator = wait_for_job(client, submit(client, _job()))
    assert _cost(client, str(simulator["id"])) == {
        "dry_run": False,
        "estimated_cost": {"value": 0.0, "unit": "usd"},
        "cost": {"value": 0.0, "unit": "usd"},
    }
    aria = wait_for_job(client, submit(client, _job(backend="qpu.aria-1")))
    assert aria["status"] == "completed", aria
    assert _cost(client, str(aria["id"])) == {
        "dry_run": False,
        "estimated_cost": {"value": ARIA_MINIMUM, "unit": "usd"},
        "cost": {"value": ARIA_MINIMUM, "unit": "usd"},
    }
    dry = wait_for_job(client, submit(client, _job(backend="qpu.aria-1", dry_run=True)))
    assert _cost(client, str(dry["id"])) == {
        "dry_run": True,
        "estimated_cost": {"value": ARIA_MINIMUM, "unit": "usd"},
        "cost": {"value": 0.0, "unit": "usd"},
    }
    assert "cost_model" not in aria  # clients.md §0 item 9


@pytest.fixture
def project_client(server: Server) -> Iterator[tuple[httpx.Client, str]]:
    """A key in a fresh project, so budgets set here touch nothing else."""
    project = cli_json(server, "projects", "create", f"b-{uuid.uuid4().hex[:8]}")
    assert isinstance(project, dict)
    key = cli_json(server, "keys", "create", "--project", project["name"], "--name", "b")
    assert isinstance(key, dict)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {key['key']}"}, timeout=30
    ) as c:
        yield c, str(project["name"])


def test_project_budget_exhaustion(
    server: Server, project_client: tuple[httpx.Client, str]
) -> None:
    client, project = project_client
    budget = cli_json(server, "projects", "set-budget", project, "20")
    assert isinstance(budget, list) and budget[0]["limit"] == 20.0
    first = wait_for_job(client, submit(client, _job(backend="qpu.aria-1")))
    assert first["status"] == "completed"
    second = wait_for_job(client, submit(client, _job(backend="qpu.aria-1")))
    assert second["status"] == "failed"
    assert second["failure"]["code"] == "QuotaExhaustedError", second
    spec.validate(second, spec.response_schema("/jobs/{UUID}"))
    assert _cost(client, str(second["id"]))["cost"]["value"] == 0.0
    shown = cli_json(server, "projects", "budget", project)
    assert isinstance(shown, list)
    assert shown[0]["charged"] == ARIA_MINIMUM and shown[0]["reserved"] == 0.0
    assert shown[0]["remaining"] == pytest.approx(20 - ARIA_MINIMUM)
    # the simulator is free: it still runs
    assert wait_for_job(client, submit(client, _job()))["status"] == "completed"
    cli(server, "projects", "set-budget", project, "unlimited")
    assert wait_for_job(client, submit(client, _job(backend="qpu.aria-1")))["status"] == (
        "completed"
    )


def test_operator_rate_cards(server: Server, client: httpx.Client) -> None:
    before = _estimate(client, backend="qpu.forte-1")
    assert before["estimated_cost"] == 25.7899
    try:
        card = cli_json(server, "rates", "set", "qpu.forte-1", "--minimum", "1.5")
        assert isinstance(card, list) and card[0]["source"] == "operator"
        after = _estimate(client, backend="qpu.forte-1")
        assert after["estimated_cost"] == 1.5
        assert after["rate_card"]["id"] != before["rate_card"]["id"]
        listed = cli_json(server, "rates", "list")
        assert isinstance(listed, list)
        forte = next(r for r in listed if r["backend"] == "qpu.forte-1")
        assert forte["job_cost_minimum"] == 1.5 and forte["cost_2q_gate"] == 0.001121
    finally:
        cli(server, "rates", "reset", "qpu.forte-1")
    assert _estimate(client, backend="qpu.forte-1")["rate_card"]["id"] == before["rate_card"]["id"]

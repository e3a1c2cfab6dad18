"""What real submissions cost and what budgets and usage charge for them (README "Cost").

Every expected price is derived here from IonQ's published rates as the README lists them
(the built-in rate cards) and the billing gate counts of the submitted circuits (IonQ's rules:
an uncontrolled single-qubit gate is one 1q gate, a ``cnot`` one 2q gate):
``max(shots × (1q × cost_1q + 2q × cost_2q), minimum)``, the minimum being higher when
debiasing (error mitigation) is on. The budget is read with ``ionstack projects budget``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from support.admin import Project, new_project
from support.server import Server, post_at_once, submit, wait_for_job

SERVER_WORKERS = 1

#: README "Cost": USD per 1q gate-shot, per 2q gate-shot, minimum, minimum with error mitigation
ARIA = (0.00022, 0.000975, 12.4166, 97.50)
FORTE = (0.0001645, 0.001121, 25.7899, 168.195)

H = {"gate": "h", "target": 0}
BELL = [H, {"gate": "cnot", "control": 0, "target": 1}]


def _expected(
    card: tuple[float, float, float, float], *, shots: int, n1q: int, n2q: int, em: bool
) -> float:
    c1, c2, minimum, minimum_em = card
    return round(max(shots * (n1q * c1 + n2q * c2), minimum_em if em else minimum), 6)


def _job(
    backend: str, circuit: list[dict[str, Any]], *, shots: int, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "ionq.circuit.v1",
        "backend": backend,
        "shots": shots,
        "input": {"gateset": "qis", "qubits": 2, "circuit": circuit},
        **extra,
    }


def _debias(on: bool) -> dict[str, Any]:
    return {"settings": {"error_mitigation": {"debiasing": on}}}


def _cost(client: httpx.Client, job_id: str) -> tuple[float, float | None]:
    """(estimated, charged) from ``GET /jobs/{id}/cost``."""
    body = client.get(f"/jobs/{job_id}/cost").json()
    charged = body["cost"]["value"] if "cost" in body else None
    return body["estimated_cost"]["value"], charged


def test_debiased_qpu_jobs_cost_at_least_the_error_mitigation_minimum(
    client: httpx.Client,
) -> None:
    cnots = [{"gate": "cnot", "control": 0, "target": 1}] * 40
    cases = {
        # debiasing is on by default from 500 shots: $1.195 of gates → the $97.50 minimum
        "aria default": (_job("qpu.aria-1", BELL, shots=1000), True, ARIA, 1, 1, 1000),
        "aria explicit": (
            _job("qpu.aria-1", BELL, shots=1000, **_debias(True)),
            True,
            ARIA,
            1,
            1,
            1000,
        ),
        # the same job without it: the plain $12.4166 minimum
        "aria off": (
            _job("qpu.aria-1", BELL, shots=1000, **_debias(False)),
            False,
            ARIA,
            1,
            1,
            1000,
        ),
        # gates above the minimum: the minimum is a floor, not a surcharge ($225.02)
        "forte gates": (
            _job("qpu.forte-1", [H, *cnots], shots=5000, **_debias(True)),
            True,
            FORTE,
            1,
            40,
            5000,
        ),
    }
    ids = {name: submit(client, body) for name, (body, *_) in cases.items()}
    for name, (_, em, card, n1q, n2q, shots) in cases.items():
        job = wait_for_job(client, ids[name])
        assert job["status"] == "completed", (name, job)
        settings = job["settings"]
        assert isinstance(settings, dict)
        assert settings["error_mitigation"]["debiasing"] is em, (name, settings)
        assert job["stats"]["gate_counts"] == {"1q": n1q, "2q": n2q}, name  # type: ignore[index]
        price = _expected(card, shots=shots, n1q=n1q, n2q=n2q, em=em)
        assert _cost(client, ids[name]) == (price, price), name
    assert _expected(ARIA, shots=1000, n1q=1, n2q=1, em=True) == 97.5
    assert _expected(FORTE, shots=5000, n1q=1, n2q=40, em=True) == pytest.approx(225.0225)


@pytest.fixture
def project(server: Server) -> Iterator[Project]:
    with new_project(server, "billing") as made:
        yield made


def _usage(client: httpx.Client, *, group_by: str) -> list[dict[str, Any]]:
    """This window's groups of ``GET /organizations/{org}/usage``, every day's."""
    org = client.get("/sessions").json()["organization_id"]
    today = datetime.now(UTC).date()
    params = {
        "start_date": (today - timedelta(days=1)).isoformat(),
        "end_date": (today + timedelta(days=2)).isoformat(),
        "group_by": group_by,
        "modality": "daily",
    }
    response = client.get(f"/organizations/{org}/usage", params=params)
    assert response.status_code == 200, response.text
    return [g for day in response.json()["usage_data"] for g in day["group_usages"]]


def test_a_multi_circuit_job_is_charged_once(server: Server, project: Project) -> None:
    """Its children run as jobs of their own but are billed through their parent: the budget
    holds and charges the parent's price alone, and usage counts the parent alone."""
    client = project.client
    circuits = [
        {"circuit": BELL},
        {"circuit": [H, *BELL[1:], {"gate": "cnot", "control": 1, "target": 2}], "qubits": 3},
        {"circuit": [H, H, {"gate": "cnot", "control": 0, "target": 1}]},
    ]
    body = {
        "type": "ionq.multi-circuit.v1",
        "backend": "qpu.aria-1",
        "shots": 100,
        "input": {"gateset": "qis", "qubits": 3, "circuits": circuits},
    }
    # 1q: 1 + 1 + 2, 2q: 1 + 2 + 1 over the circuits; 100 × $0.00478 is below the minimum
    price = _expected(ARIA, shots=100, n1q=4, n2q=4, em=False)
    assert price == ARIA[2]
    # room for exactly two such jobs, if their children are not reserved or charged too
    project.set_budget(server, str(round(2 * price + 0.01, 6)))
    parents = [wait_for_job(client, submit(client, body)) for _ in range(2)]
    assert [p["status"] for p in parents] == ["completed", "completed"], parents
    children = [str(c) for p in parents for c in p["child_job_ids"]]  # type: ignore[attr-defined]
    assert len(children) == 6
    for parent in parents:
        assert _cost(client, str(parent["id"])) == (price, price)
    budget = project.budget(server)
    assert budget["charged"] == pytest.approx(2 * price, abs=1e-6), budget
    assert budget["reserved"] == 0.0, budget
    # a third priced job does not fit in what is left
    third = wait_for_job(client, submit(client, _job("qpu.aria-1", BELL, shots=100)))
    assert third["status"] == "failed" and third["failure"]["code"] == "QuotaExhaustedError"  # type: ignore[index]
    # usage: the project's two parents, at the parent's price
    mine = [g for g in _usage(client, group_by="project") if g["group_id"] == project.id]
    assert sum(g["job_count"] for g in mine) == 2, mine
    assert sum(g["amount"] for g in mine) == pytest.approx(2 * price, abs=1e-6), mine
    by_job = {g["group_id"]: g for g in _usage(client, group_by="job")}
    assert not set(children) & set(by_job)
    for parent in parents:
        assert by_job[str(parent["id"])]["amount"] == price


def test_concurrent_submissions_never_overspend_a_budget(server: Server, project: Project) -> None:
    """Twelve submissions at once against a budget with room for three: three are accepted,
    nine created failed (QuotaExhaustedError); nothing is charged past the limit. On
    PostgreSQL the budget row's lock decides them one after the other."""
    price = _expected(ARIA, shots=100, n1q=1, n2q=1, em=False)
    limit = round(3 * price + 1, 6)
    project.set_budget(server, str(limit))
    body = _job("qpu.aria-1", BELL, shots=100)
    ids = _at_once(project.client, body, n=12)
    jobs = [wait_for_job(project.client, i) for i in ids]
    completed = [j for j in jobs if j["status"] == "completed"]
    refused = [j for j in jobs if j["status"] == "failed"]
    assert len(completed) == 3, [j["status"] for j in jobs]
    assert len(refused) == 9
    assert {j["failure"]["code"] for j in refused} == {"QuotaExhaustedError"}  # type: ignore[index]
    budget = project.budget(server)
    assert budget["charged"] == pytest.approx(3 * price, abs=1e-6), budget
    assert budget["reserved"] == 0.0 and budget["charged"] <= limit


def _at_once(client: httpx.Client, body: dict[str, Any], *, n: int) -> list[str]:
    """POST the job from ``n`` threads released together; the ids of the 201s."""
    answers = post_at_once(client, body, n=n)
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    return [str(a.json()["id"]) for a in answers]
